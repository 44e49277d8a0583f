"""The fuzzer's cases: what a hostile call is, how to build its arguments on one API
(the compiled engine, the reference engine or torch) and the hypothesis strategies
that draw them.

A case is a plain tuple ``(op, arg_spec, ...)`` whose repr is evaluable (see
:func:`parse_case`), so a failing case prints as a line that reproduces it::

    python tests/fuzz/fuzz_api.py --replay "('binop', ('t', (2, 3), 'float32', 'c', 'randn', False, 7), '+', ('py', None))"

An argument spec is a tuple tagged by its first element:

=============  ====================================================================
``('t', shape, dtype, layout, fill, requires_grad, seed)``   a tensor of the API
``('np', shape, npdtype, layout, seed)``   a numpy array (``layout``: c, neg, ro, nc, f, mis)
``('py', value)``   a Python literal (None, ints huge and negative, nan, inf, str ...)
``('dt', name)``   a dtype of the API (or a hostile stand-in: float, 'float32', np.float32)
``('seq', kind, [specs])``   a list or tuple of built specs; ``('slice', a, b, c)``;
``('ellipsis',)``; ``('value', spec)`` a scalar Value; ``('obj',)`` a bare object()
``('stale',)``   a tensor whose node ``clear_tape()`` freed
=============  ====================================================================
"""

import math
import operator
import os
import tempfile
import threading

import numpy as np
from hypothesis import strategies as st

# ---------------------------------------------------------------------------- building

NP_DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}
HOSTILE_NP_DTYPES = ("float16", "int32", "int8", "uint8", "uint64", "complex64", "object")


def make_array(shape, dtype, fill, seed):
    """A numpy array of ``shape`` / ``dtype``, its values drawn from ``seed`` and ``fill``."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype in ("int64", "int32", "int8", "uint8", "uint64"):
        a = rng.integers(0 if dtype.startswith("u") else -5, 6, shape).astype(dtype)
        if fill == "big" and a.size:
            a.flat[0] = np.iinfo(a.dtype).max
        return a
    if dtype == "object":
        return np.array(rng.standard_normal(shape).tolist(), dtype=object).reshape(shape)
    a = rng.standard_normal(shape).astype(dtype)
    if a.size and fill != "randn":
        special = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "zero": 0.0, "big": 1e38,
                   "tiny": 1e-45}[fill]
        a.flat[:: 2 if fill in ("nan", "inf", "-inf") else 1] = special
    return a


def hostile_layout(a, layout):
    """``a``'s values in a hostile numpy layout (a view, read-only, misaligned ...)."""
    if layout == "neg" and a.ndim:
        return np.ascontiguousarray(a[::-1])[::-1]
    if layout == "ro":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "nc" and a.ndim:
        return np.repeat(a, 2, axis=-1)[..., ::2]
    if layout == "f":
        return np.asfortranarray(a)
    if layout == "mis" and a.dtype.itemsize > 1 and a.dtype != object:
        raw = np.zeros(a.nbytes + 1, np.uint8)
        m = raw[1:].view(a.dtype).reshape(a.shape)
        m[...] = a
        return m
    return a


def make_tensor(A, shape, dtype, layout, fill, requires_grad, seed):
    """A tensor of API A: made from numpy, then viewed as ``layout`` says
    (c: contiguous, t: last two dims transposed, s: a stepped slice, 0: a 0-d tensor)."""
    shape = tuple(shape)
    if layout == "t" and len(shape) >= 2:
        base_shape = shape[:-2] + (shape[-1], shape[-2])
    elif layout == "s" and shape:
        base_shape = (2 * shape[0],) + shape[1:]
    elif layout == "0":
        base_shape = ()
    else:
        base_shape = shape
    t = A.M.from_numpy(np.array(make_array(base_shape, dtype, fill, seed), order="C"))
    if requires_grad:
        t.requires_grad_(True)
    if layout == "t" and len(shape) >= 2:
        return t.transpose(-1, -2)
    if layout == "s" and shape:
        return t[::2]
    return t


def make_stale(A):
    """A tensor whose node was freed by ``clear_tape()`` (torch has no tape: a plain one)."""
    w = A.M.ones(2, 3, requires_grad=True)
    y = w * 2.0
    if A.name != "torch":
        A.M.clear_tape()
    return y


def dtype_of(A, name):
    hostile = {"pyfloat": float, "pyint": int, "pybool": bool, "str": "float32",
               "np": np.float32, "int": 1}
    if name in hostile:
        return hostile[name]
    if name == "bool":
        return getattr(A.M, "bool", None) or A.M.bool_
    return getattr(A.M, name)


def build(A, spec):
    """The argument ``spec`` describes, made for API A."""
    tag = spec[0]
    if tag == "t":
        return make_tensor(A, *spec[1:])
    if tag == "np":
        _, shape, dtype, layout, seed = spec
        return hostile_layout(make_array(tuple(shape), dtype, "randn", seed), layout)
    if tag == "py":
        return spec[1]
    if tag == "dt":
        return dtype_of(A, spec[1])
    if tag == "seq":
        items = [build(A, s) for s in spec[2]]
        return tuple(items) if spec[1] == "tuple" else items
    if tag == "slice":
        return slice(*(build(A, s) for s in spec[1:]))
    if tag == "ellipsis":
        return Ellipsis
    if tag == "value":
        if A.name == "torch":
            raise NotApplicable
        return A.M.Value(build(A, spec[1]))
    if tag == "obj":
        return object()
    if tag == "stale":
        return make_stale(A)
    raise ValueError(f"unknown argument spec {spec!r}")


def parse_case(text):
    """The case a printed repr describes (nan and inf spelled as repr spells them)."""
    return eval(text, {"__builtins__": {}}, {"nan": math.nan, "inf": math.inf})


# ---------------------------------------------------------------------------- the ops

BINOPS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow, "@": operator.matmul, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
}

# Tensor methods of the engine contract (tapegrad/_engine.pyi); the reference has more,
# which the compiled engine lacks (not part of the contract).
METHODS = (
    "sum", "mean", "max", "min", "softmax", "log_softmax", "reshape", "view", "flatten",
    "unsqueeze", "squeeze", "permute", "transpose", "t", "exp", "log", "tanh", "relu",
    "sigmoid", "abs", "sqrt", "clamp", "clamp_min", "clamp_max", "reciprocal", "to", "float",
    "double", "long", "item", "tolist", "numpy", "size", "dim", "numel", "matmul", "mm", "dot",
    "mv", "bmm", "add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "requires_grad_",
    "detach", "detach_", "clone", "contiguous", "backward", "retain_grad", "__len__",
    "__float__", "__int__", "__index__", "__bool__", "__format__", "__neg__", "__pos__",
    "__iter__", "__deepcopy__",
)

FUNCTIONS = (
    "exp", "log", "tanh", "relu", "sigmoid", "abs", "sqrt", "neg", "reciprocal", "clamp",
    "clamp_min", "softmax", "log_softmax", "matmul", "mm", "mv", "bmm", "dot", "sum", "mean",
    "max", "min", "argmax", "argmin", "reshape", "flatten", "transpose", "t", "permute",
    "unsqueeze", "squeeze", "pow", "add", "sub", "mul", "div", "clone", "numel",
    "is_floating_point", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
    "randn_like",
)

FUNCTIONAL = ("relu", "tanh", "sigmoid", "softmax", "log_softmax", "linear", "mse_loss",
              "nll_loss", "cross_entropy", "binary_cross_entropy")

FACTORIES = ("zeros", "ones", "empty", "randn", "rand")

LAYERS = ("Linear", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Identity", "Flatten",
          "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss")

VALUE_OPS = ("+", "-", "*", "/", "**", "<", "<=", ">", ">=", "r+", "r-", "r*", "r/", "r**",
             "exp", "log", "tanh", "relu", "sigmoid", "neg", "backward", "float", "data=",
             "grad=", "sum", "dot")

# Results whose values are random or uninitialised: only their shape and dtype compare.
RANDOM_VALUES = {"empty", "randn", "rand", "empty_like", "rand_like", "randn_like", "layer",
                 "manual_seed_randn"}


def _call(fn, args, kwargs):
    return fn(*args, **kwargs)


def op_factory(A, name, sizes, dtype):
    return getattr(A.M, name)(*sizes, dtype=dtype)


def op_full(A, size, fill, dtype):
    return A.M.full(size, fill, dtype=dtype)


def op_arange(A, *args):
    return A.M.arange(*args)


def op_tensor(A, data, dtype, requires_grad):
    return A.M.tensor(data, dtype=dtype, requires_grad=requires_grad)


def op_as_tensor(A, data, dtype):
    return A.M.as_tensor(data, dtype=dtype)


def op_from_numpy(A, a):
    return A.M.from_numpy(a)


def op_method(A, x, name, *args):
    r = getattr(x, name)(*args)
    return list(r) if name == "__iter__" else r


def op_binop(A, x, op, y):
    return BINOPS[op](x, y)


def op_rbinop(A, y, op, x):
    return BINOPS[op](y, x)


def op_getitem(A, x, key):
    return x[key]


def op_function(A, name, *args):
    return getattr(A.M, name)(*args)


def op_functional(A, name, *args):
    return getattr(A.F, name)(*args)


def op_layer(A, name, ctor_args, *inputs):
    return getattr(A.nn, name)(*ctor_args)(*inputs)


def op_optim(A, kind, params, kwargs_items, grad_scale):
    """An optimizer over ``params`` (hostile or not), one backward and one step."""
    opt = getattr(A.optim, kind)(params, **dict(kwargs_items))
    ps = [p for p in (params if isinstance(params, (list, tuple)) else ())
          if hasattr(p, "requires_grad") and p.requires_grad]
    if ps:
        loss = sum((p * grad_scale).sum() for p in ps)
        loss.backward()
    opt.step()
    opt.zero_grad()
    return [p.detach() for p in ps]


def op_value(A, a, op, b):
    """A Value op (torch has no Value: it skips)."""
    if A.name == "torch":
        raise NotApplicable
    V = A.M.Value
    x = a if isinstance(a, V) else V(a)
    if op.startswith("r") and op not in ("relu",):
        return BINOPS[op[1:]](b, x)
    if op in BINOPS:
        return BINOPS[op](x, b)
    if op == "backward":
        y = x * b
        y.backward()
        return (x.grad, y.grad)
    if op == "data=":
        x.data = b
        return x.data
    if op == "grad=":
        x.grad = b
        return x.grad
    if op == "float":
        return float(x)
    if op == "sum":
        return A.M.sum([x, b])
    if op == "dot":
        return A.M.dot([x, b], [b, x])
    return getattr(x, op)()


def op_value_new(A, method):
    """``Value.__new__(Value)``: an uninitialised Value used anyway."""
    if A.name == "torch":
        raise NotApplicable
    v = A.M.Value.__new__(A.M.Value)
    if method == "backward":
        return v.backward()
    if method == "data":
        return v.data
    if method == "+":
        return v + 1.0
    return repr(v)[:0]


def op_backward(A, x, gradient, retain_graph):
    y = x * 2.0 if getattr(x, "requires_grad", False) else x
    y.backward(gradient, retain_graph)
    return x.grad


def op_grad(A, x, which, grad_outputs, kwargs_items):
    y = (x * x) if which == "square" else (x * x).sum()
    inputs = x if which != "other" else [x, A.M.ones(2, requires_grad=True)]
    return A.autograd.grad(y, inputs, grad_outputs, **dict(kwargs_items))


def op_save_load(A, obj, how):
    """save then load ``obj`` (or load a garbage / missing file)."""
    fd, path = tempfile.mkstemp(suffix=".pt")
    os.close(fd)
    try:
        if how == "garbage":
            with open(path, "wb") as f:
                f.write(b"\x80\x04garbage")
        elif how == "missing":
            os.unlink(path)
        elif how == "empty":
            pass
        else:
            A.save(obj, path)
        return A.load(path) if A.name != "torch" else A.load(path, weights_only=False)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def _replay_step(w, x):
    return (((x @ w).tanh() - 1.0) ** 2).sum()


def op_replay(A, w, x, w2, x2, backward):
    """record a small step on (w, x), replay it on (w2, x2), optionally backward."""
    if A.replay is None:
        raise NotApplicable
    tape = A.replay.record(_replay_step, w, x)
    loss = tape.forward(w2, x2)
    if backward:
        tape.backward()
        return (loss, tape.grads)
    return loss


def op_thread(A, inner):
    """Run another case's op in a new thread (a fresh tape) and return its result."""
    box = {}

    def run():
        try:
            box["r"] = run_op(A, inner)
        except BaseException as exc:  # noqa: B036 - re-raised in the caller's thread
            box["e"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    if t.is_alive():
        raise TimeoutError("the thread did not finish")
    if "e" in box:
        raise box["e"]
    return box["r"]


def op_manual_seed(A, seed):
    A.M.manual_seed(seed)
    return A.M.randn(2)


OPS = {
    "factory": op_factory, "full": op_full, "arange": op_arange, "tensor": op_tensor,
    "as_tensor": op_as_tensor, "from_numpy": op_from_numpy, "method": op_method,
    "binop": op_binop, "rbinop": op_rbinop, "getitem": op_getitem, "function": op_function,
    "functional": op_functional, "layer": op_layer, "optim": op_optim, "value": op_value,
    "value_new": op_value_new, "backward": op_backward, "grad": op_grad,
    "save_load": op_save_load, "replay": op_replay, "thread": op_thread,
    "manual_seed_randn": op_manual_seed,
}


class NotApplicable(Exception):
    """The case has no meaning on this API (a Value op on torch): not compared."""


def random_values(case):
    """Whether the case's result holds random or uninitialised values."""
    if case[0] == "thread":
        return random_values(case[1])
    names = {case[0]} | {c for c in case[1:3] if isinstance(c, str)}
    return bool(names & RANDOM_VALUES)


def run_op(A, case):
    """Build the case's arguments on API A and call its op."""
    op, specs = case[0], case[1:]
    if op == "thread":
        return op_thread(A, specs[0])
    args = [s if isinstance(s, str) else build(A, s) for s in specs]
    return OPS[op](A, *args)


# ---------------------------------------------------------------------------- strategies

HUGE_INTS = (2 ** 40, 2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -2 ** 63, -2 ** 63 - 1,
             10 ** 30)
# never a size between 2**16 and 2**36: such a tensor would really be allocated and filled
SIZES = st.integers(0, 5)
DIMS = st.integers(-5, 5)
SEEDS = st.integers(0, 2 ** 16)
FLOAT_DTYPES = st.sampled_from(("float32", "float64"))
ALL_DTYPES = st.sampled_from(("float32", "float64", "int64", "bool"))
FILLS = st.sampled_from(("randn", "randn", "randn", "nan", "inf", "-inf", "zero", "big", "tiny"))
LAYOUTS = st.sampled_from(("c", "c", "t", "s", "0"))


def py(values):
    return st.sampled_from(values).map(lambda v: ("py", v))


PY_HOSTILE = py((None, -1, 0, 1, 2, -7, 1.5, -0.0, math.nan, math.inf, -math.inf, True, False,
                 "a", "", "mean") + HUGE_INTS)


@st.composite
def shapes(draw, max_dims=4):
    return tuple(draw(st.lists(SIZES, max_size=max_dims)))


@st.composite
def tensors(draw, dtypes=FLOAT_DTYPES, shape=None, rg=None):
    return ("t", draw(shapes()) if shape is None else shape, draw(dtypes), draw(LAYOUTS),
            draw(FILLS), draw(st.booleans()) if rg is None else rg, draw(SEEDS))


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(tuple(NP_DTYPES) + HOSTILE_NP_DTYPES))
    layout = draw(st.sampled_from(("c", "neg", "ro", "nc", "f", "mis")))
    return ("np", draw(shapes()), dtype, layout, draw(SEEDS))


def dtypes_arg():
    return st.sampled_from(("float32", "float64", "int64", "bool", "pyfloat", "pyint", "str",
                            "np", "int")).map(lambda d: ("dt", d))


def seqs(elements, max_size=4):
    return st.tuples(st.sampled_from(("list", "tuple")),
                     st.lists(elements, max_size=max_size)).map(lambda t: ("seq",) + t)


def hostile():
    """Anything at all: tensors of any dtype, numpy arrays, Python values, Values, stale
    tensors, dtypes, sequences."""
    return st.one_of(
        tensors(ALL_DTYPES), tensors(), PY_HOSTILE, arrays(), dtypes_arg(),
        st.just(("stale",)), st.just(("obj",)), py((0.5, 2.0)).map(lambda s: ("value", s)),
        seqs(st.one_of(SIZES.map(lambda v: ("py", v)), PY_HOSTILE), max_size=3))


def good_or(good):
    """Mostly ``good``, sometimes anything hostile."""
    return st.one_of(good, good, good, hostile())


def dims():
    return good_or(st.one_of(DIMS.map(lambda d: ("py", d)),
                             seqs(DIMS.map(lambda d: ("py", d)), max_size=3)))


def size_args():
    return st.lists(good_or(st.one_of(SIZES.map(lambda v: ("py", v)),
                                      py(HUGE_INTS + (-1, -2)))), max_size=4)


def keys():
    """Index keys: ints, slices, None, Ellipsis, bools, lists of ints, tensors and arrays
    (advanced indexing), and tuples of them."""
    ints = st.one_of(DIMS, st.sampled_from(HUGE_INTS + (2 ** 31, -2 ** 31 - 1))).map(
        lambda v: ("py", v))
    parts = st.one_of(ints, py((None, -2 ** 63)))
    slices = st.tuples(parts, parts, st.one_of(parts, py((0, -1, 2)))).map(
        lambda t: ("slice",) + t)
    advanced = st.one_of(py((True, False)), seqs(ints, max_size=3), tensors(), arrays())
    one = st.one_of(ints, slices, py((None, 1.5, "a")), st.just(("ellipsis",)), advanced)
    return st.one_of(one, seqs(one, max_size=4).map(lambda s: ("seq", "tuple", s[2])))


def method_args(name):
    if name in ("reshape", "view", "permute"):
        return st.lists(dims(), max_size=4)
    if name in ("add_", "sub_", "mul_", "div_", "copy_", "matmul", "mm", "dot", "mv", "bmm"):
        return st.lists(good_or(tensors()), min_size=1, max_size=1)
    if name == "backward":
        return st.lists(good_or(tensors()), max_size=1)
    if name in ("to",):
        return st.lists(dtypes_arg(), min_size=1, max_size=1)
    if name == "__format__":
        return st.lists(py(("", ".2f", "d", "x", ">10")), min_size=1, max_size=1)
    return st.lists(good_or(st.one_of(DIMS.map(lambda d: ("py", d)), py((0.5, -1.0, None)))),
                    max_size=2)


@st.composite
def cases(draw):
    """One hostile call."""
    kind = draw(st.sampled_from(sorted(CASE_KINDS)))
    return draw(CASE_KINDS[kind]())


def _tensor_any():
    return good_or(tensors(ALL_DTYPES))


@st.composite
def method_case(draw):
    name = draw(st.sampled_from(METHODS))
    if name == "__deepcopy__":
        return ("method", draw(tensors(ALL_DTYPES)), name, ("py", {}))
    args = draw(method_args(name))
    return ("method", draw(_tensor_any()), name) + tuple(args)


@st.composite
def binop_case(draw):
    op = draw(st.sampled_from(sorted(BINOPS)))
    x = draw(tensors(ALL_DTYPES))
    y = draw(st.one_of(tensors(ALL_DTYPES), tensors(ALL_DTYPES, shape=x[1]), hostile()))
    return ("binop" if draw(st.booleans()) else "rbinop", x, op, y) if y[0] != "t" else \
        ("binop", x, op, y)


@st.composite
def function_case(draw):
    name = draw(st.sampled_from(FUNCTIONS))
    args = draw(st.lists(good_or(st.one_of(tensors(), DIMS.map(lambda d: ("py", d)))),
                         max_size=3))
    return ("function", name, draw(_tensor_any())) + tuple(args)


@st.composite
def functional_case(draw):
    name = draw(st.sampled_from(FUNCTIONAL))
    x = draw(_tensor_any())
    targets = st.one_of(tensors(shape=x[1] if x[0] == "t" else None),
                        tensors(st.just("int64"), rg=False))
    extra = draw(st.lists(good_or(st.one_of(targets, DIMS.map(lambda d: ("py", d)),
                                            py(("mean", "sum", "none")))), max_size=3))
    return ("functional", name, x) + tuple(extra)


@st.composite
def layer_case(draw):
    name = draw(st.sampled_from(LAYERS))
    ctor = draw(seqs(good_or(st.one_of(SIZES.map(lambda v: ("py", v)), DIMS.map(
        lambda d: ("py", d)))), max_size=2))
    inputs = draw(st.lists(_tensor_any(), min_size=1, max_size=2))
    return ("layer", name, ctor) + tuple(inputs)


@st.composite
def factory_case(draw):
    kind = draw(st.sampled_from(("factory", "full", "arange", "tensor", "as_tensor",
                                 "from_numpy", "manual_seed_randn")))
    dt = draw(good_or(dtypes_arg()))
    if kind == "factory":
        return ("factory", draw(st.sampled_from(FACTORIES)),
                ("seq", "list", draw(size_args())), dt)
    if kind == "full":
        size = draw(good_or(seqs(st.one_of(SIZES.map(lambda v: ("py", v)), py(HUGE_INTS)))))
        return ("full", size, draw(good_or(py((0.5, 3, -1)))), dt)
    if kind == "arange":
        nums = good_or(py((0, 1, 3, -2, 0.5, 2.5, -1.5)))
        return ("arange",) + tuple(draw(st.lists(nums, min_size=1, max_size=3)))
    if kind == "manual_seed_randn":
        return ("manual_seed_randn", draw(good_or(py((0, 1, 42)))))
    if kind == "from_numpy":
        return ("from_numpy", draw(good_or(arrays())))
    data = draw(st.one_of(arrays(), hostile(), seqs(
        st.one_of(py((1, 2.5, -3)), PY_HOSTILE, seqs(py((1, 2.5)), max_size=3)), max_size=3)))
    if kind == "as_tensor":
        return ("as_tensor", data, dt)
    return ("tensor", data, dt, draw(good_or(py((False, True)))))


@st.composite
def getitem_case(draw):
    return ("getitem", draw(tensors(ALL_DTYPES)), draw(keys()))


@st.composite
def optim_case(draw):
    kind = draw(st.sampled_from(("SGD", "Adam")))
    param = tensors(rg=True).map(lambda t: t[:3] + ("c",) + t[4:])
    params = draw(good_or(seqs(good_or(param), max_size=2)))
    hyper = good_or(py((0.1, 0.0, 0.9, 1e-8)))
    names = ("lr", "momentum", "weight_decay") if kind == "SGD" else ("lr", "eps", "weight_decay")
    kwargs = draw(st.lists(st.tuples(st.sampled_from(names), hyper), max_size=2,
                           unique_by=lambda kv: kv[0]))
    if kind == "Adam" and draw(st.booleans()):
        kwargs.append(("betas", draw(good_or(seqs(py((0.9, 0.999, 1.5, -0.1)), max_size=3)))))
    kw = ("seq", "tuple", [("seq", "tuple", [("py", k), v]) for k, v in kwargs])
    return ("optim", kind, params, kw, draw(good_or(py((1.0, 0.5)))))


@st.composite
def value_case(draw):
    op = draw(st.sampled_from(VALUE_OPS))
    nums = py((0.0, 1.5, -2.0, 3))
    a = draw(good_or(st.one_of(nums, nums.map(lambda s: ("value", s)))))
    b = draw(good_or(st.one_of(nums, nums.map(lambda s: ("value", s)))))
    if draw(st.integers(0, 20)) == 0:
        return ("value_new", draw(st.sampled_from(("backward", "data", "+", "repr"))))
    return ("value", a, op, b)


@st.composite
def autograd_case(draw):
    x = draw(tensors(rg=True, shape=draw(st.sampled_from(((2,), (), (0,), (2, 3))))))
    if draw(st.booleans()):
        return ("backward", x, draw(good_or(st.one_of(py((None,)), tensors()))),
                draw(py((None, True, False))))
    which = draw(st.sampled_from(("square", "sum", "other")))
    kw = draw(st.lists(st.tuples(st.sampled_from(("retain_graph", "create_graph",
                                                  "allow_unused")), py((True, False, None))),
                       max_size=2, unique_by=lambda kv: kv[0]))
    kw = ("seq", "tuple", [("seq", "tuple", [("py", k), v]) for k, v in kw])
    return ("grad", x, which, draw(good_or(st.one_of(py((None,)), tensors()))), kw)


@st.composite
def save_load_case(draw):
    how = draw(st.sampled_from(("save", "save", "garbage", "missing", "empty")))
    obj = draw(st.one_of(tensors(ALL_DTYPES), hostile(), seqs(tensors(), max_size=2)))
    return ("save_load", obj, how)


@st.composite
def replay_case(draw):
    w = tensors(rg=True, shape=draw(st.sampled_from(((3, 2), (3,), (0, 2)))))
    x = tensors(rg=False, shape=draw(st.sampled_from(((4, 3), (3,), (4, 0)))))
    w2 = draw(good_or(st.one_of(w, tensors())))
    return ("replay", draw(w), draw(x), w2, draw(good_or(x)), draw(py((True, False))))


@st.composite
def thread_case(draw):
    inner = draw(st.one_of(method_case(), binop_case(), getitem_case(), function_case(),
                           value_case(), autograd_case()))
    return ("thread", inner)


CASE_KINDS = {
    "method": method_case, "binop": binop_case, "function": function_case,
    "functional": functional_case, "layer": layer_case, "factory": factory_case,
    "getitem": getitem_case, "optim": optim_case, "value": value_case,
    "autograd": autograd_case, "save_load": save_load_case, "replay": replay_case,
    "thread": thread_case,
}
