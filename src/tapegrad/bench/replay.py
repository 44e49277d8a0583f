"""Replay workloads (``tapegrad.compile`` / ``tapegrad.record``): each
engine's replay timed against the same engine eager, in one process.

Labels: ``c`` / ``reference`` for eager, ``c replay`` / ``reference replay``
for the replay (the reference's replay runs fn again on every call). The first
call of a replay records fn: it is timed apart (``record``) and left out of the
per-step figures.

demo-replay
    The demo step replayed: ``model.zero_grad(); loss = step(Xb, yb)`` then
    the SGD update, with ``step = compile(fn)``, ``fn(Xb, yb)`` building the
    demo's loss (without the accuracy, which would read ``.data`` and become a
    guard) from X as a list of lists of floats and y as a list of floats (fn
    receives them as Values; the eager rows wrap them in Values too, so both
    build the same graph). Two neuron styles: ``ops``, micrograd's own neuron
    ``sum((wi*xi for wi, xi in zip(w, x)), b)`` (a node per op, ~65k nodes,
    as micrograd's demo step), and ``dot``, the demo's ``engine.dot(w, x) + b``
    (~10.5k nodes). Reports ms per step (``step``) and ms per call of the
    replay alone, forward + backward without the Python loops of zero_grad
    and update (``call``; for eager rows the forward + backward), against
    micrograd with its gc off (micrograd's demo step, i.e. the ``ops`` style).
    The replay's loss at every step and after the last update must equal the
    eager run's (relative difference <= 1e-12).
mlp-replay
    The mlp step replayed: ``step = compile(lambda x, y: loss_fn(model(x),
    y))``; a step is ``opt.zero_grad(); step(x, y); opt.step()``. Eager rows
    and the torch / numpy peers are the mlp workload's step. Reports us per
    step and per call (replay: ``step(x, y)``; eager: forward + backward).
chain-replay
    The chain recorded once with ``record(fn, x0, y0)`` (fn repeats ``x = x*y;
    x = x + y; x = x.tanh(); x = x**2``), then ``tape.forward(x0, y0)`` and
    ``tape.backward()`` timed apart (a forward comes before every backward).
    Reports ns per recorded node for each, and the ratio backward / forward.
"""

import builtins
import gc

from . import timing
from .scalar import MLP, Neuron, OpsNeuron, chain, demo_data, demo_loss
from .settings import ALPHA, CHAIN_START, FULL, MLP_LR, N_SAMPLES, SEED
from .tensor import mlp_case, mlp_setup, mlp_summary
from .timing import Case, gc_mode, interleave, median


def replay_api(engine):
    """``compile``/``record`` for this engine (the objects ``tapegrad.compile`` and
    ``tapegrad.reference.compile`` are)."""
    from .. import _replay
    return _replay.api_for(engine)


DEMO_STYLES = ("ops", "dot")
_DEMO_NEURONS = {"ops": OpsNeuron, "dot": Neuron}
# phases of a demo-replay / mlp-replay step; "call" is forward + backward for eager
# steps and the replayed call for replay steps (which have no forward/backward apart)
DEMO_REPLAY_PHASES = ("forward", "backward", "call", "zero_grad", "update")
MLP_REPLAY_PHASES = ("forward", "backward", "call", "zero_grad", "step")


def _demo_replay_loss(engine, model, Xv, yv):
    """The demo's loss from inputs and labels that are Values already (as a
    replayed fn receives them), without the accuracy: reading ``score.data``
    inside a replayed fn would make a guard."""
    esum = engine.sum
    scores = list(map(model, Xv))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yv, scores)]
    data_loss = esum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * esum((p * p for p in model.parameters()))
    return data_loss + reg_loss


def _demo_replay_run(engine, replay, style, steps, seed=SEED, n_samples=N_SAMPLES,
                     gc_off=False):
    """Train the demo MLP (neurons of ``style``) for ``steps`` steps from fresh
    weights, eager or replayed (``replay``: the engine's compile/record).

    A step is ``model.zero_grad()``, the loss and its gradients (eager:
    ``loss = fn(Values of Xb, Values of yb); loss.backward()``; replay:
    ``loss = step(Xb, yb)``), then ``p.data -= lr * p.grad``. The replay's first
    call records fn: it is timed apart (``record_s``) and not in ``phases``.
    Returns ``{"phases": seconds summed over the timed steps, "timed_steps",
    "record_s", "losses": the loss of every step, "loss": after the last update,
    "nodes", "recordings"}``.
    """
    now = timing.now
    Xb, yb = demo_data(seed, n_samples)
    Value = engine.Value
    model = MLP(engine, 2, [16, 16, 1], seed, neuron=_DEMO_NEURONS[style])
    params = model.parameters()

    def fn(Xv, yv):
        return _demo_replay_loss(engine, model, Xv, yv)

    step = replay.compile(fn) if replay is not None else None
    ph = dict.fromkeys(DEMO_REPLAY_PHASES, 0.0)
    losses = []
    record_s = None
    for k in range(steps):
        with gc_mode(gc_off):
            t0 = now()
            model.zero_grad()
            t1 = now()
            if step is not None:
                loss = step(Xb, yb)
                t2 = t3 = now()
            else:
                loss = fn([list(map(Value, row)) for row in Xb], list(map(Value, yb)))
                t2 = now()
                loss.backward()
                t3 = now()
            learning_rate = 1.0 - 0.9 * k / 100
            for p in params:
                p.data -= learning_rate * p.grad
            t4 = now()
        losses.append(float(loss.data))
        del loss
        if step is not None and k == 0:
            record_s = t4 - t0
        else:
            ph["zero_grad"] += t1 - t0
            ph["forward"] += t2 - t1
            ph["backward"] += t3 - t2
            ph["call"] += t3 - t1
            ph["update"] += t4 - t3
        if gc_off:
            gc.collect()
    with gc_mode(True):  # untimed
        final = float(fn([list(map(Value, row)) for row in Xb], list(map(Value, yb))).data)
    return {"phases": ph, "timed_steps": steps - 1 if step is not None else steps,
            "record_s": record_s, "losses": losses, "loss": final,
            "nodes": step.tape.nodes if step is not None else None,
            "recordings": step.recordings if step is not None else None}


def _demo_replay_summary(runs, replay):
    """Median ms per step over runs, with the phases, losses and so on of the median run."""
    per = []
    for r in runs:
        n = r["timed_steps"]
        ph = {k: (v * 1e3 / n if (replay is None or k not in ("forward", "backward")) else None)
              for k, v in r["phases"].items()}
        per.append(dict(r, phases_ms=ph,
                        ms_per_step=builtins.sum(ph[k] for k in ("zero_grad", "call", "update"))))
    ordered = sorted(per, key=lambda r: r["ms_per_step"])
    out = dict(ordered[(len(ordered) - 1) // 2])
    del out["phases"]
    out["ms_per_step"] = median([r["ms_per_step"] for r in per])
    out["call_ms"] = median([r["phases_ms"]["call"] for r in per])
    out["runs_ms_per_step"] = [r["ms_per_step"] for r in per]
    out["runs_call_ms"] = [r["phases_ms"]["call"] for r in per]
    out["record_ms"] = None if replay is None else median([r["record_s"] * 1e3 for r in per])
    out["recordings"] = None if replay is None else builtins.max(r["recordings"] for r in per)
    out["final_losses"] = [r["loss"] for r in per]
    return out


def demo_replay(engine, style="ops", steps=FULL.demo_replay_steps,
                repeats=FULL.demo_replay_repeats, seed=SEED, n_samples=N_SAMPLES,
                gc_off=False, warmup_steps=2):
    """The demo step eager and replayed (``engine``'s own compile), neurons of
    ``style`` ("ops": micrograd's per-op sum, "dot": ``engine.dot``).

    After ``warmup_steps`` untimed steps of each (on separate models), runs
    ``repeats`` rounds of one eager and one replayed run of ``steps`` steps,
    each from the same initial weights. Returns ``{"eager": ..., "replay": ...}``,
    each with ``ms_per_step`` (median over runs), ``call_ms`` (forward +
    backward / the replayed call alone, per step), ``phases_ms``, ``losses``
    (every step's loss), ``loss`` (after the last update), and for the replay
    ``record_ms`` (its first call, which records fn), ``nodes`` and ``recordings``.
    """
    replay = replay_api(engine)
    steps = builtins.max(2, steps)   # a replay's first step records: one more to time
    if warmup_steps:
        for rp in (None, replay):
            gc.collect()
            _demo_replay_run(engine, rp, style, builtins.max(2, warmup_steps), seed, n_samples,
                             gc_off)
    runs = {"eager": [], "replay": []}
    for _ in range(repeats):
        for name, rp in (("eager", None), ("replay", replay)):
            gc.collect()
            runs[name].append(_demo_replay_run(engine, rp, style, steps, seed, n_samples,
                                               gc_off))
    gc.collect()
    out = {name: _demo_replay_summary(runs[name], None if name == "eager" else replay)
           for name in runs}
    for m in out.values():
        m["steps"] = steps
        m["style"] = style
    return out


def graph_nodes(root, parents="_prev"):
    """How many Values a micrograd-style graph holds (every Value reachable from
    ``root`` through ``parents``, leaves and constants included)."""
    seen = {id(root)}
    stack = [root]
    keep = [root]   # ids stay unique while the objects live
    while stack:
        v = stack.pop()
        for c in getattr(v, parents):
            if id(c) not in seen:
                seen.add(id(c))
                keep.append(c)
                stack.append(c)
    return len(seen)


def _mlp_replay_case(api, replay, steps=FULL.mlp_steps, seed=SEED, gc_off=False,
                     warmup_steps=10):
    """The mlp step replayed: ``step = replay.compile(lambda x, y: loss_fn(model(x),
    y))``; a step is ``opt.zero_grad(); step(x, y); opt.step()``. ``run()`` trains a
    fresh model (and a fresh compile: its first call, which records, is timed
    apart) for ``steps`` steps and returns ``{"us_per_step", "phases_us", "loss",
    "record_us", "nodes", "recordings"}``."""
    now = timing.now
    T, nn, optim = api.T, api.nn, api.optim
    x, y, make_model = mlp_setup(api, seed)
    steps = builtins.max(2, steps)

    def make():
        model = make_model()
        loss_fn = nn.MSELoss()
        opt = optim.SGD(model.parameters(), lr=MLP_LR)
        step = replay.compile(lambda xb, yb: loss_fn(model(xb), yb))
        return model, loss_fn, opt, step

    def train(n):
        model, loss_fn, opt, step = state = make()
        ph = {"zero_grad": 0.0, "call": 0.0, "step": 0.0}
        record = None
        with gc_mode(gc_off):   # for the whole run, as in mlp
            for k in range(n):
                t0 = now()
                opt.zero_grad()
                t1 = now()
                step(x, y)
                t2 = now()
                opt.step()
                t3 = now()
                if k == 0:
                    record = t3 - t0
                    continue
                ph["zero_grad"] += t1 - t0
                ph["call"] += t2 - t1
                ph["step"] += t3 - t2
        return state, ph, record

    def warmup():
        if warmup_steps:
            train(builtins.max(2, warmup_steps))

    def run():
        (model, loss_fn, _, step), ph, record = train(steps)
        with T.no_grad():
            loss = float(loss_fn(model(x), y).item())
        n = steps - 1
        phases = dict.fromkeys(MLP_REPLAY_PHASES)
        phases.update({k: v * 1e6 / n for k, v in ph.items()})
        return {"us_per_step": builtins.sum(ph.values()) * 1e6 / n, "phases_us": phases,
                "loss": loss, "record_us": record * 1e6, "nodes": step.tape.nodes,
                "recordings": step.recordings}

    return Case(warmup, run)


def mlp_replay_summary(runs, steps):
    """mlp_summary, with the call's time and (for a replay) the record's."""
    out = mlp_summary(runs, steps)
    ph = dict.fromkeys(MLP_REPLAY_PHASES)
    ph.update(out["phases_us"])
    if ph["call"] is None:   # eager: the call is forward + backward
        ph["call"] = ph["forward"] + ph["backward"]
        calls = [r["phases_us"]["forward"] + r["phases_us"]["backward"] for r in runs]
    else:
        calls = [r["phases_us"]["call"] for r in runs]
        out["record_us"] = median([r["record_us"] for r in runs])
        out["recordings"] = builtins.max(r["recordings"] for r in runs)
    out["phases_us"] = ph
    out["call_us"] = median(calls)
    out["runs_call_us"] = calls
    return out


def mlp_replay(api, replay, steps=FULL.mlp_steps, repeats=FULL.mlp_repeats, seed=SEED,
               gc_off=False, warmup_steps=10):
    """The mlp step eager and replayed, interleaved. Returns ``{"eager": ...,
    "replay": ...}`` with ``us_per_step``, ``call_us``, ``phases_us``, ``loss``
    (after the last update) and, for the replay, ``record_us``, ``nodes`` and
    ``recordings``."""
    steps = builtins.max(2, steps)
    cases = [mlp_case(api, steps, seed, gc_off, warmup_steps),
             _mlp_replay_case(api, replay, steps, seed, gc_off, warmup_steps)]
    runs = interleave(cases, repeats)
    out = {"eager": mlp_replay_summary(runs[0], steps),
           "replay": mlp_replay_summary(runs[1], steps)}
    out["replay"]["timed_steps"] = steps - 1   # the first call records
    return out


def chain_replay(engine, n_ops=FULL.chain_ops, repeats=FULL.chain_repeats, warmup=2,
                 gc_off=False):
    """Record the chain once (``record(fn, *CHAIN_START)``), then time ``tape.forward``
    and ``tape.backward`` apart, ``warmup + repeats`` times (a forward before
    every backward).

    Returns ``{"n_ops", "nodes", "forward_ns_per_node", "backward_ns_per_node",
    "backward_over_forward", "forward_ns", "backward_ns", "record_ns_per_node",
    "recordings", "check", "eager_check"}``: medians over the timed repeats, every
    repeat's figures, the time of the recording, ``(loss, dx, dy)`` of the replay
    and of the same engine eager (the chain workload's ``check``).
    """
    now = timing.now
    replay = replay_api(engine)
    iters = builtins.max(1, n_ops // 4)
    n = 4 * iters

    def fn(x, y):
        for _ in range(iters):
            x = x * y
            x = x + y
            x = x.tanh()
            x = x ** 2
        return x

    eager_check = chain(engine, n, repeats=1, warmup=0)["check"]
    gc.collect()
    with gc_mode(gc_off):
        t0 = now()
        tape = replay.record(fn, *CHAIN_START)
        record_s = now() - t0
    nodes = tape.nodes or n   # the reference replays nothing: it runs fn again
    fwd, back = [], []
    out = None
    for r in range(warmup + repeats):
        gc.collect()
        with gc_mode(gc_off):
            t0 = now()
            out = tape.forward(*CHAIN_START)
            t1 = now()
            tape.backward()
            t2 = now()
        if r >= warmup:
            fwd.append((t1 - t0) * 1e9 / nodes)
            back.append((t2 - t1) * 1e9 / nodes)
    gx, gy = tape.grads
    check = (float(out.data), float(gx), float(gy))
    recordings = tape.recordings
    del tape, out
    gc.collect()
    f, b = median(fwd), median(back)
    return {"n_ops": n, "nodes": nodes, "forward_ns_per_node": f, "backward_ns_per_node": b,
            "backward_over_forward": b / f if f else float("nan"),
            "forward_ns": fwd, "backward_ns": back, "record_ns_per_node": record_s * 1e9 / nodes,
            "recordings": recordings, "check": check, "eager_check": eager_check}


def micrograd_demo_nodes(engine, seed=SEED, n_samples=N_SAMPLES):
    """Values in one micrograd demo step's graph (loss as in ``demo_loss``),
    inputs, weights and constants included."""
    Xb, yb = demo_data(seed, n_samples)
    model = engine.make_mlp(2, [16, 16, 1], seed)
    with gc_mode(True):
        loss, _ = demo_loss(engine, model, Xb, yb)
        n = graph_nodes(loss)
        del loss, model
    gc.collect()
    return n

