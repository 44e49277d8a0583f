"""Printing: str/repr of tensors exactly as torch 2.x prints them (with ``tapegrad.`` in
place of ``torch.``), format() of 0-d tensors, Size and dtype reprs.

REPRS was recorded from torch 2.13 (``str(torch_expr).replace("torch.", "tapegrad.")``);
``test_repr_table_is_torchs`` re-checks it against the installed torch, and
``test_random_tensors_print_like_torch`` compares random tensors live.
"""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

REPRS = [
    ('M.tensor(1.)',
     'tensor(1.)'),
    ('M.tensor(-2.)',
     'tensor(-2.)'),
    ('M.tensor(0.)',
     'tensor(0.)'),
    ('M.tensor(-0.)',
     'tensor(-0.)'),
    ('M.tensor(4.28, requires_grad=True)',
     'tensor(4.2800, requires_grad=True)'),
    ('M.tensor(0.8)',
     'tensor(0.8000)'),
    ('M.tensor(0.1)',
     'tensor(0.1000)'),
    ('M.tensor(1/3)',
     'tensor(0.3333)'),
    ('M.tensor(51.666666)',
     'tensor(51.6667)'),
    ('M.tensor(123456.7)',
     'tensor(123456.7031)'),
    ('M.tensor(1e9)',
     'tensor(1.0000e+09)'),
    ('M.tensor(1e-5)',
     'tensor(1.0000e-05)'),
    ('M.tensor(3.0, dtype=M.float64)',
     'tensor(3., dtype=tapegrad.float64)'),
    ('M.tensor(2.5, dtype=M.float64, requires_grad=True)',
     'tensor(2.5000, dtype=tapegrad.float64, requires_grad=True)'),
    ('M.tensor(5)',
     'tensor(5)'),
    ('M.tensor(-7)',
     'tensor(-7)'),
    ("M.tensor(float('nan'))",
     'tensor(nan)'),
    ("M.tensor(float('inf'))",
     'tensor(inf)'),
    ("M.tensor(float('-inf'))",
     'tensor(-inf)'),
    ('M.tensor([16., 24., 8.])',
     'tensor([16., 24.,  8.])'),
    ('M.tensor([6.6667, 9.3333, 12.])',
     'tensor([ 6.6667,  9.3333, 12.0000])'),
    ('M.tensor([20., 28., 36.])',
     'tensor([20., 28., 36.])'),
    ('M.tensor([0.84, 0.76, 1.92])',
     'tensor([0.8400, 0.7600, 1.9200])'),
    ('M.tensor([0.2515, -0.1228, 1.6257])',
     'tensor([ 0.2515, -0.1228,  1.6257])'),
    ('M.tensor([1., 2., 3.], requires_grad=True)',
     'tensor([1., 2., 3.], requires_grad=True)'),
    ('M.tensor([1, 2, 3])',
     'tensor([1, 2, 3])'),
    ('M.tensor([-1, 20, 300])',
     'tensor([ -1,  20, 300])'),
    ('M.tensor([0, -5])',
     'tensor([ 0, -5])'),
    ('M.tensor([[1, 2], [30, -4]])',
     'tensor([[ 1,  2],\n        [30, -4]])'),
    ('M.tensor([1e10, 1.])',
     'tensor([1.0000e+10, 1.0000e+00])'),
    ('M.tensor([1e-5, 1.])',
     'tensor([1.0000e-05, 1.0000e+00])'),
    ('M.tensor([1., 1000.])',
     'tensor([   1., 1000.])'),
    ('M.tensor([1., 1001.])',
     'tensor([1.0000e+00, 1.0010e+03])'),
    ('M.tensor([0.001, 10.])',
     'tensor([1.0000e-03, 1.0000e+01])'),
    ('M.tensor([0.5, 2000.])',
     'tensor([5.0000e-01, 2.0000e+03])'),
    ('M.tensor([1e8, 1.])',
     'tensor([1.0000e+08, 1.0000e+00])'),
    ('M.tensor([1.1e8])',
     'tensor([1.1000e+08])'),
    ('M.tensor([9.9e7, 1.5])',
     'tensor([9.9000e+07, 1.5000e+00])'),
    ('M.tensor([1e-4, 0.5])',
     'tensor([1.0000e-04, 5.0000e-01])'),
    ('M.tensor([9e-5, 0.5])',
     'tensor([9.0000e-05, 5.0000e-01])'),
    ('M.tensor([0., 1e-20])',
     'tensor([0.0000e+00, 1.0000e-20])'),
    ('M.tensor([-1e-3, 1.])',
     'tensor([-0.0010,  1.0000])'),
    ('M.tensor([123.456, -0.001])',
     'tensor([ 1.2346e+02, -1.0000e-03])'),
    ("M.tensor([float('nan'), float('inf'), -float('inf'), 1.])",
     'tensor([nan, inf, -inf, 1.])'),
    ("M.tensor([float('nan'), 1.5])",
     'tensor([   nan, 1.5000])'),
    ("M.tensor([float('inf'), 2.])",
     'tensor([inf, 2.])'),
    ("M.tensor([float('nan')])",
     'tensor([nan])'),
    ('M.tensor([1., 2.], dtype=M.float64)',
     'tensor([1., 2.], dtype=tapegrad.float64)'),
    ('M.tensor([1.5, -2.25], dtype=M.float64, requires_grad=True)',
     'tensor([ 1.5000, -2.2500], dtype=tapegrad.float64, requires_grad=True)'),
    ('M.tensor([[1., 2.], [3., 4.]], dtype=M.float64)',
     'tensor([[1., 2.],\n        [3., 4.]], dtype=tapegrad.float64)'),
    ('M.tensor([[1., 2.], [3., 4.]])',
     'tensor([[1., 2.],\n        [3., 4.]])'),
    ('M.tensor([[1.5, -2.25], [3.125, 4.]])',
     'tensor([[ 1.5000, -2.2500],\n        [ 3.1250,  4.0000]])'),
    ('M.tensor([[1e-6, 1.], [2., 3.]])',
     'tensor([[1.0000e-06, 1.0000e+00],\n        [2.0000e+00, 3.0000e+00]])'),
    ('M.tensor([[100., -1.], [0.5, 7.]], requires_grad=True)',
     'tensor([[100.0000,  -1.0000],\n        [  0.5000,   7.0000]], requires_grad=True)'),
    ('M.arange(24.).reshape(2, 3, 4)',
     'tensor([[[ 0.,  1.,  2.,  3.],\n         [ 4.,  5.,  6.,  7.],\n         [ 8.,  9., 10., 11.]],\n\n        [[12., 13., 14., 15.],\n         [16., 17., 18., 19.],\n         [20., 21., 22., 23.]]])'),
    ('M.ones(2, 1, 3)',
     'tensor([[[1., 1., 1.]],\n\n        [[1., 1., 1.]]])'),
    ('M.zeros(3)',
     'tensor([0., 0., 0.])'),
    ('M.zeros(2, 2, dtype=M.float64)',
     'tensor([[0., 0.],\n        [0., 0.]], dtype=tapegrad.float64)'),
    ('M.arange(6).reshape(2, 3)',
     'tensor([[0, 1, 2],\n        [3, 4, 5]])'),
    ('M.tensor([])',
     'tensor([])'),
    ('M.tensor([], dtype=M.float64)',
     'tensor([], dtype=tapegrad.float64)'),
    ('M.zeros(0, 3)',
     'tensor([], size=(0, 3))'),
    ('M.zeros(2, 0)',
     'tensor([], size=(2, 0))'),
    ('M.tensor([], requires_grad=True)',
     'tensor([], requires_grad=True)'),
    ('M.zeros(0, dtype=M.int64)',
     'tensor([], dtype=tapegrad.int64)'),
    ('M.tensor([-0., 0.])',
     'tensor([-0., 0.])'),
    ('M.tensor([1.0e-3, 1.0e-3])',
     'tensor([0.0010, 0.0010])'),
    ('M.tensor([12345678.])',
     'tensor([12345678.])'),
    ('M.tensor([0.1, 0.25, 1e3])',
     'tensor([1.0000e-01, 2.5000e-01, 1.0000e+03])'),
    ('M.tensor([[-1e5, 1e-5]])',
     'tensor([[-1.0000e+05,  1.0000e-05]])'),
    ('M.tensor([3.14159265, 2.71828183], dtype=M.float64)',
     'tensor([3.1416, 2.7183], dtype=tapegrad.float64)'),
    ('M.tensor([1e300, 1e-300], dtype=M.float64)',
     'tensor([1.0000e+300, 1.0000e-300], dtype=tapegrad.float64)'),
    ('M.tensor([2.0]) * M.tensor([3.0], requires_grad=True)',
     'tensor([6.], grad_fn=<MulBackward0>)'),
    ('M.tensor(2.0, requires_grad=True) ** 2',
     'tensor(4., grad_fn=<PowBackward0>)'),
    ('(M.tensor([1., 2., 3.], requires_grad=True) * 2 + 3) ** 2',
     'tensor([25., 49., 81.], grad_fn=<PowBackward0>)'),
    ('(M.tensor([1., 2., 3.], requires_grad=True) * 2 + 3).mean()',
     'tensor(7., grad_fn=<MeanBackward0>)'),
    ('M.tensor([[1., 2.], [3., 4.]], requires_grad=True).sum(0)',
     'tensor([4., 6.], grad_fn=<SumBackward1>)'),
    ('M.tensor([[1., 2.], [3., 4.]], dtype=M.float64, requires_grad=True) @ M.tensor([[1., 0.], [0., 1.]], dtype=M.float64)',
     'tensor([[1., 2.],\n        [3., 4.]], dtype=tapegrad.float64, grad_fn=<MmBackward0>)'),
    ('M.tensor([1., 2., 3.], requires_grad=True) @ M.tensor([2., 3., 1.])',
     'tensor(11., grad_fn=<DotBackward0>)'),
    ('M.tensor([0.5, -1.], requires_grad=True).exp()',
     'tensor([1.6487, 0.3679], grad_fn=<ExpBackward0>)'),
    ('M.tensor(3., requires_grad=True).detach()',
     'tensor(3.)'),
    ('M.arange(30.)',
     'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29.])'),
    ('M.arange(12.) * 1000.5',
     'tensor([    0.0000,  1000.5000,  2001.0000,  3001.5000,  4002.0000,  5002.5000,\n         6003.0000,  7003.5000,  8004.0000,  9004.5000, 10005.0000, 11005.5000])'),
    ('M.arange(40)',
     'tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n        36, 37, 38, 39])'),
    ('M.arange(30.).reshape(2, 15)',
     'tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n         14.],\n        [15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27., 28.,\n         29.]])'),
    ('M.arange(25, dtype=M.float64) / 12 - 1',
     'tensor([-1.0000, -0.9167, -0.8333, -0.7500, -0.6667, -0.5833, -0.5000, -0.4167,\n        -0.3333, -0.2500, -0.1667, -0.0833,  0.0000,  0.0833,  0.1667,  0.2500,\n         0.3333,  0.4167,  0.5000,  0.5833,  0.6667,  0.7500,  0.8333,  0.9167,\n         1.0000], dtype=tapegrad.float64)'),
    ('M.arange(6.).reshape(2, 3) - 2.5',
     'tensor([[-2.5000, -1.5000, -0.5000],\n        [ 0.5000,  1.5000,  2.5000]])'),
    ('M.tensor([[0.001, -1000.0]], dtype=M.float64, requires_grad=True) * 1',
     'tensor([[ 1.0000e-03, -1.0000e+03]], dtype=tapegrad.float64,\n       grad_fn=<MulBackward0>)'),
]


def _torch_str(torch, t):
    return str(t).replace("torch.", "tapegrad.")


def _join_suffixes(text):
    """torch moves ``dtype=``/``requires_grad=``/``grad_fn=`` to a new line when the last
    line would pass 80 characters; "tapegrad.float64" is 3 characters longer than
    "torch.float64", so near that width the two wrap differently. The fixed table above
    checks the wrapping itself; random tensors compare with the suffixes joined."""
    return re.sub(r",\n +(dtype=|requires_grad=|grad_fn=)", r", \1", text)


@pytest.mark.parametrize("expr,expected", REPRS, ids=[e for e, _ in REPRS])
def test_repr_like_torch(engine, expr, expected):
    t = eval(expr, {"M": engine})
    assert str(t) == expected
    assert repr(t) == expected


@pytest.mark.parametrize("expr,expected", REPRS, ids=[e for e, _ in REPRS])
def test_repr_table_is_torchs(torch, expr, expected):
    assert _torch_str(torch, eval(expr, {"M": torch})) == expected


def test_summarized_print_like_torch(engine):
    """More than 1000 elements: torch summarizes with '...' (3 items per edge)."""
    assert str(engine.arange(2000.0)) == (
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])")
    assert str(engine.arange(2000.0).reshape(40, 50)).startswith(
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 4.7000e+01, 4.8000e+01,\n"
        "         4.9000e+01],\n"
        "        [5.0000e+01, 5.1000e+01, 5.2000e+01,  ..., 9.7000e+01, 9.8000e+01,\n")


# values of many magnitudes, signs, integer-valued or not, a few non-finite
_ELEMENTS = st.one_of(
    st.integers(-300, 300).map(float),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.floats(-1e-3, 1e-3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 0.5, 1e9, -1e-7, 123456.789, math.inf, -math.inf, math.nan]),
)


@settings(max_examples=60)
@given(arr=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                   max_side=5), elements=_ELEMENTS),
       dtype=st.sampled_from(["float32", "float64"]),
       requires_grad=st.booleans())
def test_random_tensors_print_like_torch(engine, torch, arr, dtype, requires_grad):
    data = arr.tolist()
    if arr.size == 0:
        t = engine.zeros(*arr.shape, dtype=getattr(engine, dtype), requires_grad=requires_grad)
        tt = torch.zeros(*arr.shape, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    else:
        t = engine.tensor(data, dtype=getattr(engine, dtype), requires_grad=requires_grad)
        tt = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    assert _join_suffixes(str(t)) == _join_suffixes(_torch_str(torch, tt))


@settings(max_examples=30)
@given(arr=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2, min_side=1,
                                                 max_side=6),
                      elements=st.integers(-10 ** 6, 10 ** 6)))
def test_random_int_tensors_print_like_torch(engine, torch, arr):
    assert str(engine.tensor(arr.tolist())) == _torch_str(torch, torch.tensor(arr.tolist()))


def test_grad_fn_in_repr(engine):
    x = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert repr((x * 2 + 3) ** 2) == "tensor([25., 49., 81.], grad_fn=<PowBackward0>)"
    assert repr(((x * 2 + 3) ** 2).mean()) == "tensor(51.6667, grad_fn=<MeanBackward0>)"
    assert repr(x.sum()) == "tensor(6., grad_fn=<SumBackward0>)"
    assert repr(x @ engine.tensor([2.0, 3.0, 1.0])) == "tensor(11., grad_fn=<DotBackward0>)"
    assert repr(3 * engine.tensor(3.0, requires_grad=True) ** 2 + 2) == \
        "tensor(29., grad_fn=<AddBackward0>)"
    assert repr(x.grad) == "None"
    m = engine.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert repr(m.T * 1.5) == ("tensor([[1.5000, 4.5000],\n        [3.0000, 6.0000]], "
                               "grad_fn=<MulBackward0>)")


def test_format_0d_as_item(engine):
    w = engine.tensor(0.15, requires_grad=True)
    assert f"{w:.3f}" == "0.150"
    assert f"{w * 2:.8f}" == "0.30000001"           # float32: 0.3 -> 0.30000001
    assert f"{engine.tensor(-7.840000152587891)}" == "-7.840000152587891"
    assert f"{engine.tensor(3.0)}" == "3.0"
    assert f"{engine.tensor(5)}" == "5"
    assert f"{engine.tensor(5):03d}" == "005"
    assert f"{engine.tensor(2.5, dtype=engine.float64):+.2e}" == "+2.50e+00"
    assert "{:>8.2f}".format(engine.tensor(1.0)) == "    1.00"
    x = engine.tensor([1.0, 2.0])
    assert f"{x}" == str(x) == "tensor([1., 2.])"
    assert f"{x[0]}" == "1.0"


def test_size_repr_and_tuple_behaviour(engine):
    s = engine.zeros(2, 3).shape
    assert isinstance(s, engine.Size) and isinstance(s, tuple)
    assert repr(s) == "tapegrad.Size([2, 3])" and str(s) == "tapegrad.Size([2, 3])"
    assert s == (2, 3) and s[0] == 2 and s[-1] == 3 and len(s) == 2
    n, m = s
    assert (n, m) == (2, 3)
    assert repr(engine.tensor(1.0).shape) == "tapegrad.Size([])"
    assert repr(engine.zeros(0, 4).shape) == "tapegrad.Size([0, 4])"
    assert engine.zeros(2, 3).size() == s and engine.zeros(2, 3).size(1) == 3
    assert engine.zeros(2, 3).size(-1) == 3


def test_dtype_repr(engine):
    assert repr(engine.float32) == "tapegrad.float32" == str(engine.float32)
    assert repr(engine.float64) == "tapegrad.float64"
    assert repr(engine.int64) == "tapegrad.int64"
    assert engine.float32.is_floating_point and engine.float64.is_floating_point
    assert not engine.int64.is_floating_point
    assert engine.get_default_dtype() == engine.float32


def test_dtype_aliases(engine):
    assert engine.float is engine.float32 or engine.float == engine.float32
    assert engine.double is engine.float64 or engine.double == engine.float64
    assert engine.long is engine.int64 or engine.long == engine.int64
    assert engine.tensor([1.0], dtype=engine.double).dtype == engine.float64
