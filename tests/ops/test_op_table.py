"""THE op table (tools/ops.py) against what is built from it and what implements it.

* the generated files are fresh (``tools/gen_ops.py --check``);
* the compiled engine's op codes and grad_fn names are the table's (the C headers
  as compiled, and the constants of ``tapegrad._engine``);
* every C tensor kernel against its row's derivative formula: the formula is
  evaluated by the reference runtime (the generated ``reference._rules``) on the
  compiled engine's own inputs and output, on random data, in float32 and
  float64, broadcasting where the op broadcasts; the forward against the
  reference engine's forward.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
CSRC = os.path.join(ROOT, "csrc")

needs_tools = pytest.mark.skipif(not os.path.exists(os.path.join(TOOLS, "ops.py")),
                                 reason="tools/ (the op table) is not beside these tests")


def _table():
    spec = importlib.util.spec_from_file_location("_tapegrad_ops_table_test",
                                                  os.path.join(TOOLS, "ops.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TABLE = _table() if os.path.exists(os.path.join(TOOLS, "ops.py")) else None
ROWS = {r["name"]: r for r in TABLE.TENSOR_OPS} if TABLE else {}
KERNEL_CODES = {name: code for name, code, _ in TABLE.KERNELS} if TABLE else {}


# ----------------------------------------------------------------------------
# (a) the generated files are fresh

@needs_tools
def test_generated_files_are_fresh():
    run = subprocess.run([sys.executable, os.path.join(TOOLS, "gen_ops.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


@needs_tools
def test_check_names_a_stale_file(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("_gen_ops_test",
                                                  os.path.join(TOOLS, "gen_ops.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for rel, text in gen.outputs().items():
        os.makedirs(tmp_path / os.path.dirname(rel), exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    monkeypatch.setattr(gen, "ROOT", str(tmp_path))
    assert gen.main(["--check"]) == 0
    stale = tmp_path / "src/tapegrad/reference/_rules.py"
    stale.write_text(stale.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    assert gen.main(["--check"]) == 1


# ----------------------------------------------------------------------------
# (b) the compiled engine's codes and names are the table's

@needs_tools
def test_scalar_op_codes_match_the_compiled_engine():
    from tapegrad import _engine, _ops

    table = {r["name"]: r["code"] for r in TABLE.SCALAR_OPS}
    assert dict(_engine.OP_CODES) == table
    assert {op.name: op.code for op in _ops.OPS} == table
    assert [op.symbol for op in _ops.OPS] == [r["symbol"] for r in TABLE.SCALAR_OPS]


@needs_tools
def test_kernel_grad_fn_names_match_the_compiled_engine():
    """_engine._TORCH_NAMES is keyed by the kernels' numbers: the table's numbers and
    names must give the same map (for the kernels the engine names today)."""
    from tapegrad import _engine
    from tapegrad import _grad_fn_names

    engine_names = dict(_engine._TORCH_NAMES)
    table_names = {}
    for r in TABLE.TENSOR_OPS:
        if r["kernel"] is None or r.get("c_name"):
            continue
        for k in (r["kernel"],) if isinstance(r["kernel"], str) else r["kernel"]:
            table_names.setdefault(KERNEL_CODES[k], _grad_fn_names.COMPILED[r["name"]])
    assert engine_names, "the compiled engine names no kernel"
    for code, name in engine_names.items():
        assert table_names.get(code) == name, (code, name, table_names.get(code))
    for code, name in table_names.items():
        if code not in engine_names:       # a kernel this build does not have yet
            assert code > KERNEL_CODES["TT_CAST"] or name == "Backward", (code, name)
    overrides = _engine._NAME_OVERRIDES
    for r in TABLE.TENSOR_OPS:
        if r.get("c_name"):
            _, num = r["c_name"]
            assert overrides[num] == (r.get("c_torch") or r["torch"]), r["name"]


def _c_values(header_text, includes, names, tmp_path):
    """The values of the enum constants ``names`` as a C compiler sees them."""
    present = [n for n in names if n in header_text]
    src = tmp_path / "codes.c"
    body = "".join(f'    printf("{n} %d\\n", (int){n});\n' for n in present)
    src.write_text("#include <stdio.h>\n" + "".join(f'#include "{h}"\n' for h in includes)
                   + "int main(void) {\n" + body + "    return 0;\n}\n")
    exe = str(tmp_path / "codes")
    build = subprocess.run(["cc", "-std=c99", "-I", CSRC, str(src), "-o", exe],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines()}


def _table_c_codes():
    codes = {f"TG_{r['name'].upper()}": r["code"] for r in TABLE.SCALAR_OPS}
    codes["TG_NUM_OPS"] = len(TABLE.SCALAR_OPS)
    codes.update(KERNEL_CODES)
    codes["TT_FIRST"] = TABLE.KERNELS[0][1]
    codes["TT_LAST"] = TABLE.KERNELS[-1][1] + 1
    return codes


@needs_tools
@pytest.mark.skipif(not os.path.isdir(CSRC), reason="the C sources are not beside these tests")
@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.parametrize("includes", [("tg_ops.h",), ("tg_tape.h", "tg_tensor.h")],
                         ids=["generated", "engine"])
def test_c_enums_match_the_table(includes, tmp_path):
    """The generated header, and the headers the engine compiles (which include it, or
    still declare today's codes themselves): every op code they declare is the table's."""
    codes = _table_c_codes()
    text = "".join(open(os.path.join(CSRC, h), encoding="utf-8").read() for h in includes)
    if "tg_ops.h" in text:
        text += open(os.path.join(CSRC, "tg_ops.h"), encoding="utf-8").read()
    got = _c_values(text, includes, sorted(codes), tmp_path)
    assert got, "no op code found"
    for name, value in got.items():
        if name == "TT_LAST" and value != codes[name]:
            # a header that predates the newest kernels ends its enum earlier
            missing = [k for k, c in KERNEL_CODES.items() if c >= value]
            assert missing and all(k not in got for k in missing), (value, missing)
            continue
        assert value == codes[name], (name, value, codes[name])
    if includes == ("tg_ops.h",):
        assert got == codes


# ----------------------------------------------------------------------------
# (c) every C kernel against its table formula

class _Parent:
    """What a rule reads of a parent tensor: its shape (for sum_to)."""

    def __init__(self, data):
        self._data = data


def _rand(rs, shape, dt, positive=False):
    if positive == "unit":          # probabilities (binary_cross_entropy)
        return rs.uniform(0.05, 0.95, size=shape).astype(dt)
    a = rs.uniform(0.2 if positive else -2.0, 2.0, size=shape)
    return a.astype(dt)


def _F(E):
    if E.ENGINE == "python":
        from tapegrad.reference.nn import functional
        return functional
    import tapegrad
    if tapegrad.ENGINE != "c":
        pytest.skip("tapegrad.nn serves the reference engine (TAPEGRAD_PURE_PYTHON=1)")
    from tapegrad.nn import functional
    return functional


def _idx(*a):
    return a


# (row, kernel, input shapes (None: not a tensor), positive inputs, call, ctx, feature)
#   call(E, *tensors) -> output tensor; ctx(arrays, out_array) -> the row's ctx value;
#   feature(E) -> False when the compiled engine does not have this op yet.
def _scalar(c):
    return lambda a, o: o.dtype.type(c)


_TGT = np.array([2, 0, 1, 1], dtype=np.int64)
_GIX = np.array([[0, 0], [2, 1], [1, 1]], dtype=np.int64)
_BW = np.array([0.5, 1.5, 1.0, 2.0])                        # bce_with_logits weights
_BPW = np.array([[2.0, 0.5, 1.0, 3.0]] * 3)
_MASK = np.array([[True, False, True, True], [False] * 4, [True, True, False, True]])


def _bool(E):
    from tapegrad._dtype import bool_
    return bool_


def _write(x, write):
    """An in-place write into a graph tensor made from x; returns it."""
    h = x * 1
    write(h)
    return h

CASES = [
    ("add", "TT_ADD", [(3, 4), (4,)], False, lambda E, x, y: x + y, None, None),
    ("add", "TT_ADD", [(3, 1), (1, 4)], False, lambda E, x, y: x + y, None, None),
    ("add_scalar", "TT_ADD_C", [(3, 4)], False, lambda E, x: x + 1.5, _scalar(1.5), None),
    ("sub", "TT_SUB", [(2, 3, 4), (3, 1)], False, lambda E, x, y: x - y, None, None),
    ("sub_scalar", "TT_SUB_C", [(5,)], False, lambda E, x: x - 0.25, _scalar(0.25), None),
    ("rsub", "TT_RSUB_C", [(3, 2)], False, lambda E, x: 2.5 - x, _scalar(2.5), None),
    ("mul", "TT_MUL", [(3, 4), (4,)], False, lambda E, x, y: x * y, None, None),
    ("mul", "TT_MUL", [(2, 1, 4), (3, 1)], False, lambda E, x, y: x * y, None, None),
    ("mul_scalar", "TT_MUL_C", [(3, 4)], False, lambda E, x: x * 0.3, _scalar(0.3), None),
    ("div", "TT_DIV", [(3, 4), (4,)], True, lambda E, x, y: x / y, None, None),
    ("div", "TT_DIV", [(3, 1), (1, 4)], True, lambda E, x, y: x / y, None, None),
    ("div_scalar", "TT_DIV_C", [(5,)], False, lambda E, x: x / 3.0, _scalar(3.0), None),
    ("rdiv_scalar", "TT_RDIV_C", [(2, 3)], True, lambda E, x: 2.0 / x, _scalar(2.0), None),
    ("reciprocal", "TT_RDIV_C", [(2, 3)], True, lambda E, x: E.reciprocal(x), None, None),
    ("pow_scalar", "TT_POW_C", [(3, 4)], True, lambda E, x: x ** 2.5, lambda a, o: 2.5, None),
    ("pow_scalar", "TT_POW_C", [(3, 4)], False, lambda E, x: x ** 2, lambda a, o: 2, None),
    ("pow", "TT_POW", [(3, 4), (4,)], True, lambda E, x, y: x ** y, None, None),
    ("rpow", "TT_RPOW_C", [(3, 4)], False, lambda E, x: 2.0 ** x, lambda a, o: 2.0, None),
    ("neg", "TT_NEG", [(3, 5)], False, lambda E, x: -x, None, None),
    ("exp", "TT_EXP", [(3, 5)], False, lambda E, x: x.exp(), None, None),
    ("log", "TT_LOG", [(3, 5)], True, lambda E, x: x.log(), None, None),
    ("tanh", "TT_TANH", [(3, 5)], False, lambda E, x: x.tanh(), None, None),
    ("sigmoid", "TT_SIGMOID", [(3, 5)], False, lambda E, x: x.sigmoid(), None, None),
    ("relu", "TT_RELU", [(3, 5)], False, lambda E, x: x.relu(), None, None),
    ("abs", "TT_ABS", [(3, 5)], False, lambda E, x: x.abs(), None, None),
    ("sqrt", "TT_SQRT", [(3, 5)], True, lambda E, x: x.sqrt(), None, None),
    ("clamp", "TT_CLAMP", [(4, 5)], False, lambda E, x: x.clamp(-0.5, 0.7),
     lambda a, o: (-0.5, 0.7), None),
    ("clamp_min", "TT_CLAMP", [(4, 5)], False, lambda E, x: x.clamp_min(0.1),
     lambda a, o: (0.1, None), None),
    ("clamp_max", "TT_CLAMP", [(4, 5)], False, lambda E, x: x.clamp_max(-0.2),
     lambda a, o: (None, -0.2), None),
    ("sum", "TT_SUM", [(3, 40)], False, lambda E, x: x.sum(), lambda a, o: a[0].shape, None),
    ("sum_dim", "TT_SUM", [(3, 4, 5)], False, lambda E, x: x.sum(1),
     lambda a, o: (a[0].shape, (1,), False), None),
    ("sum_dim", "TT_SUM", [(3, 4, 5)], False, lambda E, x: x.sum(2, keepdim=True),
     lambda a, o: (a[0].shape, (2,), True), None),
    ("mean", "TT_MEAN", [(3, 7)], False, lambda E, x: x.mean(),
     lambda a, o: (a[0].shape, a[0].size), None),
    ("mean_dim", "TT_MEAN", [(3, 4, 5)], False, lambda E, x: x.mean(0),
     lambda a, o: (a[0].shape, (0,), False, 3), None),
    ("max", "TT_MAX_ALL", [(4, 5)], False, lambda E, x: x.max(), None, None),
    ("max_dim", "TT_MAX_DIM", [(4, 5)], False, lambda E, x: x.max(1)[0],
     lambda a, o: (a[0].shape, 1, False, np.argmax(a[0], axis=1)), None),
    ("min", "TT_MIN_ALL", [(4, 5)], False, lambda E, x: x.min(), None,
     lambda E: hasattr(E.Tensor, "min")),
    ("min_dim", "TT_MIN_DIM", [(4, 5)], False, lambda E, x: x.min(1)[0],
     lambda a, o: (a[0].shape, 1, False, np.argmin(a[0], axis=1)),
     lambda E: hasattr(E.Tensor, "min")),
    ("softmax", "TT_SOFTMAX", [(4, 6)], False, lambda E, x: x.softmax(1), lambda a, o: 1, None),
    ("softmax", "TT_SOFTMAX", [(4, 6)], False, lambda E, x: x.softmax(0), lambda a, o: 0, None),
    ("log_softmax", "TT_LOG_SOFTMAX", [(4, 6)], False, lambda E, x: x.log_softmax(1),
     lambda a, o: 1, None),
    ("mm", "TT_MM", [(3, 4), (4, 5)], False, lambda E, x, y: x.mm(y), None, None),
    ("dot", "TT_MM", [(6,), (6,)], False, lambda E, x, y: x.dot(y), None, None),
    ("mv", "TT_MM", [(3, 4), (4,)], False, lambda E, x, y: x @ y, None, None),
    ("vm", "TT_MM", [(4,), (4, 3)], False, lambda E, x, y: x @ y, None, None),
    ("bmm", "TT_BMM", [(2, 3, 4), (2, 4, 5)], False, lambda E, x, y: x.bmm(y), None,
     lambda E: hasattr(E.Tensor, "bmm")),
    ("addmm", "TT_ADDMM", [(5,), (3, 4), (4, 5)], False,
     lambda E, b, x, w: E._addmm(b, x, w), None, lambda E: hasattr(E, "_addmm")),
    ("view", "TT_VIEW", [(3, 4)], False, lambda E, x: x.reshape(2, 6),
     lambda a, o: a[0].shape, None),
    ("unsqueeze", "TT_VIEW", [(3, 4)], False, lambda E, x: x.unsqueeze(1),
     lambda a, o: a[0].shape, None),
    ("unsqueeze", "TT_GATHER", [(3, 4)], False, lambda E, x: x[:, None],
     lambda a, o: a[0].shape, None),
    ("squeeze", "TT_VIEW", [(3, 1, 4)], False, lambda E, x: x.squeeze(),
     lambda a, o: a[0].shape, None),
    ("squeeze_dim", "TT_VIEW", [(3, 1, 4)], False, lambda E, x: x.squeeze(1),
     lambda a, o: a[0].shape, None),
    ("transpose", "TT_GATHER", [(3, 4, 2)], False, lambda E, x: x.transpose(0, 2),
     lambda a, o: (0, 2), None),
    ("permute", "TT_GATHER", [(2, 3, 4)], False, lambda E, x: x.permute(2, 0, 1),
     lambda a, o: (2, 0, 1), None),
    ("t", "TT_GATHER", [(3, 4)], False, lambda E, x: x.t(), None, None),
    ("t", "TT_VIEW", [(4,)], False, lambda E, x: x.t(), None, None),
    ("clone", "TT_MUL_C", [(3, 4)], False, lambda E, x: x.clone(), None, None),
    ("expand", "TT_GATHER", [(3, 1)], False, lambda E, x: x.expand(2, 3, 4),
     lambda a, o: a[0].shape, lambda E: hasattr(E.Tensor, "expand")),
    ("to_copy", "TT_CAST", [(3,)], False,
     lambda E, x: x.double() if x.dtype == E.float32 else x.float(), None, None),
    ("select", "TT_GATHER", [(3, 4)], False, lambda E, x: x[1],
     lambda a, o: (a[0].shape, (1,)), None),
    ("slice", "TT_GATHER", [(5, 4)], False, lambda E, x: x[1:4:2],
     lambda a, o: (a[0].shape, (slice(1, 4, 2),)), None),
    ("index", "TT_GATHER", [(3, 4)], False, lambda E, x: x[E.tensor([1])],
     lambda a, o: (a[0].shape, (np.array([1]),)), None),
    ("mse_loss", "TT_MSE", [(3, 4), (3, 4)], False,
     lambda E, x, t: _F(E).mse_loss(x, t), lambda a, o: "mean", None),
    ("mse_loss", "TT_MSE", [(3, 4), (3, 4)], False,
     lambda E, x, t: _F(E).mse_loss(x, t, reduction="sum"), lambda a, o: "sum", None),
    ("mse_loss", "TT_MSE", [(3, 4), (3, 4)], False,
     lambda E, x, t: _F(E).mse_loss(x, t, reduction="none"), lambda a, o: "none", None),
    ("nll_loss", "TT_MEAN", [(4, 3)], False, lambda E, x: _F(E).nll_loss(x, E.tensor(_TGT)),
     lambda a, o: (a[0].shape, (np.arange(4), _TGT), np.arange(4), None, o.dtype.type(4),
                   "mean"), None),
    ("nll_loss", "TT_SUM", [(4, 3)], False,
     lambda E, x: _F(E).nll_loss(x, E.tensor(_TGT), reduction="sum"),
     lambda a, o: (a[0].shape, (np.arange(4), _TGT), np.arange(4), None, None, "sum"), None),
    ("nll_loss", "TT_NEG", [(4, 3)], False,
     lambda E, x: _F(E).nll_loss(x, E.tensor(_TGT), reduction="none"),
     lambda a, o: (a[0].shape, (np.arange(4), _TGT), np.arange(4), None, None, "none"), None),
    ("binary_cross_entropy", "TT_BCE", [(3, 4), (3, 4)], "unit",
     lambda E, x, t: _F(E).binary_cross_entropy(x, t), lambda a, o: ("mean", None), None),
    ("binary_cross_entropy", "TT_BCE", [(5,), (5,)], "unit",
     lambda E, x, t: _F(E).binary_cross_entropy(x, t, reduction="none"),
     lambda a, o: ("none", None), None),
    ("pick", "TT_PICK", [(4, 3)], False, lambda E, x: E._pick(x, E.tensor(_TGT)),
     lambda a, o: (a[0].shape, (np.arange(4), _TGT)), lambda E: hasattr(E, "_pick")),
    # indexing (csrc/tg_index.c)
    ("index", "TT_INDEX", [(4, 5)], False, lambda E, x: x[E.tensor([0, 2, 2])],
     lambda a, o: (a[0].shape, (np.array([0, 2, 2]),)), None),
    ("index_select", "TT_INDEX", [(3, 4)], False,
     lambda E, x: x.index_select(1, E.tensor([3, 0, 3])),
     lambda a, o: (a[0].shape, (slice(None), np.array([3, 0, 3]))), None),
    ("gather", "TT_INDEX", [(3, 4)], False, lambda E, x: x.gather(1, E.tensor(_GIX)),
     lambda a, o: (a[0].shape, (np.arange(3)[:, None], _GIX)), None),
    ("masked_select", "TT_INDEX", [(3, 4)], False,
     lambda E, x: x.masked_select(E.tensor(_MASK.tolist(), dtype=_bool(E))),
     lambda a, o: (a[0].shape, np.nonzero(_MASK)), None),
    ("embedding", "TT_INDEX", [(4, 3)], False,
     lambda E, w: _F(E).embedding(E.tensor([[1, 0], [3, 3]]), w, padding_idx=3),
     lambda a, o: (a[0].shape, np.array([[1, 0], [3, 3]]), 3), None),
    ("where", "TT_WHERE", [(3, 4), (4,)], False,
     lambda E, x, y: E.where(E.tensor(_MASK.tolist(), dtype=_bool(E)), x, y),
     lambda a, o: _MASK, None),
    ("masked_fill", "TT_WHERE", [(3, 4)], False,
     lambda E, x: x.masked_fill(E.tensor(_MASK.tolist(), dtype=_bool(E)), 2.0),
     lambda a, o: _MASK, None),
    ("masked_fill_tensor", "TT_WHERE", [(3, 4), ()], False,
     lambda E, x, v: E.masked_fill(x, E.tensor(_MASK.tolist(), dtype=_bool(E)), v),
     lambda a, o: _MASK, None),
    ("copy_slices", "TT_WHERE", [(3, 4), (3, 4)], False,
     lambda E, s, x: _write(x, lambda h: h.__setitem__(slice(None), s)),
     lambda a, o: np.ones((3, 4), bool), None),
    ("index_put", "TT_WHERE", [(3, 4), (3, 4)], False,
     lambda E, s, x: _write(x, lambda h: h.__setitem__(E.tensor([0, 1, 2]), s)),
     lambda a, o: np.ones((3, 4), bool), None),
    ("copy_", "TT_WHERE", [(4,), (3, 4)], False,
     lambda E, s, x: _write(x, lambda h: h.copy_(s)), lambda a, o: np.ones((3, 4), bool),
     None),
    ("fill_", "TT_WHERE", [(3, 4)], False, lambda E, x: _write(x, lambda h: h.fill_(2.0)),
     lambda a, o: np.ones((3, 4), bool), None),
    ("zero_", "TT_WHERE", [(3, 4)], False, lambda E, x: _write(x, lambda h: h.zero_()),
     lambda a, o: np.ones((3, 4), bool), None),
    # issue 11 item 5 (csrc/tg_math.c)
    ("sin", "TT_SIN", [(3, 5)], False, lambda E, x: x.sin(), None, None),
    ("cos", "TT_COS", [(3, 5)], False, lambda E, x: E.cos(x), None, None),
    ("tan", "TT_TAN", [(3, 5)], False, lambda E, x: x.tan(), None, None),
    ("log10", "TT_LOG10", [(3, 5)], True, lambda E, x: x.log10(), None, None),
    ("log2", "TT_LOG2", [(3, 5)], True, lambda E, x: E.log2(x), None, None),
    ("log1p", "TT_LOG1P", [(3, 5)], True, lambda E, x: x.log1p(), None, None),
    ("expm1", "TT_EXPM1", [(3, 5)], False, lambda E, x: x.expm1(), None, None),
    ("rsqrt", "TT_RSQRT", [(3, 5)], True, lambda E, x: x.rsqrt(), None, None),
    ("sign", "TT_SIGN", [(3, 5)], False, lambda E, x: x.sign(), None, None),
    ("floor", "TT_FLOOR", [(3, 5)], False, lambda E, x: x.floor(), None, None),
    ("ceil", "TT_CEIL", [(3, 5)], False, lambda E, x: E.ceil(x), None, None),
    ("round", "TT_ROUND", [(3, 5)], False, lambda E, x: x.round(), None, None),
    ("maximum", "TT_MAXIMUM", [(3, 4), (4,)], False, lambda E, x, y: E.maximum(x, y), None,
     None),
    ("minimum", "TT_MINIMUM", [(3, 1), (1, 4)], False, lambda E, x, y: E.minimum(x, y), None,
     None),
    ("logsumexp", "TT_LOGSUMEXP", [(3, 4, 5)], False, lambda E, x: x.logsumexp(1),
     lambda a, o: (1, False), None),
    ("var", "TT_VAR", [(3, 6)], False, lambda E, x: x.var(1, keepdim=True),
     lambda a, o: (1, 1.0, True), None),
    ("var", "TT_VAR", [(4, 3)], False, lambda E, x: x.var(correction=0),
     lambda a, o: (None, 0.0, False), None),
    ("std", "TT_VAR", [(3, 6)], False, lambda E, x: x.std(0), lambda a, o: (0, 1.0, False),
     None),
    ("norm", "TT_NORM", [(3, 6)], False, lambda E, x: x.norm(dim=1),
     lambda a, o: (2.0, 1, False), None),
    ("norm", "TT_NORM", [(3, 6)], False, lambda E, x: x.norm(p=1),
     lambda a, o: (1.0, None, False), None),
    ("norm", "TT_NORM", [(3, 6)], False, lambda E, x: x.norm(p=3, dim=0, keepdim=True),
     lambda a, o: (3.0, 0, True), None),
    ("prod", "TT_PROD", [(3, 4)], False, lambda E, x: x.prod(), lambda a, o: (None, False),
     None),
    ("prod_dim", "TT_PROD", [(3, 4)], False, lambda E, x: x.prod(1), lambda a, o: (1, False),
     None),
    ("cumsum", "TT_CUMSUM", [(3, 4)], False, lambda E, x: x.cumsum(1), lambda a, o: 1, None),
    ("cat", "TT_CAT", [(2, 3), (4, 3)], False, lambda E, x, y: E.cat([x, y]),
     lambda a, o: (0, 2, 4), None),
    ("split", "TT_GATHER", [(3, 5)], False, lambda E, x: x.split(2, 1)[1],
     lambda a, o: (a[0].shape, (slice(None), slice(2, 4))), None),
    ("split_with_sizes", "TT_GATHER", [(5, 3)], False, lambda E, x: x.split([1, 4])[1],
     lambda a, o: (a[0].shape, (slice(1, 5),)), None),
    ("unbind", "TT_GATHER", [(3, 4)], False, lambda E, x: x.unbind(1)[2],
     lambda a, o: (a[0].shape, (slice(None), 2)), None),
    ("flip", "TT_GATHER", [(3, 4, 2)], False, lambda E, x: x.flip(0, 2),
     lambda a, o: (0, 2), None),
    ("roll", "TT_ROLL", [(3, 5)], False, lambda E, x: x.roll(2, 1),
     lambda a, o: ((2,), (1,)), None),
    ("repeat", "TT_TILE", [(2, 3)], False, lambda E, x: x.repeat(2, 1, 3),
     lambda a, o: ((2, 1, 3), a[0].shape), None),
    ("sort", "TT_TAKE", [(3, 5)], False, lambda E, x: x.sort(1).values,
     lambda a, o: (a[0].shape, 1, np.argsort(a[0], axis=1, kind="stable")), None),
    ("topk", "TT_TAKE", [(4, 3)], False, lambda E, x: x.topk(2, 0).values,
     lambda a, o: (a[0].shape, 0, np.argsort(-a[0], axis=0, kind="stable")[:2]), None),
    # issue 12 (csrc/tg_activation.c)
    ("erf", "TT_ERF", [(3, 5)], False, lambda E, x: x.erf(), None, None),
    ("gelu", "TT_GELU", [(3, 5)], False, lambda E, x: _F(E).gelu(x), lambda a, o: "none",
     None),
    ("gelu", "TT_GELU", [(3, 5)], False, lambda E, x: _F(E).gelu(x, approximate="tanh"),
     lambda a, o: "tanh", None),
    ("silu", "TT_SILU", [(3, 5)], False, lambda E, x: _F(E).silu(x), None, None),
    ("leaky_relu", "TT_LEAKY_RELU", [(3, 5)], False, lambda E, x: _F(E).leaky_relu(x, 0.2),
     lambda a, o: 0.2, None),
    ("elu", "TT_ELU", [(3, 5)], False, lambda E, x: _F(E).elu(x, 0.7), lambda a, o: 0.7, None),
    ("softplus", "TT_SOFTPLUS", [(3, 5)], False,
     lambda E, x: _F(E).softplus(x, 2.0, 1.0), lambda a, o: (2.0, 1.0), None),
    ("smooth_l1_loss", "TT_SMOOTH_L1", [(3, 4), (3, 4)], False,
     lambda E, x, t: _F(E).smooth_l1_loss(x, t, beta=0.8), lambda a, o: ("mean", 0.8), None),
    ("smooth_l1_loss", "TT_SMOOTH_L1", [(3, 4), (3, 4)], False,
     lambda E, x, t: _F(E).smooth_l1_loss(x, t, reduction="none", beta=1.5),
     lambda a, o: ("none", 1.5), None),
    ("huber_loss", "TT_SMOOTH_L1", [(3, 4), (3, 4)], False,
     lambda E, x, t: _F(E).huber_loss(x, t, reduction="sum", delta=0.6),
     lambda a, o: ("sum", 0.6), None),
    ("binary_cross_entropy_with_logits", "TT_BCE_LOGITS", [(3, 4), (3, 4)], "unit",
     lambda E, x, t: _F(E).binary_cross_entropy_with_logits(x, t),
     lambda a, o: (None, None, "mean"), None),
    ("binary_cross_entropy_with_logits", "TT_BCE_LOGITS", [(3, 4), (3, 4)], "unit",
     lambda E, x, t: _F(E).binary_cross_entropy_with_logits(
         x, t, reduction="none", weight=E.tensor(_BW.astype(x.dtype.numpy)),
         pos_weight=E.tensor(_BPW.astype(x.dtype.numpy))),
     lambda a, o: (np.broadcast_to(_BW, (3, 4)).astype(o.dtype),
                   np.broadcast_to(_BPW, (3, 4)).astype(o.dtype), "none"), None),
    ("constant_pad_nd", "TT_PAD", [(3, 4)], False, lambda E, x: _F(E).pad(x, (1, -1, 2, 0)),
     lambda a, o: (1, -1, 2, 0), None),
    # issue 12 item 4 (compiled only: the reference composes them)
    ("native_batch_norm", "TT_BATCH_NORM", [(5, 3, 2), (3,)], False,
     lambda E, x, w: E._native_norm(x, w, None, False, None, 1e-5, (5, 3, 2))[0],
     lambda a, o: ((0, 2), 1e-5, None, False), lambda E: hasattr(E, "_native_norm")),
    ("native_layer_norm", "TT_LAYER_NORM", [(4, 6), (6,)], False,
     lambda E, x, w: E._native_norm(x, w, None, True, None, 1e-5, (4, 6))[0],
     lambda a, o: ((1,), 1e-5, None, True), lambda E: hasattr(E, "_native_norm")),
]


# Recorded only inside a composite (batched matmul's view back to the batch shape), so no
# public call puts a leaf right under it; tests/tensor/test_drift_compiled.py checks those
# chains' values, gradients and grad_fn names against the reference and torch.
INTERNAL_ONLY = {("unsafe_view", "TT_VIEW"),
                 # stack: a cat of unsqueezed operands (tests/functions checks it against torch)
                 ("stack", "TT_CAT"),
                 # a normalisation's bias slot: its operand is the normalisation slot, never
                 # a leaf (tests/nn/test_normalization.py and tests/higher check them)
                 ("batch_norm_bias", "TT_ADDMM"), ("layer_norm_bias", "TT_ADDMM")}


def _case_id(case):
    return f"{case[0]}-{case[1]}"


@needs_tools
def test_every_kernel_has_a_case():
    """Each (row, kernel) pair of the table is exercised below."""
    pairs = {(r["name"], k) for r in TABLE.TENSOR_OPS if r["kernel"]
             for k in ((r["kernel"],) if isinstance(r["kernel"], str) else r["kernel"])}
    assert pairs == {(c[0], c[1]) for c in CASES} | INTERNAL_ONLY
    # (TT_PYFUNC*: custom autograd.Function nodes, no table row: tests/function)
    assert {k for _, k in pairs} == set(KERNEL_CODES) - {"TT_LEAF", "TT_PYFUNC", "TT_PYFUNC_OUT"}


def _run(E, case, arrays, rs):
    """Build the op in engine E on leaves from arrays; backward with a random gradient."""
    name, _, shapes, _, call, _, _ = case
    leaves = [E.tensor(a, requires_grad=True) for a in arrays]
    out = call(E, *leaves)
    g = rs.standard_normal(tuple(out.shape)).astype(out.detach().numpy().dtype)
    out.backward(E.tensor(g))
    return out, g, [leaf.grad.numpy() if leaf.grad is not None else None for leaf in leaves]


@needs_tools
@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_kernel_matches_its_table_formula(case, dt):
    import tapegrad._engine as C
    import tapegrad.reference as R
    from tapegrad import _grad_fn_names
    from tapegrad.reference import _rules

    name, kernel, shapes, positive, call, ctx_of, feature = case
    row = ROWS[name]
    if feature is not None and not feature(C):
        pytest.skip(f"the compiled engine has no {name} op yet (kernel {kernel} = "
                    f"{KERNEL_CODES[kernel]})")
    rs = np.random.RandomState(abs(hash((name, kernel, str(shapes), dt.__name__))) % 2**31)
    arrays = [_rand(rs, s, dt, positive) for s in shapes]
    out, g, grads = _run(C, case, arrays, rs)
    y = out.detach().numpy()

    # the compiled engine recorded this row (its name for it, per the table)
    assert type(out.grad_fn).__name__ == _grad_fn_names.COMPILED[name]

    # forward: the reference engine's value of the same op
    if row.get("reference", True):
        ref_y = call(R, *[R.tensor(a, requires_grad=True) for a in arrays]).detach().numpy()
        np.testing.assert_allclose(y, ref_y, rtol=_rtol(dt), atol=_atol(dt))
        assert y.dtype == ref_y.dtype and y.shape == ref_y.shape

    # backward: the row's derivative expressions, evaluated by the reference runtime
    inputs = [i for i in row["inputs"] if i is not None]
    values = dict(zip(inputs, arrays))
    values["result"] = y
    saved = tuple(values[s] for s in row["saved"])
    ctx = ctx_of(arrays, y) if ctx_of is not None else None
    parents = [_Parent(a) for a in arrays] + [None] * (len(row["inputs"]) - len(arrays))
    expected = _rules.RULES[name].backward(g, saved, ctx, tuple(parents))
    assert len(expected) == len(row["inputs"])
    for k, inp in enumerate(inputs):
        want = np.asarray(expected[k]).astype(arrays[k].dtype)
        assert grads[k] is not None, f"{name}: no gradient for {inp}"
        assert grads[k].shape == arrays[k].shape and grads[k].dtype == arrays[k].dtype
        np.testing.assert_allclose(grads[k], want, rtol=_rtol(dt), atol=_atol(dt),
                                   err_msg=f"{name} ({kernel}) d/d{inp}: {row['derivatives'][inp]}")


def _rtol(dt):
    return 2e-5 if dt == np.float32 else 1e-12


def _atol(dt):
    return 1e-6 if dt == np.float32 else 1e-13
