"""optim.lr_scheduler against torch 2.13: the learning rates (and OneCycleLR's
momenta) of 40 epochs exactly, state_dict keys and resumption, torch's warnings."""

import math
import warnings

import pytest

SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 25], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=40)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e / (1 + e))),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=41)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=9, pct_start=0.25,
                        anneal_strategy="linear", three_phase=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)]
EPOCHS = 40


def _optimizer(M, optim, opt_name="SGD"):
    a = M.tensor([1.0, 2.0], requires_grad=True)
    b = M.tensor([3.0], requires_grad=True)
    kw = dict(momentum=0.9) if opt_name == "SGD" else {}
    return getattr(optim, opt_name)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1,
                                    **kw)


def _run(M, optim, name, kwargs, opt_name="SGD", epochs=EPOCHS):
    opt = _optimizer(M, optim, opt_name)
    sched = getattr(optim.lr_scheduler, name)(opt, **kwargs)
    seen = [(list(sched.get_last_lr()), _momenta(opt))]
    for _ in range(epochs):
        opt.step()
        sched.step()
        seen.append((list(sched.get_last_lr()), _momenta(opt)))
    return seen, sched, opt


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=IDS)
@pytest.mark.parametrize("opt_name", ["SGD", "AdamW"])
def test_schedule_equals_torch(engine, libs, torch, name, kwargs, opt_name):
    ours, sched, opt = _run(engine, libs.optim, name, kwargs, opt_name)
    theirs, tsched, topt = _run(torch, torch.optim, name, kwargs, opt_name)
    assert ours == theirs
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert sorted(sched.state_dict()) == sorted(tsched.state_dict())
    assert sorted(opt.param_groups[0]) == sorted(topt.param_groups[0])


@pytest.mark.parametrize("name,kwargs", SCHEDULERS[:-3], ids=IDS[:-3])
def test_state_dict_resumes(engine, libs, name, kwargs):
    whole, _, _ = _run(engine, libs.optim, name, kwargs)
    first, sched, opt = _run(engine, libs.optim, name, kwargs, epochs=15)
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 15
    opt2 = _optimizer(engine, libs.optim)
    opt2.load_state_dict(opt.state_dict())
    sched2 = getattr(libs.optim.lr_scheduler, name)(opt2, **kwargs)
    sched2.load_state_dict(sd)
    for g2, g in zip(opt2.param_groups, opt.param_groups):
        g2["lr"] = g["lr"]
    for e in range(15, EPOCHS):
        opt2.step()
        sched2.step()
        assert sched2.get_last_lr() == whole[e + 1][0]


def test_lambda_state_dict_keeps_callable_objects(engine, libs, torch):
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    for M, optim in ((engine, libs.optim), (torch, torch.optim)):
        sched = optim.lr_scheduler.LambdaLR(_optimizer(M, optim), [lambda e: 1.0, Decay()])
        sd = sched.state_dict()
        assert sd["lr_lambdas"] == [None, {"rate": 0.5}]


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("max", "abs")])
def test_reduce_on_plateau_equals_torch(engine, libs, torch, mode, threshold_mode):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9,
               0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    if mode == "max":
        metrics = [-m for m in metrics]
    runs = []
    for M, optim in ((engine, libs.optim), (torch, torch.optim)):
        opt = _optimizer(M, optim)
        sched = optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode=mode, factor=0.5, patience=2, threshold_mode=threshold_mode,
            cooldown=1, min_lr=[0.01, 0.02])
        lrs = []
        for m in metrics:
            opt.step()
            sched.step(M.tensor(m))                 # a 0-d tensor metric
            lrs.append(sched.get_last_lr())
        runs.append((lrs, sched.best, sched.num_bad_epochs, sorted(sched.state_dict())))
    assert runs[0] == runs[1]
    assert runs[0][0][-1] == [0.01, 0.02]          # floored at min_lr


def test_warnings_as_torch(engine, libs, torch):
    for M, optim in ((engine, libs.optim), (torch, torch.optim)):
        sched = optim.lr_scheduler.StepLR(_optimizer(M, optim), step_size=2)
        with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer"):
            sched.step()
        with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
            sched.get_lr()
        with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step"):
            sched.step(5)
        assert sched.get_last_lr() == [0.1 * 0.1 ** 2, 0.05 * 0.1 ** 2]   # closed form
        sched = optim.lr_scheduler.ExponentialLR(_optimizer(M, optim), gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sched.optimizer.step()
            sched.step()


def test_errors_as_torch(engine, libs, torch):
    for M, optim in ((engine, libs.optim), (torch, torch.optim)):
        opt = _optimizer(M, optim)
        with pytest.raises(TypeError, match="is not an Optimizer"):
            optim.lr_scheduler.StepLR(object(), 2)
        with pytest.raises(KeyError, match="initial_lr"):
            optim.lr_scheduler.StepLR(opt, 2, last_epoch=3)
        with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
            optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
        with pytest.raises(ValueError, match="total_steps OR"):
            optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1)
        with pytest.raises(ValueError, match="Factor should be < 1.0"):
            optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
        one = optim.lr_scheduler.OneCycleLR(_optimizer(M, optim), max_lr=0.1, total_steps=2)
        one.optimizer.step()
        one.step()
        one.step()
        with pytest.raises(ValueError, match="Tried to step 3 times"):
            one.step()


def test_cosine_closed_form(engine, libs):
    opt = _optimizer(engine, libs.optim)
    sched = libs.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    for e in range(1, 11):
        opt.step()
        sched.step()
        want = 0.1 * (1 + math.cos(math.pi * e / 10)) / 2
        assert abs(sched.get_last_lr()[0] - want) < 1e-15
