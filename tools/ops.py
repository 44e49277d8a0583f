"""THE op table of tapegrad: every op, scalar and tensor, in one place.

Declarative data only (no logic), in the spirit of PyTorch's
tools/autograd/derivatives.yaml. ``python tools/gen_ops.py`` generates from it:

    csrc/tg_ops.h                       the C enums: scalar ``tg_op`` (TG_*), tensor kernels (TT_*)
    src/tapegrad/_ops_table.pxi         the compiled engine's Cython codes and grad_fn name maps
    src/tapegrad/_grad_fn_names.py      op name -> torch grad_fn name, for both engines
    src/tapegrad/_ops.py                the scalar ops (codes, symbols, forward/backward rules)
    src/tapegrad/reference/_rules.py    the reference engine's tensor backward rules

and ``python tools/gen_ops.py --check`` fails when any of them is stale (CI runs it).

Derivatives
-----------
Each differentiable input's derivative is a Python expression written with the
engine's own differentiable operations, so that the same rule can later be
recorded on the tape (higher-order gradients). Names an expression may use:

    grad                the gradient flowing into the op's output
    result              the op's output (must be listed in ``saved``)
    <input name>        an input's value (must be listed in ``saved``), except as the second
                        argument of ``sum_to``, which only reads the input's shape
    <ctx name>          the op's recorded constants (``ctx``: one name, or a tuple of names
                        that unpack the recorded tuple)
    + - * / unary-      elementwise arithmetic; a number literal or a scalar constant meets an
                        array in the array's dtype (torch's scalar type promotion)
    == < <= > >= &      masks (no gradient)

and these functions. Engine ops (differentiable themselves):

    exp(x) log(x) pow(x, y)     elementwise; ``pow(x, c)`` with a number c uses torch's
                                special cases (c == 2 is x * x, ...)
    sin(x) cos(x)               elementwise
    where(mask, a, b)           a where mask else b; a scalar mask picks a branch
    sum(x, dim, keepdim)        sum over dim in torch's summation order
    expand(x, sizes)            broadcast to sizes
    reshape(x, sizes)           same elements, new shape
    transpose(x, d0, d1)  t(x)  permute(x, dims)
    mm(a, b) mv(a, b) bmm(a, b) outer(a, b)
    zeros_like(x)

and the named helpers of ``HELPERS`` below (non-differentiable bookkeeping that
torch also names in derivatives.yaml).

Broadcasting is explicit: an input that may be broadcast has its derivative
wrapped in ``sum_to(..., input)``. The engines cast each gradient to its input's
dtype after the rule (torch's ``handle_r_to_c``/``to(self.options())``).

Scalar ops (the micrograd-style ``Value``) are their own rows: their codes are
C's ``tg_op`` enum and their formulas are those of the float64 C sweep
(``csrc/tg_tape.c``), evaluated with IEEE semantics (``_scalar_math``), which
differ from the tensor formulas in places (e.g. ``div``'s ``other``).
"""

# ----------------------------------------------------------------------------
# Named helpers the derivative expressions may call, with their meaning.
# Implemented once in src/tapegrad/reference/_derivatives.py.

HELPERS = {
    "sum_to": "sum_to(g, x): g summed over the dims broadcasting added to x's shape "
              "(torch's at::sum_to(grad, self.sizes()))",
    "sum_backward": "sum_backward(g, sizes, dim, keepdim): g with the reduced dims "
                    "restored (size 1 unless keepdim) and expanded to sizes",
    "evenly_distribute_backward": "evenly_distribute_backward(g, x, result): the gradient "
                                  "of a full max/min, shared evenly by the ties (nan: by the nans)",
    "value_selecting_reduction_backward": "value_selecting_reduction_backward(g, dim, "
                                          "indices, sizes, keepdim): g scattered to the "
                                          "selected indices along dim, zeros elsewhere",
    "select_backward": "select_backward(g, sizes, index): zeros of sizes with g written "
                       "at the basic index (int/slice/tuple) that was read",
    "index_backward": "index_backward(g, sizes, indices): zeros of sizes with g "
                      "accumulated at an advanced index (repeats add up)",
    "embedding_backward": "embedding_backward(g, sizes, indices, padding_idx): zeros of "
                          "sizes with g's rows accumulated at the rows indices name, except "
                          "padding_idx's (-1: none)",
    "clamp_mask": "clamp_mask(x, min, max): x >= min and x <= max (a None bound is open)",
    "sgn": "sgn(x): -1, 0 or +1 in x's dtype (sgn(nan) is 0, as torch's abs backward)",
    "invert_permutation": "invert_permutation(dims): the permutation undoing dims",
    "mse_loss_backward": "mse_loss_backward(g, a, b, reduction): 2 * (a - b) * g "
                         "(divided by numel for 'mean'), a and b broadcast in g's dtype",
    "nll_loss_backward": "nll_loss_backward(g, sizes, key, rows, weight, total_weight, "
                         "reduction): -g (times weight, over total_weight for 'mean') at "
                         "the picked targets, zeros elsewhere",
    "binary_cross_entropy_backward": "binary_cross_entropy_backward(g, x, t, weight, "
                                     "reduction): g * (x - t) / max((1 - x) * x, eps), "
                                     "times weight, over numel for 'mean'",
    "binary_cross_entropy_target_backward": "binary_cross_entropy_target_backward(g, x, t, "
                                            "weight, reduction): -log(x / (1 - x)) * g, "
                                            "times weight, over numel for 'mean'",
    # issue 11 item 5 (reference/_derivatives_more.py)
    "slice_along": "slice_along(g, dim, start, length): g[start:start + length] along dim",
    "unsqueeze_reduced": "unsqueeze_reduced(g, dim, keepdim): g with the reduced dims (an int, "
                         "a tuple, None for all) restored as size 1 unless keepdim",
    "logsumexp_backward": "logsumexp_backward(g, x, result, dim, keepdim): g * exp(x - result)",
    "var_backward": "var_backward(g, x, dim, correction, keepdim): g * 2 (x - mean) / "
                    "(n - correction)",
    "norm_backward": "norm_backward(g, x, p, result, dim, keepdim): torch's "
                     "linalg_vector_norm_backward",
    "prod_backward": "prod_backward(g, x, result, dim, keepdim): g * result / x, with "
                     "torch's rule for zeros (one zero: the product of the others)",
    "cumsum_backward": "cumsum_backward(g, dim): the reversed cumulative sum of g along dim",
    "flip": "flip(g, dims): g reversed along dims",
    "roll_backward": "roll_backward(g, shifts, dims): g rolled back by shifts",
    "repeat_backward": "repeat_backward(g, repeats, sizes): g summed over the repeated tiles",
    "take_along_backward": "take_along_backward(g, sizes, dim, indices): zeros of sizes with g "
                           "added at the indices along dim it was read from (sort, topk)",
    # issue 12: activations and losses (reference/_derivatives_act.py)
    "erf": "erf(x): the error function elementwise (an engine op, ErfBackward0)",
    "tanh": "tanh(x): tanh elementwise (an engine op, TanhBackward0)",
    "smooth_l1_backward": "smooth_l1_backward(g, x, t, reduction, beta): torch's "
                          "smooth_l1_loss_backward: -g, g or (x - t) g / beta by where x - t "
                          "lies against +-beta, over numel for 'mean'",
    "huber_backward": "huber_backward(g, x, t, reduction, delta): torch's huber_loss_backward: "
                      "-g delta, g delta or (x - t) g, over numel for 'mean'",
    "bce_logits_backward": "bce_logits_backward(g, x, t, weight, pos_weight, reduction): "
                           "((pos_weight t + 1 - t) sigmoid(x) - pos_weight t) g, times "
                           "weight, over numel for 'mean' (sigmoid(x) - t without pos_weight)",
    "bce_logits_target_backward": "bce_logits_target_backward(g, x, t, weight, pos_weight, "
                                  "reduction): (log_sigmoid(-x) - pos_weight log_sigmoid(x)) g "
                                  "(-x g without pos_weight), times weight, over numel for "
                                  "'mean'",
    "constant_pad": "constant_pad(g, pad): torch's constant_pad_nd(g, pad, 0) (the backward "
                    "of a pad is the pad by the negated amounts)",
    # issue 12 item 4 (reference/_derivatives_norm.py, autograd/_graph_helpers_norm.py)
    "normalize_backward": "normalize_backward(g, x, weight, dims, eps, stats, layer): the "
                          "input's gradient of (x - mean) * invstd * weight over dims (stats "
                          "None: the batch's mean and biased variance, else (mean, invstd))",
    "normalize_weight_backward": "normalize_weight_backward(g, x, weight, dims, eps, stats, "
                                 "layer): sum of g * xhat to weight's shape",
}

# ----------------------------------------------------------------------------
# The compiled engine's tensor kernels (csrc/tg_tensor.c), enum ``TT_*``.
# Codes are stable: they follow the scalar codes (0..63) and only grow.
# (name, code, what the kernel computes / which parameters it reads)

KERNELS = (
    ("TT_LEAF", 64, "a tensor that requires grad, made by the user"),
    ("TT_ADD", 65, "broadcasting binary"),
    ("TT_SUB", 66, "broadcasting binary"),
    ("TT_MUL", 67, "broadcasting binary"),
    ("TT_DIV", 68, "broadcasting binary"),
    ("TT_POW", 69, "broadcasting binary"),
    ("TT_ADD_C", 70, "x + dp[0]"),
    ("TT_SUB_C", 71, "x - dp[0]"),
    ("TT_MUL_C", 72, "x * dp[0]"),
    ("TT_RSUB_C", 73, "dp[0] - x"),
    ("TT_DIV_C", 74, "x / dp[0]"),
    ("TT_RDIV_C", 75, "dp[0] / x"),
    ("TT_POW_C", 76, "x ** dp[0]"),
    ("TT_RPOW_C", 77, "dp[0] ** x"),
    ("TT_NEG", 78, "unary"),
    ("TT_EXP", 79, "unary"),
    ("TT_LOG", 80, "unary"),
    ("TT_TANH", 81, "unary"),
    ("TT_RELU", 82, "unary"),
    ("TT_SIGMOID", 83, "unary"),
    ("TT_ABS", 84, "unary"),
    ("TT_SQRT", 85, "unary"),
    ("TT_CLAMP", 86, "dp[0] min, dp[1] max; ip[0] has_min, ip[1] has_max"),
    ("TT_SUM", 87, "to in-shape with reduced dims of size 1 (ip)"),
    ("TT_MEAN", 88, "as TT_SUM, divided by the count"),
    ("TT_MAX_ALL", 89, "global max; ties share the gradient"),
    ("TT_MAX_DIM", 90, "ip[0] dim; in[1] holds int64 argmax indices"),
    ("TT_MM", 91, "ip[0..2] = m, k, n (1-D operands as 1 x k, k x 1)"),
    ("TT_VIEW", 92, "same elements, new shape (shares the buffer)"),
    ("TT_GATHER", 93, "strided read: ip[0] offset, ip[1..] strides per out dim"),
    ("TT_SOFTMAX", 94, "ip[0] dim"),
    ("TT_LOG_SOFTMAX", 95, "ip[0] dim"),
    ("TT_PICK", 96, "out[i] = in[i, target[i]]; in[1] int64 targets"),
    ("TT_MSE", 97, "sum((x - t)^2), divided by n when ip[0] (mean)"),
    ("TT_CAST", 98, "the same values in out's dtype"),
    ("TT_ADDMM", 99, "bias + mat1 @ mat2: parents (bias, product), the product a TT_MM slot"),
    ("TT_BMM", 100, "batched mm: ip[0..3] = batches, m, k, n (3-D operands)"),
    ("TT_MIN_ALL", 101, "global min; ties share the gradient"),
    ("TT_MIN_DIM", 102, "ip[0] dim; in[1] holds int64 argmin indices"),
    ("TT_BCE", 103, "binary cross entropy of probabilities in[0], targets in[1]; ip[0] 0 sum, "
                    "1 mean, 2 none"),
    ("TT_INDEX", 104, "read through an int64 offset table in[1] (csrc/tg_index.h); backward "
                      "a scatter-add"),
    ("TT_WHERE", 105, "mask (aux) ? in[0] : in[1], broadcast (csrc/tg_index.h)"),
    # issue 11 item 5 (csrc/tg_math.c); "along one dim": in[0] as (ip[0], ip[1], ip[2])
    ("TT_SIN", 106, "unary"),
    ("TT_COS", 107, "unary"),
    ("TT_TAN", 108, "unary"),
    ("TT_LOG10", 109, "unary"),
    ("TT_LOG2", 110, "unary"),
    ("TT_LOG1P", 111, "unary"),
    ("TT_EXPM1", 112, "unary"),
    ("TT_RSQRT", 113, "unary"),
    ("TT_SIGN", 114, "unary, zero gradient"),
    ("TT_FLOOR", 115, "unary, zero gradient"),
    ("TT_CEIL", 116, "unary, zero gradient"),
    ("TT_ROUND", 117, "unary (half to even), zero gradient"),
    ("TT_MAXIMUM", 118, "broadcasting binary; ties share the gradient"),
    ("TT_MINIMUM", 119, "broadcasting binary; ties share the gradient"),
    ("TT_LOGSUMEXP", 120, "along one dim"),
    ("TT_VAR", 121, "along one dim: dp[0] correction; ip[3] 1 for the std"),
    ("TT_NORM", 122, "along one dim: dp[0] p (inf, -inf, 0, 1, 2 or any)"),
    ("TT_PROD", 123, "along one dim"),
    ("TT_CUMSUM", 124, "along one dim, same shape out"),
    ("TT_CAT", 125, "in[0] then in[1] along one dim: ip[1] and ip[3] their sizes there"),
    ("TT_TAKE", 126, "along one dim: out[o, j, i] = in[o, idx[o, j, i], i]; in[1] int64 "
                     "idx of ip[3] rows"),
    ("TT_ROLL", 127, "along one dim: element j moves to (j + ip[3]) mod n"),
    ("TT_TILE", 128, "repeat: out coordinate c reads in coordinate c mod size (trailing dims "
                     "aligned)"),
    # issue 12 (csrc/tg_activation.c)
    ("TT_ERF", 129, "unary"),
    ("TT_GELU", 130, "unary; ip[0] 1 for approximate='tanh'"),
    ("TT_SILU", 131, "unary"),
    ("TT_LEAKY_RELU", 132, "unary; dp[0] negative_slope"),
    ("TT_ELU", 133, "unary; dp[0] alpha"),
    ("TT_SOFTPLUS", 134, "unary; dp[0] beta, dp[1] threshold"),
    ("TT_SMOOTH_L1", 135, "smooth_l1_loss (ip[1] 0; dp[0] beta) or huber_loss (ip[1] 1; dp[0] "
                          "delta) of in[0], in[1] (same shape); ip[0] 0 sum, 1 mean, 2 none"),
    ("TT_BCE_LOGITS", 136, "binary_cross_entropy_with_logits of in[0], targets in[1]; ip[0] as "
                           "TT_BCE; aux: weight (ip[1]) then pos_weight (ip[2]), each of "
                           "out's numel"),
    ("TT_PAD", 137, "constant pad: out coordinate c reads in coordinate c - ip[d] (dp[0] "
                    "outside)"),
    # custom autograd.Function (csrc/tg_pyfunc.c): the call's node, n-ary over its inputs
    # (tape args), whose backward calls Python; and one slot per output, parent the call
    ("TT_PYFUNC", 138, "a custom Function call: parents are tape args; backward calls Python"),
    ("TT_PYFUNC_OUT", 139, "output ip[0] of the TT_PYFUNC call that is its parent a"),
    # issue 12 item 4 (csrc/tg_norm.c): normalised input times weight (in[1], optional);
    # aux holds each group's mean then invstd (doubles); dp[0] eps
    ("TT_BATCH_NORM", 140, "in[0] as (ip[0] N, ip[1] C, ip[2] L), a group per channel; ip[3] "
                           "1: batch statistics into aux, 0: aux given (eval)"),
    ("TT_LAYER_NORM", 141, "in[0] as (ip[0] rows, ip[1] D), a group per row; weight per D"),
)

# ----------------------------------------------------------------------------
# Scalar ops (Value). Row keys:
#   name      tapegrad's name          code    C's tg_op (TG_<NAME>), dense from 0
#   symbol    micrograd's ``_op``      torch   PyTorch grad_fn name
#   arity     0 leaf, 1 unary (+ constant c), 2 binary, -1 any number (engine-evaluated)
#   forward   the value, from self (first parent), other (second), c (the constant)
#   derivatives   input -> expression (inputs: self, other)

SCALAR_OPS = (
    dict(name="leaf", code=0, symbol="", torch=None, arity=0, forward=None, derivatives={}),
    dict(name="add", code=1, symbol="+", torch="AddBackward0", arity=2,
         forward="self + other",
         derivatives={"self": "grad", "other": "grad"}),
    dict(name="sub", code=2, symbol="-", torch="SubBackward0", arity=2,
         forward="self - other",
         derivatives={"self": "grad", "other": "-grad"}),
    dict(name="mul", code=3, symbol="*", torch="MulBackward0", arity=2,
         forward="self * other",
         derivatives={"self": "grad * other", "other": "grad * self"}),
    dict(name="div", code=4, symbol="/", torch="DivBackward0", arity=2,
         forward="self / other",
         derivatives={"self": "grad / other", "other": "-grad * self / (other * other)"}),
    dict(name="pow", code=5, symbol="**", torch="PowBackward1", arity=2,
         forward="pow(self, other)",
         derivatives={
             # torch: exponent == 0 gives a zero gradient even where x**-1 is inf
             "self": "where(other == 0, 0, grad * other * pow(self, other - 1))",
             # torch masks base == 0 with exponent >= 0
             "other": "where((self == 0) & (other >= 0), 0, grad * (result * log(self)))"}),
    dict(name="add_const", code=6, symbol="+", torch="AddBackward1", arity=1,
         forward="self + c",
         derivatives={"self": "grad"}),
    dict(name="mul_const", code=7, symbol="*", torch="MulBackward1", arity=1,
         forward="self * c",
         derivatives={"self": "grad * c"}),
    dict(name="div_const", code=8, symbol="/", torch="DivBackward1", arity=1,
         forward="self / c",
         derivatives={"self": "grad / c"}),
    dict(name="rsub_const", code=9, symbol="-", torch="RsubBackward1", arity=1,
         forward="c - self",
         derivatives={"self": "-grad"}),
    dict(name="rdiv_const", code=10, symbol="/", torch="DivBackward1", arity=1,
         forward="c / self",
         derivatives={"self": "-grad * c / (self * self)"}),
    dict(name="pow_const", code=11, symbol="**", torch="PowBackward0", arity=1,
         forward="where(c == 2, self * self, pow(self, c))",     # torch squares exactly too
         derivatives={"self": "where(c == 0, 0, grad * c * pow(self, c - 1))"}),
    dict(name="rpow_const", code=12, symbol="**", torch="PowBackward1", arity=1,
         forward="pow(c, self)",
         derivatives={"self": "where((c == 0) & (self >= 0), 0, grad * (result * log(c)))"}),
    dict(name="neg", code=13, symbol="-", torch="NegBackward0", arity=1,
         forward="-self",
         derivatives={"self": "-grad"}),
    dict(name="exp", code=14, symbol="exp", torch="ExpBackward0", arity=1,
         forward="exp(self)",
         derivatives={"self": "grad * result"}),
    dict(name="log", code=15, symbol="log", torch="LogBackward0", arity=1,
         forward="log(self)",
         derivatives={"self": "grad / self"}),
    dict(name="tanh", code=16, symbol="tanh", torch="TanhBackward0", arity=1,
         forward="tanh(self)",
         derivatives={"self": "grad * (1 - result * result)"}),
    dict(name="relu", code=17, symbol="ReLU", torch="ReluBackward0", arity=1,
         forward="relu(self)",
         derivatives={"self": "where(result <= 0, 0, grad)"}),       # torch: nan passes g
    dict(name="sigmoid", code=18, symbol="sigmoid", torch="SigmoidBackward0", arity=1,
         forward="sigmoid(self)",
         derivatives={"self": "grad * result * (1 - result)"}),
    # sum(values) + constants: every Value parent gets grad.
    dict(name="sum", code=19, symbol="sum", torch="SumBackward0", arity=-1, forward=None,
         derivatives={"inputs[i]": "grad"}),
    # dot(xs, ws) = sum_i xs[i] * ws[i], accumulated left to right.
    dict(name="dot", code=20, symbol="dot", torch="DotBackward0", arity=-1, forward=None,
         derivatives={"xs[i]": "grad * ws[i]", "ws[i]": "grad * xs[i]"}),
)

# ----------------------------------------------------------------------------
# Tensor ops. Row keys:
#   name       the op's name (the reference engine records it; key of the generated RULES)
#   torch      PyTorch's grad_fn name
#   inputs     tensor inputs, in recording order (None: a Python number in that slot)
#   saved      what backward reads: input names and/or "result"
#   ctx        the recorded constants: one name, or a tuple of names
#   ctx_arrays the ctx names that are arrays (a mask), not scalars
#   kernel     the compiled engine's TT_* code(s) recording this op; None: reference only
#   c_name     (NAME_*, id): the compiled engine's grad_fn name id, for a row whose name is
#              not its kernel's default one (the first row naming a kernel without c_name);
#              ids are stable numbers recorded in the node
#   c_torch    the grad_fn name the compiled engine shows, where it differs from torch's
#              (a known drift between the engines, issue 9 item 3)
#   reference  False: only the compiled engine records this op
#   derivatives  input -> expression

# Rows whose torch node holds saved tensors although their derivative reads neither
# an input nor the result (a wrapped scalar, indices, a mask). A sweep without
# retain_graph frees every row that saves something or is listed here, so that a
# later sweep through it raises torch's "backward through the graph a second time".
HOLDS_SAVED_TOO = ("mul_scalar", "div_scalar", "max_dim", "min_dim", "index", "index_select",
                   "gather", "masked_select", "embedding", "where", "masked_fill",
                   "masked_fill_tensor", "index_put", "nll_loss", "pick", "sort", "topk")

TENSOR_OPS = (
    # -- elementwise arithmetic ------------------------------------------------
    dict(name="add", torch="AddBackward0", inputs=("self", "other"), saved=(), ctx=None,
         kernel="TT_ADD",
         derivatives={"self": "sum_to(grad, self)", "other": "sum_to(grad, other)"}),
    dict(name="add_scalar", torch="AddBackward0", inputs=("self", None), saved=(), ctx="other",
         kernel="TT_ADD_C",
         derivatives={"self": "grad"}),
    dict(name="sub", torch="SubBackward0", inputs=("self", "other"), saved=(), ctx=None,
         kernel="TT_SUB",
         derivatives={"self": "sum_to(grad, self)", "other": "sum_to(-grad, other)"}),
    dict(name="sub_scalar", torch="SubBackward0", inputs=("self", None), saved=(), ctx="other",
         kernel="TT_SUB_C",
         derivatives={"self": "grad"}),
    dict(name="rsub", torch="RsubBackward1", inputs=("self",), saved=(), ctx="other",
         kernel="TT_RSUB_C",
         derivatives={"self": "-grad"}),
    dict(name="mul", torch="MulBackward0", inputs=("self", "other"), saved=("self", "other"),
         ctx=None, kernel="TT_MUL",
         derivatives={"self": "sum_to(grad * other, self)",
                      "other": "sum_to(grad * self, other)"}),
    dict(name="mul_scalar", torch="MulBackward0", inputs=("self", None), saved=(), ctx="other",
         kernel="TT_MUL_C",
         derivatives={"self": "grad * other"}),
    dict(name="div", torch="DivBackward0", inputs=("self", "other"), saved=("self", "other"),
         ctx=None, kernel="TT_DIV",
         derivatives={"self": "sum_to(grad / other, self)",
                      "other": "sum_to(-grad * ((self / other) / other), other)"}),
    dict(name="div_scalar", torch="DivBackward0", inputs=("self", None), saved=(), ctx="other",
         kernel="TT_DIV_C",
         derivatives={"self": "grad / other"}),
    # number / tensor: torch (and the reference) record reciprocal() * number
    dict(name="rdiv_scalar", torch="MulBackward0", c_torch="DivBackward0", inputs=("self",),
         saved=("self",), ctx="other", kernel="TT_RDIV_C", reference=False,
         derivatives={"self": "-grad * other / (self * self)"}),
    # reciprocal: 1 / x with torch's backward (TT_RDIV_C with ip[0] set, c = 1)
    dict(name="reciprocal", torch="ReciprocalBackward0", inputs=("self",), saved=("result",),
         ctx=None, kernel="TT_RDIV_C", c_name=("NAME_RECIPROCAL", 19),
         derivatives={"self": "-grad * (result * result)"}),
    dict(name="pow_scalar", torch="PowBackward0", inputs=("self",), saved=("self",),
         ctx="exponent", kernel="TT_POW_C",
         derivatives={"self": "where(exponent == 0, zeros_like(self), "
                              "grad * (exponent * pow(self, exponent - 1)))"}),
    dict(name="pow", torch="PowBackward1", inputs=("self", "other"),
         saved=("self", "other", "result"), ctx=None, kernel="TT_POW",
         derivatives={
             "self": "sum_to(where(other == 0, 0, grad * (other * pow(self, other - 1))), self)",
             "other": "sum_to(grad * where((other >= 0) & (self == 0), 0, "
                      "result * log(self)), other)"}),
    dict(name="rpow", torch="PowBackward2", inputs=("self",),
         saved=("result", "self"), ctx="base", kernel="TT_RPOW_C",
         derivatives={"self": "where((base == 0) & (self >= 0), 0, "
                              "grad * (result * log(base)))"}),
    dict(name="neg", torch="NegBackward0", inputs=("self",), saved=(), ctx=None,
         kernel="TT_NEG",
         derivatives={"self": "-grad"}),
    # -- elementwise functions -------------------------------------------------
    dict(name="exp", torch="ExpBackward0", inputs=("self",), saved=("result",), ctx=None,
         kernel="TT_EXP",
         derivatives={"self": "grad * result"}),
    dict(name="log", torch="LogBackward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_LOG",
         derivatives={"self": "grad / self"}),
    dict(name="tanh", torch="TanhBackward0", inputs=("self",), saved=("result",), ctx=None,
         kernel="TT_TANH",
         derivatives={"self": "grad * (1 - result * result)"}),
    dict(name="sigmoid", torch="SigmoidBackward0", inputs=("self",), saved=("result",),
         ctx=None, kernel="TT_SIGMOID",
         derivatives={"self": "grad * (1 - result) * result"}),
    dict(name="relu", torch="ReluBackward0", inputs=("self",), saved=("result",), ctx=None,
         kernel="TT_RELU",
         derivatives={"self": "where(result <= 0, 0, grad)"}),
    dict(name="abs", torch="AbsBackward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_ABS",
         derivatives={"self": "grad * sgn(self)"}),
    dict(name="sqrt", torch="SqrtBackward0", inputs=("self",), saved=("result",), ctx=None,
         kernel="TT_SQRT",
         derivatives={"self": "grad / (2 * result)"}),
    dict(name="clamp", torch="ClampBackward1", inputs=("self",), saved=("self",),
         ctx=("min", "max"), kernel="TT_CLAMP",
         derivatives={"self": "where(clamp_mask(self, min, max), grad, 0)"}),
    dict(name="clamp_min", torch="ClampMinBackward0", inputs=("self",), saved=("self",),
         ctx=("min", "max"), kernel="TT_CLAMP", c_name=("NAME_CLAMP_MIN", 16),
         derivatives={"self": "where(clamp_mask(self, min, max), grad, 0)"}),
    dict(name="clamp_max", torch="ClampMaxBackward0", inputs=("self",), saved=("self",),
         ctx=("min", "max"), kernel="TT_CLAMP", c_name=("NAME_CLAMP_MAX", 17),
         derivatives={"self": "where(clamp_mask(self, min, max), grad, 0)"}),
    # -- reductions ------------------------------------------------------------
    dict(name="sum", torch="SumBackward0", inputs=("self",), saved=(), ctx="self_sizes",
         kernel="TT_SUM",
         derivatives={"self": "expand(grad, self_sizes)"}),
    dict(name="sum_dim", torch="SumBackward1", inputs=("self",), saved=(),
         ctx=("self_sizes", "dim", "keepdim"), kernel="TT_SUM", c_name=("NAME_SUM_DIM", 1),
         derivatives={"self": "sum_backward(grad, self_sizes, dim, keepdim)"}),
    dict(name="mean", torch="MeanBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "numel"), kernel="TT_MEAN",
         derivatives={"self": "expand(grad / numel, self_sizes)"}),
    dict(name="mean_dim", torch="MeanBackward1", inputs=("self",), saved=(),
         ctx=("self_sizes", "dim", "keepdim", "numel"), kernel="TT_MEAN",
         c_name=("NAME_MEAN_DIM", 2),
         derivatives={"self": "sum_backward(grad / numel, self_sizes, dim, keepdim)"}),
    dict(name="max", torch="MaxBackward1", inputs=("self",), saved=("self", "result"),
         ctx=None, kernel="TT_MAX_ALL",
         derivatives={"self": "evenly_distribute_backward(grad, self, result)"}),
    dict(name="max_dim", torch="MaxBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "dim", "keepdim", "indices"), kernel="TT_MAX_DIM",
         derivatives={"self": "value_selecting_reduction_backward(grad, dim, indices, "
                              "self_sizes, keepdim)"}),
    dict(name="min", torch="MinBackward1", inputs=("self",), saved=("self", "result"),
         ctx=None, kernel="TT_MIN_ALL",
         derivatives={"self": "evenly_distribute_backward(grad, self, result)"}),
    dict(name="min_dim", torch="MinBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "dim", "keepdim", "indices"), kernel="TT_MIN_DIM",
         derivatives={"self": "value_selecting_reduction_backward(grad, dim, indices, "
                              "self_sizes, keepdim)"}),
    dict(name="softmax", torch="SoftmaxBackward0", inputs=("self",), saved=("result",),
         ctx="dim", kernel="TT_SOFTMAX",
         derivatives={"self": "result * (grad - sum(grad * result, dim, True))"}),
    dict(name="log_softmax", torch="LogSoftmaxBackward0", inputs=("self",), saved=("result",),
         ctx="dim", kernel="TT_LOG_SOFTMAX",
         derivatives={"self": "grad - exp(result) * sum(grad, dim, True)"}),
    # -- linear algebra --------------------------------------------------------
    dict(name="mm", torch="MmBackward0", inputs=("self", "mat2"), saved=("self", "mat2"),
         ctx=None, kernel="TT_MM",
         derivatives={"self": "mm(grad, t(mat2))", "mat2": "mm(t(self), grad)"}),
    dict(name="dot", torch="DotBackward0", inputs=("self", "tensor"), saved=("self", "tensor"),
         ctx=None, kernel="TT_MM", c_name=("NAME_DOT", 3),
         derivatives={"self": "grad * tensor", "tensor": "grad * self"}),
    dict(name="mv", torch="MvBackward0", inputs=("self", "vec"), saved=("self", "vec"),
         ctx=None, kernel="TT_MM", c_name=("NAME_MV", 4),
         derivatives={"self": "outer(grad, vec)", "vec": "mv(t(self), grad)"}),
    dict(name="bmm", torch="BmmBackward0", inputs=("self", "mat2"), saved=("self", "mat2"),
         ctx=None, kernel="TT_BMM",
         derivatives={"self": "bmm(grad, transpose(mat2, -1, -2))",
                      "mat2": "bmm(transpose(self, -1, -2), grad)"}),
    dict(name="addmm", torch="AddmmBackward0", inputs=("self", "mat1", "mat2"),
         saved=("mat1", "mat2"), ctx=None, kernel="TT_ADDMM",
         derivatives={"self": "sum_to(grad, self)", "mat1": "mm(grad, t(mat2))",
                      "mat2": "mm(t(mat1), grad)"}),
    # -- shape ops (views) -----------------------------------------------------
    dict(name="view", torch="ViewBackward0", inputs=("self",), saved=(), ctx="self_sizes",
         kernel="TT_VIEW",
         derivatives={"self": "reshape(grad, self_sizes)"}),
    dict(name="unsafe_view", torch="UnsafeViewBackward0", inputs=("self",), saved=(),
         ctx="self_sizes", kernel="TT_VIEW", c_name=("NAME_UNSAFE_VIEW", 14),
         derivatives={"self": "reshape(grad, self_sizes)"}),
    dict(name="unsqueeze", torch="UnsqueezeBackward0", inputs=("self",), saved=(),
         ctx="self_sizes", kernel=("TT_VIEW", "TT_GATHER"), c_name=("NAME_UNSQUEEZE", 5),
         derivatives={"self": "reshape(grad, self_sizes)"}),
    dict(name="squeeze", torch="SqueezeBackward0", inputs=("self",), saved=(),
         ctx="self_sizes", kernel="TT_VIEW", c_name=("NAME_SQUEEZE", 6),
         derivatives={"self": "reshape(grad, self_sizes)"}),
    dict(name="squeeze_dim", torch="SqueezeBackward1", inputs=("self",), saved=(),
         ctx="self_sizes", kernel="TT_VIEW", c_name=("NAME_SQUEEZE_DIM", 12),
         derivatives={"self": "reshape(grad, self_sizes)"}),
    dict(name="squeeze_mm", torch="SqueezeBackward4", inputs=("self",), saved=(),
         ctx="self_sizes", kernel=None,
         derivatives={"self": "reshape(grad, self_sizes)"}),
    dict(name="transpose", torch="TransposeBackward0", inputs=("self",), saved=(),
         ctx=("dim0", "dim1"), kernel="TT_GATHER", c_name=("NAME_TRANSPOSE", 8),
         derivatives={"self": "transpose(grad, dim0, dim1)"}),
    dict(name="t", torch="TBackward0", inputs=("self",), saved=(), ctx=None,
         kernel=("TT_GATHER", "TT_VIEW"), c_name=("NAME_T", 15),
         derivatives={"self": "t(grad)"}),
    dict(name="permute", torch="PermuteBackward0", inputs=("self",), saved=(), ctx="dims",
         kernel="TT_GATHER", c_name=("NAME_PERMUTE", 9),
         derivatives={"self": "permute(grad, invert_permutation(dims))"}),
    dict(name="expand", torch="ExpandBackward0", inputs=("self",), saved=(), ctx="self_sizes",
         kernel="TT_GATHER", c_name=("NAME_EXPAND", 11),
         derivatives={"self": "sum_to(grad, self)"}),
    # clone: compiled, a copy times 1.0 (exact) named CloneBackward0
    dict(name="clone", torch="CloneBackward0", inputs=("self",), saved=(), ctx=None,
         kernel="TT_MUL_C", c_name=("NAME_CLONE", 18),
         derivatives={"self": "grad"}),
    dict(name="alias", torch="AliasBackward0", inputs=("self",), saved=(), ctx=None,
         kernel=None,
         derivatives={"self": "grad"}),
    # drift: the compiled engine shows no name for a cast today ("Backward")
    dict(name="to_copy", torch="ToCopyBackward0", c_torch="Backward", inputs=("self",),
         saved=(), ctx=None, kernel="TT_CAST",
         derivatives={"self": "grad"}),
    dict(name="select", torch="SelectBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "index"), kernel="TT_GATHER", c_name=("NAME_SELECT", 7),
         derivatives={"self": "select_backward(grad, self_sizes, index)"}),
    dict(name="unbind", torch="UnbindBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "index"), kernel="TT_GATHER", c_name=("NAME_UNBIND", 45),
         derivatives={"self": "select_backward(grad, self_sizes, index)"}),
    dict(name="slice", torch="SliceBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "index"), kernel="TT_GATHER",
         derivatives={"self": "select_backward(grad, self_sizes, index)"}),
    dict(name="index", torch="IndexBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "indices"), kernel=("TT_GATHER", "TT_INDEX"),
         c_name=("NAME_INDEX", 21),
         derivatives={"self": "index_backward(grad, self_sizes, indices)"}),
    # -- indexing functions (compiled: TT_INDEX / TT_WHERE, csrc/tg_index.c) ------------
    dict(name="index_select", torch="IndexSelectBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "indices"), kernel="TT_INDEX",
         derivatives={"self": "index_backward(grad, self_sizes, indices)"}),
    # gather and take_along_dim (torch records take_along_dim as a gather)
    dict(name="gather", torch="GatherBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "indices"), kernel="TT_INDEX", c_name=("NAME_GATHER", 22),
         derivatives={"self": "index_backward(grad, self_sizes, indices)"}),
    dict(name="masked_select", torch="MaskedSelectBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "indices"), kernel="TT_INDEX", c_name=("NAME_MASKED_SELECT", 23),
         derivatives={"self": "index_backward(grad, self_sizes, indices)"}),
    dict(name="embedding", torch="EmbeddingBackward0", inputs=("weight",), saved=(),
         ctx=("weight_sizes", "indices", "padding_idx"), kernel="TT_INDEX",
         c_name=("NAME_EMBEDDING", 24),
         derivatives={"weight": "embedding_backward(grad, weight_sizes, indices, "
                                "padding_idx)"}),
    dict(name="where", torch="WhereBackward0", inputs=("self", "other"), saved=(),
         ctx="condition", ctx_arrays=("condition",), kernel="TT_WHERE",
         derivatives={"self": "sum_to(where(condition, grad, 0), self)",
                      "other": "sum_to(where(condition, 0, grad), other)"}),
    dict(name="masked_fill", torch="MaskedFillBackward0", inputs=("self",), saved=(),
         ctx="mask", ctx_arrays=("mask",), kernel="TT_WHERE", c_name=("NAME_MASKED_FILL", 25),
         derivatives={"self": "sum_to(where(mask, 0, grad), self)"}),
    dict(name="masked_fill_tensor", torch="MaskedFillBackward1", inputs=("self", "value"),
         saved=(), ctx="mask", ctx_arrays=("mask",), kernel="TT_WHERE",
         c_name=("NAME_MASKED_FILL_TENSOR", 26),
         derivatives={"self": "sum_to(where(mask, 0, grad), self)",
                      "value": "sum_to(where(mask, grad, 0), value)"}),
    # -- in-place writes on graph tensors: the result of a where(mask, src, self) --------
    # (fill_ and zero_ list self first: a number's slot comes last; the compiled node's
    # parents are (constant, self), its backward the C kernel's)
    # x[key] = src: CopySlices for a basic key, IndexPutBackward0 for an advanced one
    dict(name="copy_slices", torch="CopySlices", inputs=("src", "self"), saved=(), ctx="mask",
         ctx_arrays=("mask",), kernel="TT_WHERE", c_name=("NAME_COPY_SLICES", 27),
         derivatives={"src": "where(mask, grad, 0)", "self": "where(mask, 0, grad)"}),
    dict(name="index_put", torch="IndexPutBackward0", inputs=("src", "self"), saved=(),
         ctx="mask", ctx_arrays=("mask",), kernel="TT_WHERE", c_name=("NAME_INDEX_PUT", 28),
         derivatives={"src": "where(mask, grad, 0)", "self": "where(mask, 0, grad)"}),
    dict(name="copy_", torch="CopyBackwards", inputs=("src", "self"), saved=(), ctx="mask",
         ctx_arrays=("mask",), kernel="TT_WHERE", c_name=("NAME_COPY", 29),
         derivatives={"src": "sum_to(where(mask, grad, 0), src)",
                      "self": "where(mask, 0, grad)"}),
    dict(name="fill_", torch="FillBackward2", inputs=("self", None), saved=(), ctx="mask",
         ctx_arrays=("mask",), kernel="TT_WHERE", c_name=("NAME_FILL", 30),
         derivatives={"self": "where(mask, 0, grad)"}),
    dict(name="zero_", torch="ZeroBackward0", inputs=("self", None), saved=(), ctx="mask",
         ctx_arrays=("mask",), kernel="TT_WHERE", c_name=("NAME_ZERO", 31),
         derivatives={"self": "where(mask, 0, grad)"}),
    # -- compiled-only shape/linalg names -------------------------------------------
    # vector @ matrix: torch records it as unsqueeze, mm, squeeze (SqueezeBackward4)
    dict(name="vm", torch="SqueezeBackward4", c_torch="MvBackward0", inputs=("self", "mat2"),
         saved=("self", "mat2"), ctx=None, kernel="TT_MM", c_name=("NAME_VM", 10),
         reference=False,
         derivatives={"self": "mv(mat2, grad)", "mat2": "outer(self, grad)"}),
    # -- losses ----------------------------------------------------------------
    dict(name="mse_loss", torch="MseLossBackward0", inputs=("self", "target"),
         saved=("self", "target"), ctx="reduction", kernel="TT_MSE",
         derivatives={
             "self": "sum_to(mse_loss_backward(grad, self, target, reduction), self)",
             "target": "sum_to(mse_loss_backward(grad, target, self, reduction), target)"}),
    # compiled: pick (TT_PICK), neg, then mean / sum: the last node named NllLossBackward0
    # and shown as one node whose next function is the input's (as _addmm's two slots)
    dict(name="nll_loss", torch="NllLossBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "key", "rows", "weight", "total_weight", "reduction"),
         kernel=("TT_MEAN", "TT_SUM", "TT_NEG"), c_name=("NAME_NLL_LOSS", 20),
         derivatives={"self": "nll_loss_backward(grad, self_sizes, key, rows, weight, "
                              "total_weight, reduction)"}),
    # cross entropy's pick (compiled: nll_loss = -pick(log_softmax(x), target))
    dict(name="pick", torch="GatherBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "key"), kernel="TT_PICK", reference=False,
         derivatives={"self": "index_backward(grad, self_sizes, key)"}),
    # compiled: TT_BCE without weight= (a node holds two operands; with weight, composed)
    dict(name="binary_cross_entropy", torch="BinaryCrossEntropyBackward0",
         inputs=("self", "target"), saved=("self", "target"), ctx=("reduction", "weight"),
         kernel="TT_BCE",
         derivatives={
             "self": "binary_cross_entropy_backward(grad, self, target, weight, reduction)",
             "target": "binary_cross_entropy_target_backward(grad, self, target, weight, "
                       "reduction)"}),
    # -- issue 11 item 5: elementwise functions (csrc/tg_math.c) -------------------
    dict(name="sin", torch="SinBackward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_SIN", derivatives={"self": "grad * cos(self)"}),
    dict(name="cos", torch="CosBackward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_COS", derivatives={"self": "grad * -sin(self)"}),
    dict(name="tan", torch="TanBackward0", inputs=("self",), saved=("result",), ctx=None,
         kernel="TT_TAN", derivatives={"self": "grad * (1 + result * result)"}),
    dict(name="log10", torch="Log10Backward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_LOG10", derivatives={"self": "grad / (self * 2.302585092994045684)"}),
    dict(name="log2", torch="Log2Backward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_LOG2", derivatives={"self": "grad / (self * 0.693147180559945309)"}),
    dict(name="log1p", torch="Log1PBackward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_LOG1P", derivatives={"self": "grad / (self + 1)"}),
    dict(name="expm1", torch="Expm1Backward0", inputs=("self",), saved=("result",), ctx=None,
         kernel="TT_EXPM1", derivatives={"self": "grad * (result + 1)"}),
    dict(name="rsqrt", torch="RsqrtBackward0", inputs=("self",), saved=("result",), ctx=None,
         kernel="TT_RSQRT", derivatives={"self": "-0.5 * grad * (result * result * result)"}),
    dict(name="sign", torch="SignBackward0", inputs=("self",), saved=(), ctx=None,
         kernel="TT_SIGN", derivatives={"self": "zeros_like(grad)"}),
    dict(name="floor", torch="FloorBackward0", inputs=("self",), saved=(), ctx=None,
         kernel="TT_FLOOR", derivatives={"self": "zeros_like(grad)"}),
    dict(name="ceil", torch="CeilBackward0", inputs=("self",), saved=(), ctx=None,
         kernel="TT_CEIL", derivatives={"self": "zeros_like(grad)"}),
    dict(name="round", torch="RoundBackward0", inputs=("self",), saved=(), ctx=None,
         kernel="TT_ROUND", derivatives={"self": "zeros_like(grad)"}),
    dict(name="maximum", torch="MaximumBackward0", inputs=("self", "other"),
         saved=("self", "other"), ctx=None, kernel="TT_MAXIMUM",
         derivatives={
             "self": "sum_to(where(self == other, grad / 2, where(self < other, 0, grad)), self)",
             "other": "sum_to(where(self == other, grad / 2, where(self > other, 0, grad)), "
                      "other)"}),
    dict(name="minimum", torch="MinimumBackward0", inputs=("self", "other"),
         saved=("self", "other"), ctx=None, kernel="TT_MINIMUM",
         derivatives={
             "self": "sum_to(where(self == other, grad / 2, where(self > other, 0, grad)), self)",
             "other": "sum_to(where(self == other, grad / 2, where(self < other, 0, grad)), "
                      "other)"}),
    # -- reductions along a dim (dim None: all elements) -----------------------------
    dict(name="logsumexp", torch="LogsumexpBackward0", inputs=("self",),
         saved=("self", "result"), ctx=("dim", "keepdim"), kernel="TT_LOGSUMEXP",
         derivatives={"self": "logsumexp_backward(grad, self, result, dim, keepdim)"}),
    dict(name="var", torch="VarBackward0", inputs=("self",), saved=("self",),
         ctx=("dim", "correction", "keepdim"), kernel="TT_VAR",
         derivatives={"self": "var_backward(grad, self, dim, correction, keepdim)"}),
    dict(name="std", torch="StdBackward0", inputs=("self",), saved=("self", "result"),
         ctx=("dim", "correction", "keepdim"), kernel="TT_VAR", c_name=("NAME_STD", 40),
         derivatives={"self": "var_backward(where(result == 0, 0, grad / (2 * result)), self, "
                              "dim, correction, keepdim)"}),
    dict(name="norm", torch="LinalgVectorNormBackward0", inputs=("self",),
         saved=("self", "result"), ctx=("p", "dim", "keepdim"), kernel="TT_NORM",
         derivatives={"self": "norm_backward(grad, self, p, result, dim, keepdim)"}),
    dict(name="prod", torch="ProdBackward0", inputs=("self",), saved=("self", "result"),
         ctx=("dim", "keepdim"), kernel="TT_PROD",
         derivatives={"self": "prod_backward(grad, self, result, dim, keepdim)"}),
    dict(name="prod_dim", torch="ProdBackward1", inputs=("self",), saved=("self", "result"),
         ctx=("dim", "keepdim"), kernel="TT_PROD", c_name=("NAME_PROD_DIM", 41),
         derivatives={"self": "prod_backward(grad, self, result, dim, keepdim)"}),
    dict(name="cumsum", torch="CumsumBackward0", inputs=("self",), saved=(), ctx="dim",
         kernel="TT_CUMSUM", derivatives={"self": "cumsum_backward(grad, dim)"}),
    # -- shapes: a k-tensor cat / stack is a tree of two-operand nodes ---------------
    dict(name="cat", torch="CatBackward0", inputs=("self", "other"), saved=(),
         ctx=("dim", "self_size", "other_size"), kernel="TT_CAT",
         derivatives={"self": "slice_along(grad, dim, 0, self_size)",
                      "other": "slice_along(grad, dim, self_size, other_size)"}),
    dict(name="stack", torch="StackBackward0", inputs=("self", "other"), saved=(),
         ctx=("dim", "self_size", "other_size"), kernel="TT_CAT", c_name=("NAME_STACK", 42),
         derivatives={"self": "slice_along(grad, dim, 0, self_size)",
                      "other": "slice_along(grad, dim, self_size, other_size)"}),
    dict(name="split", torch="SplitBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "index"), kernel="TT_GATHER", c_name=("NAME_SPLIT", 43),
         derivatives={"self": "select_backward(grad, self_sizes, index)"}),
    dict(name="split_with_sizes", torch="SplitWithSizesBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "index"), kernel="TT_GATHER", c_name=("NAME_SPLIT_WITH_SIZES", 44),
         derivatives={"self": "select_backward(grad, self_sizes, index)"}),
    dict(name="flip", torch="FlipBackward0", inputs=("self",), saved=(), ctx="dims",
         kernel="TT_GATHER", c_name=("NAME_FLIP", 46),
         derivatives={"self": "flip(grad, dims)"}),
    dict(name="roll", torch="RollBackward0", inputs=("self",), saved=(), ctx=("shifts", "dims"),
         kernel="TT_ROLL", derivatives={"self": "roll_backward(grad, shifts, dims)"}),
    dict(name="repeat", torch="RepeatBackward0", inputs=("self",), saved=(),
         ctx=("repeats", "self_sizes"), kernel="TT_TILE",
         derivatives={"self": "repeat_backward(grad, repeats, self_sizes)"}),
    dict(name="sort", torch="SortBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "dim", "indices"), kernel="TT_TAKE",
         derivatives={"self": "take_along_backward(grad, self_sizes, dim, indices)"}),
    dict(name="topk", torch="TopkBackward0", inputs=("self",), saved=(),
         ctx=("self_sizes", "dim", "indices"), kernel="TT_TAKE", c_name=("NAME_TOPK", 47),
         derivatives={"self": "take_along_backward(grad, self_sizes, dim, indices)"}),
    # -- issue 12: activations, losses and pad (csrc/tg_activation.c) ----------------
    dict(name="erf", torch="ErfBackward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_ERF",
         derivatives={"self": "1.1283791670955126 * exp(-(self * self)) * grad"}),
    # torch's gelu_backward; 0.3989422804014327 = M_2_SQRTPI * M_SQRT1_2 * 0.5 and
    # 0.7978845608028654 = M_SQRT2 * M_2_SQRTPI * 0.5
    dict(name="gelu", torch="GeluBackward0", inputs=("self",), saved=("self",),
         ctx="approximate", kernel="TT_GELU",
         derivatives={"self": "where(approximate == 'tanh', grad * (0.5 * (1 + tanh("
                              "0.7978845608028654 * (self + 0.044715 * (self * self * self)))) "
                              "+ 0.5 * self * (1 - tanh(0.7978845608028654 * (self + 0.044715 "
                              "* (self * self * self))) * tanh(0.7978845608028654 * (self + "
                              "0.044715 * (self * self * self)))) * (0.7978845608028654 * (1 + "
                              "3 * 0.044715 * (self * self)))), grad * (0.5 * (1 + erf(self * "
                              "0.7071067811865476)) + self * (0.3989422804014327 * exp(self * "
                              "self * -0.5))))"}),
    dict(name="silu", torch="SiluBackward0", inputs=("self",), saved=("self",), ctx=None,
         kernel="TT_SILU",
         derivatives={"self": "grad * (1 / (1 + exp(-self))) * (1 + self * (1 - 1 / (1 + "
                              "exp(-self))))"}),
    dict(name="leaky_relu", torch="LeakyReluBackward0", inputs=("self",), saved=("self",),
         ctx="negative_slope", kernel="TT_LEAKY_RELU",
         derivatives={"self": "where(self > 0, grad, grad * negative_slope)"}),
    dict(name="elu", torch="EluBackward0", inputs=("self",), saved=("self",), ctx="alpha",
         kernel="TT_ELU",
         derivatives={"self": "where(self <= 0, grad * alpha * exp(self), grad)"}),
    dict(name="softplus", torch="SoftplusBackward0", inputs=("self",), saved=("self",),
         ctx=("beta", "threshold"), kernel="TT_SOFTPLUS",
         derivatives={"self": "where(self * beta > threshold, grad, grad * exp(self * beta) / "
                              "(exp(self * beta) + 1))"}),
    dict(name="smooth_l1_loss", torch="SmoothL1LossBackward0", inputs=("self", "target"),
         saved=("self", "target"), ctx=("reduction", "beta"), kernel="TT_SMOOTH_L1",
         derivatives={"self": "smooth_l1_backward(grad, self, target, reduction, beta)",
                      "target": "smooth_l1_backward(grad, target, self, reduction, beta)"}),
    dict(name="huber_loss", torch="HuberLossBackward0", inputs=("self", "target"),
         saved=("self", "target"), ctx=("reduction", "delta"), kernel="TT_SMOOTH_L1",
         c_name=("NAME_HUBER_LOSS", 48),
         derivatives={"self": "huber_backward(grad, self, target, reduction, delta)",
                      "target": "huber_backward(grad, target, self, reduction, delta)"}),
    # weight and pos_weight: constants broadcast to the input's shape (torch refuses them
    # with requires_grad)
    dict(name="binary_cross_entropy_with_logits",
         torch="BinaryCrossEntropyWithLogitsBackward0", inputs=("self", "target"),
         saved=("self", "target"), ctx=("weight", "pos_weight", "reduction"),
         kernel="TT_BCE_LOGITS",
         derivatives={
             "self": "bce_logits_backward(grad, self, target, weight, pos_weight, reduction)",
             "target": "bce_logits_target_backward(grad, self, target, weight, pos_weight, "
                       "reduction)"}),
    # pad: torch's pad tuple (last dim first, (before, after) pairs)
    dict(name="constant_pad_nd", torch="ConstantPadNdBackward0", inputs=("self",), saved=(),
         ctx="pad", kernel="TT_PAD",
         derivatives={"self": "constant_pad(grad, pad)"}),
    # -- issue 12 item 4: normalisation (csrc/tg_norm.c). Compiled only: the reference
    # composes F.batch_norm / F.layer_norm from the ops above. The compiled node is
    # xhat * weight; a bias is a second slot (the TT_ADDMM add) shown as the same node.
    dict(name="native_batch_norm", torch="NativeBatchNormBackward0", inputs=("self", "weight"),
         saved=("self", "weight"), ctx=("dims", "eps", "stats", "layer"),
         kernel="TT_BATCH_NORM", reference=False,
         derivatives={"self": "normalize_backward(grad, self, weight, dims, eps, stats, "
                              "layer)",
                      "weight": "normalize_weight_backward(grad, self, weight, dims, eps, "
                                "stats, layer)"}),
    dict(name="native_layer_norm", torch="NativeLayerNormBackward0", inputs=("self", "weight"),
         saved=("self", "weight"), ctx=("dims", "eps", "stats", "layer"),
         kernel="TT_LAYER_NORM", reference=False,
         derivatives={"self": "normalize_backward(grad, self, weight, dims, eps, stats, "
                              "layer)",
                      "weight": "normalize_weight_backward(grad, self, weight, dims, eps, "
                                "stats, layer)"}),
    dict(name="batch_norm_bias", torch="NativeBatchNormBackward0", inputs=("self", "other"),
         saved=(), ctx=None, kernel="TT_ADDMM", c_name=("NAME_BATCH_NORM", 49), reference=False,
         derivatives={"self": "sum_to(grad, self)", "other": "sum_to(grad, other)"}),
    dict(name="layer_norm_bias", torch="NativeLayerNormBackward0", inputs=("self", "other"),
         saved=(), ctx=None, kernel="TT_ADDMM", c_name=("NAME_LAYER_NORM", 50),
         reference=False,
         derivatives={"self": "sum_to(grad, self)", "other": "sum_to(grad, other)"}),
)
