"""SGD, Adam, AdamW, RMSprop and Adagrad against torch 2.13's single-tensor path
(foreach=False) for each engine: 100-step trajectories bit for bit, parameter groups,
state_dict layout and resumption, option checks, and the state check before the C
kernel.

torch's CPU ``sqrt`` (MKL's vector sqrt) is not correctly rounded: about 0.6% of
inputs come out one ulp low. Our kernels round every square root correctly, so the
bit-for-bit comparisons run torch with ``Tensor.sqrt``/``sqrt_`` replaced by a
correctly rounded one (the ``exact_sqrt_torch`` fixture); every other operation is
torch's own. Against unpatched torch the trajectories agree to a few ulp."""

import numpy as np
import pytest

from _tensors import npy

STEPS = 100

# (optimizer, options): every option torch has for these optimizers' CPU path
CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1,
                     eps=1e-6)),
    ("RMSprop", dict(lr=0.01, maximize=True, weight_decay=0.01)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.05, eps=1e-6, maximize=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, kw in CASES]
SHAPES = [(5, 4), (5,), (37,)]


@pytest.fixture
def exact_sqrt_torch(torch, monkeypatch):
    """torch with a correctly rounded Tensor.sqrt / sqrt_ (see the module docstring)."""
    def sqrt(self):
        return torch.from_numpy(np.sqrt(self.detach().numpy()))

    def sqrt_(self):
        return self.copy_(sqrt(self))

    monkeypatch.setattr(torch.Tensor, "sqrt", sqrt)
    monkeypatch.setattr(torch.Tensor, "sqrt_", sqrt_)
    return torch


def _grad_of(p, k, np_dt):
    """A fixed gradient field: a function of the parameter's value and the step, in the
    parameter's dtype (the same on every side, so only the optimizers differ)."""
    target = np.linspace(-1, 1, p.size).reshape(p.shape).astype(np_dt)
    noise = np.cos(np.arange(p.size) * 0.7 + k).reshape(p.shape).astype(np_dt)
    return ((p - target) * np_dt(0.8) + np_dt(0.3) * noise).astype(np_dt)


def trajectory(M, optim, name, kwargs, dtype, steps=STEPS, groups=None):
    """Parameters after each step of ``optim.<name>`` driven by _grad_of."""
    np_dt = np.float32 if dtype == "float32" else np.float64
    rng = np.random.default_rng(7)
    params = [M.tensor(rng.standard_normal(s).astype(np_dt).tolist(), dtype=getattr(M, dtype),
                       requires_grad=True) for s in SHAPES]
    if M.__name__ == "torch":
        kwargs = dict(kwargs, foreach=False)
    opt = getattr(optim, name)(groups(params) if groups else params, **kwargs)
    out = []
    for k in range(steps):
        opt.zero_grad()
        for p in params:
            p.grad = M.tensor(_grad_of(npy(p), k, np_dt).tolist(), dtype=getattr(M, dtype))
        opt.step()
        out.append([npy(p) for p in params])
    return out, opt


def assert_same_trajectory(ours, theirs, exact=True, rtol=0.0):
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            if exact:
                assert np.array_equal(x, y), (f"step {k + 1}, parameter {i}: "
                                              f"{np.count_nonzero(x != y)} elements differ, "
                                              f"max {np.abs(x - y).max()}")
            else:
                np.testing.assert_allclose(x, y, rtol=rtol, atol=0,
                                           err_msg=f"step {k + 1}, parameter {i}")


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trajectory_bit_for_bit(engine, libs, exact_sqrt_torch, name, kwargs, dtype):
    torch = exact_sqrt_torch
    ours, _ = trajectory(engine, libs.optim, name, kwargs, dtype)
    theirs, _ = trajectory(torch, torch.optim, name, kwargs, dtype)
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trajectory_against_torchs_own_sqrt(engine, libs, torch, name, kwargs, dtype):
    """Unpatched torch: equal where no square root is taken (SGD), else within the
    drift of torch's one-ulp-low square roots over 100 steps."""
    ours, _ = trajectory(engine, libs.optim, name, kwargs, dtype)
    theirs, _ = trajectory(torch, torch.optim, name, kwargs, dtype)
    if name == "SGD":
        assert_same_trajectory(ours, theirs)
    else:
        assert_same_trajectory(ours, theirs, exact=False,
                               rtol=2e-5 if dtype == "float32" else 1e-13)


def test_engines_agree_bit_for_bit(libs):
    """The compiled and the reference engine run the same arithmetic."""
    import tapegrad
    import tapegrad.reference as R
    for name, kwargs in CASES:
        for dtype in ("float32", "float64"):
            c, _ = trajectory(tapegrad._engine, tapegrad.optim, name, kwargs, dtype, steps=30)
            r, _ = trajectory(R, R.optim, name, kwargs, dtype, steps=30)
            assert_same_trajectory(c, r)


class _ForeachTorch:
    """torch, but trajectory() leaves foreach=True in place (its name is not torch)."""
    __name__ = "torch-foreach"

    def __init__(self, torch):
        self._torch = torch

    def __getattr__(self, name):
        return getattr(self._torch, name)


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=IDS[::3])
def test_torch_foreach_path_agrees_with_its_single_tensor_path(torch, name, kwargs):
    """Our reference is torch's single-tensor path, its CPU default (foreach=None picks
    it for CPU tensors). Its foreach path gives the same bits on CPU for these cases
    (both use torch's own sqrt), so foreach=True would not change the comparison."""
    from torch.optim.optimizer import _default_to_fused_or_foreach
    assert _default_to_fused_or_foreach([torch.zeros(3)], False, False) == (False, False)
    for dtype in ("float32", "float64"):
        single, _ = trajectory(torch, torch.optim, name, kwargs, dtype)
        multi, _ = trajectory(_ForeachTorch(torch), torch.optim, name,
                              dict(kwargs, foreach=True), dtype)
        assert_same_trajectory(multi, single)


# ---------------------------------------------------------------------------- groups


def _two_groups(params):
    return [{"params": params[:1], "lr": 0.03, "weight_decay": 0.2},
            {"params": params[1:]}]


@pytest.mark.parametrize("name,kwargs", [("AdamW", dict(lr=0.01)), ("RMSprop", dict(lr=0.01)),
                                         ("Adagrad", dict(lr=0.1)),
                                         ("SGD", dict(lr=0.1, momentum=0.5))])
def test_param_groups_with_their_own_options(engine, libs, exact_sqrt_torch, name, kwargs):
    torch = exact_sqrt_torch
    ours, opt = trajectory(engine, libs.optim, name, kwargs, "float64", 30, _two_groups)
    theirs, topt = trajectory(torch, torch.optim, name, kwargs, "float64", 30, _two_groups)
    assert_same_trajectory(ours, theirs)
    assert [g["lr"] for g in opt.param_groups] == [0.03, kwargs["lr"]]
    assert [len(g["params"]) for g in opt.param_groups] == [1, 2]
    ours_keys = [sorted(g) for g in opt.param_groups]
    their_keys = [sorted(g) for g in topt.param_groups]
    assert ours_keys == their_keys


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "SGD"])
def test_add_param_group(engine, libs, torch, name):
    for M, optim in ((engine, libs.optim), (torch, torch.optim)):
        a = M.tensor([1.0, 2.0], requires_grad=True)
        b = M.tensor([3.0], requires_grad=True)
        opt = getattr(optim, name)([a], lr=0.5)
        opt.add_param_group({"params": b, "lr": 0.25})
        assert [g["lr"] for g in opt.param_groups] == [0.5, 0.25]
        assert opt.param_groups[1]["params"][0] is b
        assert set(opt.param_groups[1]) == set(opt.param_groups[0])
        with pytest.raises(ValueError, match="more than one parameter group"):
            opt.add_param_group({"params": [a]})
        with pytest.raises(TypeError):
            opt.add_param_group([b])


@pytest.mark.parametrize("name", ["AdamW", "RMSprop", "Adagrad"])
def test_zero_grad_sets_none(engine, libs, name):
    p = engine.tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(libs.optim, name)([p])
    (p * p).sum().backward()
    opt.zero_grad()
    assert p.grad is None
    (p * p).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert npy(p.grad).tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------------- state_dict

STATE_CASES = [("Adam", dict(amsgrad=True)), ("AdamW", dict()), ("RMSprop", dict()),
               ("RMSprop", dict(momentum=0.9, centered=True)), ("Adagrad", dict(lr_decay=0.1)),
               ("SGD", dict(lr=0.1, momentum=0.9))]


@pytest.mark.parametrize("name,kwargs", STATE_CASES,
                         ids=[f"{n}-{kw}" for n, kw in STATE_CASES])
def test_state_dict_layout_as_torch(engine, libs, exact_sqrt_torch, name, kwargs):
    torch = exact_sqrt_torch
    _, opt = trajectory(engine, libs.optim, name, kwargs, "float32", steps=3,
                        groups=_two_groups)
    _, topt = trajectory(torch, torch.optim, name, kwargs, "float32", steps=3,
                         groups=_two_groups)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd) == list(tsd) == ["state", "param_groups"]
    assert list(sd["state"]) == list(tsd["state"]) == [0, 1, 2]
    for i in range(3):
        st, tst = sd["state"][i], tsd["state"][i]
        assert list(st) == list(tst)
        for key in st:
            assert str(st[key].dtype).split(".")[-1] == str(tst[key].dtype).split(".")[-1], key
            assert np.array_equal(npy(st[key]), npy(tst[key])), key
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        tg = dict(tg, foreach=None)                     # we were asked foreach=False
        assert list(g) == list(tg)
        assert g == tg


@pytest.mark.parametrize("name,kwargs", STATE_CASES,
                         ids=[f"{n}-{kw}" for n, kw in STATE_CASES])
def test_load_state_dict_resumes(engine, libs, name, kwargs):
    whole, _ = trajectory(engine, libs.optim, name, kwargs, "float64", steps=10)
    first, opt = trajectory(engine, libs.optim, name, kwargs, "float64", steps=5)
    sd = opt.state_dict()
    np_dt = np.float64
    params = [engine.tensor(x.tolist(), dtype=engine.float64, requires_grad=True)
              for x in first[-1]]
    opt2 = getattr(libs.optim, name)(params, **kwargs)
    opt2.load_state_dict(sd)
    for k in range(5, 10):
        opt2.zero_grad()
        for p in params:
            p.grad = engine.tensor(_grad_of(npy(p), k, np_dt).tolist(), dtype=engine.float64)
        opt2.step()
        assert_same_trajectory([[npy(p) for p in params]], [whole[k]])
    # loading copied the state: the first optimizer's tensors did not move
    assert not any(opt2.state[p] is s for p in params for s in opt.state.values())


def test_load_state_dict_casts_to_the_parameter_dtype(engine, libs):
    p = engine.tensor([1.0, 2.0], dtype=engine.float32, requires_grad=True)
    opt = libs.optim.AdamW([p])
    (p * p).sum().backward()
    opt.step()
    sd = opt.state_dict()
    q = engine.tensor([1.0, 2.0], dtype=engine.float64, requires_grad=True)
    opt2 = libs.optim.AdamW([q])
    opt2.load_state_dict(sd)
    assert opt2.state[q]["exp_avg"].dtype == engine.float64
    assert opt2.state[q]["step"].dtype == engine.float32          # "step" stays as saved
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt2.load_state_dict({"state": {}, "param_groups": []})


# ---------------------------------------------------------------------------- checks

BAD = [("AdamW", dict(lr=-1.0), "Invalid learning rate: -1.0"),
       ("AdamW", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
       ("AdamW", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
       ("AdamW", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
       ("RMSprop", dict(alpha=-0.5), "Invalid alpha value: -0.5"),
       ("RMSprop", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
       ("Adagrad", dict(lr_decay=-1.0), "Invalid lr_decay value: -1.0"),
       ("Adagrad", dict(initial_accumulator_value=-1.0),
        "Invalid initial_accumulator_value value: -1.0"),
       ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum")]


@pytest.mark.parametrize("name,kwargs,message", BAD, ids=[f"{n}-{kw}" for n, kw, _ in BAD])
def test_invalid_options_as_torch(engine, libs, torch, name, kwargs, message):
    for M, optim in ((engine, libs.optim), (torch, torch.optim)):
        with pytest.raises(ValueError, match=message.replace("(", r"\(")[:30]):
            getattr(optim, name)([M.tensor([1.0], requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name,kwargs,key", [
    ("AdamW", dict(), "exp_avg"), ("Adam", dict(amsgrad=True), "max_exp_avg_sq"),
    ("RMSprop", dict(), "square_avg"), ("RMSprop", dict(momentum=0.5), "momentum_buffer"),
    ("RMSprop", dict(centered=True), "grad_avg"), ("Adagrad", dict(), "sum")])
def test_state_checked_before_the_kernel(engine, libs, name, kwargs, key):
    """State made for another shape or dtype of its parameter is refused (the kernel
    indexes it by the parameter's elements), naming the optimizer and the state."""
    p = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = getattr(libs.optim, name)([p], **kwargs)
    (p * p).sum().backward()
    opt.step()
    before = npy(p)
    for bad in (engine.zeros(2), engine.zeros(3, dtype=engine.float64), [0.0, 0.0, 0.0]):
        opt.state[p][key] = bad
        with pytest.raises(RuntimeError, match=rf"step\(\): the state '{key}'"):
            opt.step()
        assert npy(p).tolist() == before.tolist()


def test_repr_as_torch(engine, libs, torch):
    for name in ("AdamW", "RMSprop", "Adagrad"):
        ours = getattr(libs.optim, name)([engine.tensor([1.0], requires_grad=True)])
        theirs = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)])
        assert repr(ours) == repr(theirs)
