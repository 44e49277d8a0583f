"""Replay: record a training step once, then re-run its graph on new inputs.

``tapegrad.compile(fn)`` and ``tapegrad.record(fn, *args)``, written once:
``Tape`` and ``CompiledStep`` use their class's engine (``cls._engine``, None
for the active engine; ``tapegrad.reference.Tape`` is bound to the reference
by ``_backend.bind_class``). The compiled engine copies the recorded graph into a program that its
C core re-runs, forward then backward, without Python; the reference engine
simply runs ``fn`` again, so both give the same answers.

An engine provides ``_trace(fn, args) -> (program, loss)``, ``_flatten_args``,
``_rebuild`` and ``_GuardFailed``; a program has ``sig``, ``parameters``,
``nodes``, ``guards``, ``forward(scalars, tensors)``,
``changed_since_forward(tensors)`` (what backward() could no longer fit, or None)
and ``backward(scalars, tensors) -> (scalar_grads, tensor_grads)``.

A Tape is one thread's from ``forward()`` to ``backward()`` (another thread's
call raises "busy"), so the gradients backward() gives are those of that thread's
forward(); the same on both engines, as this layer is shared.
"""

from __future__ import annotations

import functools
import numbers
import threading
import types
import warnings
from typing import Any, Callable, Dict, Optional, Sequence, Union, overload

from . import _backend
from .autograd.grad_mode import no_grad

_POLICIES = ("rerecord", "raise")
RERECORD_WARNING_AFTER = 8      # re-recordings in a row before we warn that replay does not pay
RECORDINGS_KEPT = 8             # recordings kept per Tape, one per argument signature
_HOLDING = threading.Lock()     # makes taking a Tape's hold atomic


class GuardFailure(RuntimeError):
    """A replay's guard (a comparison, a value read out of the graph, or the
    arguments' shapes) came out differently from the recording, and the tape
    was told to raise instead of recording again."""


def _arg_sizes(sig, nargs):
    """How many numbers each top-level argument of sig holds (None for an
    argument that holds tensors)."""
    sizes, pos = [], 0

    def count():
        nonlocal pos
        entry = sig[pos]
        pos += 1
        if type(entry) is int:
            return 1
        if type(entry[0]) is type:
            parts = [count() for _ in range(entry[1])]
            return None if None in parts else sum(parts)
        return None

    try:
        for _ in range(nargs):
            sizes.append(count())
    except IndexError:
        pos = -1
    if pos != len(sig):
        raise TypeError(f"vmap: got {nargs} batched arguments, not as many as the recording's")
    return sizes


def _number_block(batched_arg, k):
    """A vmap argument as a float64 array, or a ValueError naming it."""
    import numpy as np
    try:
        return np.asarray(batched_arg, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"vmap: argument {k} must be an array of numbers with the rows "
                         f"first (a numpy array or equally long nested lists): {exc}") from None


def _free_variables(fn):
    """fn's closure cells and the global names its code reads: replay binds the
    objects they name at recording, so rebinding one records again."""
    code = getattr(fn, "__code__", None)
    if code is None:                       # a callable object: its attributes are its own
        return (), ()
    g = getattr(fn, "__globals__", {})
    return tuple(fn.__closure__ or ()), tuple(n for n in code.co_names if n in g)


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:                     # not assigned yet
        return None


def _same_objects(now, recorded):
    current = now()
    return len(current) == len(recorded) and all(a is b for a, b in zip(current, recorded))


def _signature_key(sig):
    return tuple(sig)


def _check_policy(on_guard_failure):
    if on_guard_failure not in _POLICIES:
        raise ValueError("on_guard_failure must be 'rerecord' or 'raise', not "
                         f"{on_guard_failure!r}")


def _thread_count(threads: Any) -> int:
    """vmap's threads: an int >= 1 (not a bool), else TypeError / ValueError."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"vmap(): threads must be an int, not {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"vmap(): threads must be at least 1, got {threads}")
    return int(threads)


class Tape:
    """A recording of ``fn`` that replays on new arguments of the same structure.

    ``forward(*args)`` recomputes the loss (returned as a new Value or Tensor
    without history); ``backward()`` then accumulates gradients into every
    parameter fn read (and into Value / requires-grad Tensor arguments),
    exactly as ``fn(*args).backward()`` would. ``grads`` holds the gradients
    with respect to the arguments from the last ``backward()``.
    """

    _engine = None       # the engine that records and replays fn; None: the active one

    def __init__(self, fn: Callable[..., Any], args: Sequence[Any],
                 on_guard_failure: str = "rerecord") -> None:
        _check_policy(on_guard_failure)
        self._eng = _backend.engine_for(self)
        self.fn = fn
        self.on_guard_failure = on_guard_failure
        self.recordings = 0          # how many times fn was recorded
        self._streak = 0             # re-recordings since the last clean replay
        self._pending: Any = None    # (args, scalars, tensors) of the last forward
        self._holder: Optional[threading.Thread] = None   # between forward() and backward()
        self._grads: Any = None
        self._programs: Dict[Any, Any] = {}         # argument signature -> its recordings
        self._free_cells, self._free_names = _free_variables(fn)
        self.batch_grads: Any = None  # per-row argument gradients of the last vmap
        self._record(args)

    def _record(self, args):
        self._needs_record = False
        self._free = self._free_now()
        self._program, _ = self._eng._trace(self.fn, args)
        self.recordings += 1
        key = _signature_key(self._program.sig)
        same_shapes = self._programs.pop(key, [])
        if len(self._programs) >= RECORDINGS_KEPT:
            del self._programs[next(iter(self._programs))]     # the oldest signature
        self._programs[key] = [self._program] + same_shapes[:RECORDINGS_KEPT - 1]

    def _replay_any(self, sig, scalars, tensors):
        """The loss from the first recording for these shapes whose guards pass
        (most recently used first), or None."""
        candidates = self._programs.get(_signature_key(sig), [])
        for k, program in enumerate(candidates):
            if program is self._program and program.sig == sig:
                continue                     # already tried
            try:
                loss = program.forward(scalars, tensors)
            except self._eng._GuardFailed:
                continue
            candidates.insert(0, candidates.pop(k))
            self._program = program
            return loss
        return None

    def _free_now(self):
        """The objects fn's closure variables and globals name now."""
        cells, names, g = self._free_cells, self._free_names, getattr(self.fn, "__globals__", {})
        return [_cell_value(c) for c in cells] + [g.get(n) for n in names]

    @property
    def parameters(self) -> Any:
        """The Values and Tensors fn read that are not arguments (bound by identity)."""
        return self._program.parameters

    @property
    def nodes(self) -> int:
        """How many recorded nodes a replay re-runs."""
        return self._program.nodes

    @property
    def guards(self) -> int:
        """How many guards each replay checks."""
        return self._program.guards

    def forward(self, *args: Any) -> Any:
        """Recompute fn's loss for these arguments; the loss, without history."""
        return self._forward(args)

    def reset(self) -> None:
        """Forget every recording: the next forward() records fn again. Needed
        after changes replay cannot see, such as replacing a layer or a
        parameter attribute of a model that fn reads."""
        self._take_pending("reset()")
        self._holder = None
        self._programs.clear()
        self._needs_record = True
        self._grads = None

    def _check_not_held(self, what):
        """A Tape is one thread's from forward() to backward(): the gradients
        backward() gives are those of that thread's forward()."""
        holder = self._holder
        if holder is not None and holder is not threading.current_thread() and (
                holder.is_alive()):
            raise RuntimeError(
                f"tapegrad: Tape.{what}: busy: held by thread {holder.name!r} between "
                "forward() and backward(); a Tape replays one thread's step at a time: give "
                "each thread its own Tape (tapegrad.record / tapegrad.compile per thread)")

    def _hold(self, what):
        """Take the Tape for this thread until backward() (or refuse: busy)."""
        with _HOLDING:
            self._check_not_held(what)
            self._holder = threading.current_thread()

    def _take_pending(self, what):
        """This thread's pending forward() (None if there is none); busy if another
        thread holds the Tape. The caller releases the Tape when it is done with it."""
        with _HOLDING:
            self._check_not_held(what)
            pending = self._pending if self._holder is threading.current_thread() else None
            self._pending = None
        return pending

    def _forward(self, args):
        self._hold("forward()")
        try:
            return self._forward_held(args)
        except BaseException:
            self._pending = None
            self._holder = None
            raise

    def _forward_held(self, args):
        if self._needs_record:
            self._record(args)
        scalars, tensors, sig = self._eng._flatten_args(args)
        try:
            if not _same_objects(self._free_now, self._free):
                self._programs.clear()       # they read the objects fn no longer sees
                raise self._eng._GuardFailed("a variable fn reads (a closure variable or a "
                                             "global) now names another object")
            if sig != self._program.sig:
                raise self._eng._GuardFailed("the arguments' structure, shapes or dtypes "
                                             "differ from the recording's")
            loss = self._program.forward(scalars, tensors)
        except self._eng._GuardFailed as failure:
            if self.on_guard_failure == "raise":
                self._pending = None
                raise GuardFailure(f"replay guard failed: {failure}") from None
            loss = self._replay_any(sig, scalars, tensors)
            if loss is None:
                loss = self._rerecord(args, scalars, tensors, failure)
            else:
                self._streak = 0
        else:
            self._streak = 0
        self._pending = (args, scalars, tensors)
        self._grads = None
        return loss

    def _rerecord(self, args, scalars, tensors, failure):
        self._pending = None
        self._record(args)
        self._streak += 1
        if self._streak == RERECORD_WARNING_AFTER:
            warnings.warn(
                f"tapegrad replay: {getattr(self.fn, '__name__', 'fn')} was recorded again "
                f"{self._streak} times in a row ({failure}); replay gives no speed-up when "
                "comparisons or values read out of the graph keep changing",
                RuntimeWarning, stacklevel=5)
        try:
            return self._program.forward(scalars, tensors)
        except self._eng._GuardFailed as again:
            raise GuardFailure(
                f"fn recorded on these arguments does not replay on them ({again}); is fn "
                "deterministic?") from None

    def backward(self) -> None:
        """Gradients for the last forward(): parameters' .grad accumulate, as do
        Value and requires-grad Tensor arguments'; ``grads`` is set."""
        pending = self._take_pending("backward()")
        try:
            self._backward_of(pending)
        finally:
            self._holder = None      # only now: another thread's forward() would rebind

    def _backward_of(self, pending):
        if pending is None:
            raise RuntimeError("Tape.backward() needs a forward() first (one backward() "
                               "per forward())")
        args, scalars, tensors = pending
        changed = self._program.changed_since_forward(tensors)
        if changed is not None:
            raise RuntimeError(
                f"Tape.backward(): {changed} since forward(), so that forward()'s "
                "gradients no longer fit it. Call forward() again (it records fn again for "
                "the changed parameters), then backward(): change parameters before "
                "forward(), not between forward() and backward()")
        scalar_grads, tensor_grads = self._program.backward(scalars, tensors)
        for x, g in zip(scalars, scalar_grads):
            if type(x) is self._eng.Value:
                x.grad = x.grad + g
        with no_grad():
            for x, g in zip(tensors, tensor_grads):
                if g is not None and isinstance(x, self._eng.Tensor) and x.requires_grad:
                    x.grad = g.clone() if x.grad is None else x.grad + g
        self._grads = (args, scalar_grads, tensor_grads)

    def vmap(self, *batched_args: Any, backward: bool = False, threads: int = 1) -> Any:
        """Replay fn once per row: each argument carries a leading batch
        dimension (a numpy array or nested lists of numbers, shaped like
        the argument with n rows in front). Returns the n losses as a
        float64 array. With ``backward=True`` the gradients of their sum
        accumulate into the parameters (as n forward/backward calls would)
        and ``batch_grads`` holds each row's gradients with respect to the
        arguments, shaped like batched_args. Scalar recordings run the rows
        in one C loop without the GIL; others loop over forward().

        ``threads=N`` splits the rows of that C loop across N threads, each on
        its own copy of the recording; the results are bit-identical to
        ``threads=1`` (each row's contributions to the parameters are added in
        the one-thread order). The reference engine, which has no C loop, runs
        the rows one after the other whatever N is."""
        threads = _thread_count(threads)
        self._hold("vmap()")
        try:
            return self._vmap(batched_args, backward, threads)
        finally:
            self._pending = self._grads = None
            self._holder = None

    def _vmap(self, batched_args: Sequence[Any], backward: bool, threads: int) -> Any:
        import numpy as np
        sizes = _arg_sizes(self._program.sig, len(batched_args))
        if None in sizes:
            raise NotImplementedError("vmap batches number arguments (numbers and lists of "
                                      "them); batch tensor arguments inside fn instead")
        blocks = [_number_block(a, k) for k, a in enumerate(batched_args)]
        n = len(blocks[0]) if blocks else 0
        for k, (block, size) in enumerate(zip(blocks, sizes)):
            if block.ndim == 0 or len(block) != n or block[:1].size != size * min(n, 1):
                raise ValueError(
                    f"vmap: argument {k} must hold {n} rows of {size} numbers, like the "
                    f"recording's argument; got shape {block.shape}")
        flat = np.concatenate([b.reshape(n, size) for b, size in zip(blocks, sizes)],
                              axis=1) if blocks else np.empty((0, 0))
        losses = np.empty(n)
        grads: Any = np.zeros_like(flat) if backward else None
        self._pending = self._grads = None
        start = 0
        while start < n:
            done = start
            run = getattr(self._program, "map", None)
            if run is not None and not self._needs_record:
                try:
                    out, g, count = run(flat[start:], backward, threads)
                    losses[start:start + count] = out[:count]
                    if backward:
                        grads[start:start + count] = g[:count]
                    done = start + count
                except (NotImplementedError, self._eng._GuardFailed):
                    pass           # no C loop for this program, or its parameters changed
            if done < n:               # a guard failed on row `done`, or no C loop
                row = self._eng._rebuild(self._program.sig, flat[done].tolist(), [],
                                         len(batched_args))
                loss = self._forward_held(row)
                losses[done] = loss.data if isinstance(loss, self._eng.Value) else loss.item()
                if backward:
                    pending, self._pending = self._pending, None
                    self._backward_of(pending)
                    _, row_grads, _ = self._grads
                    grads[done] = row_grads
                done += 1
            start = done
        if backward:
            self.batch_grads = tuple(
                g.reshape(b.shape) for g, b in zip(np.split(grads, np.cumsum(sizes)[:-1],
                                                            axis=1), blocks))
        return losses

    @property
    def grads(self) -> Any:
        """Gradients of the loss with respect to each argument from the last
        backward(), shaped like the arguments: floats for numbers and Values,
        Tensors for tensors that require grad, None for other tensors."""
        if self._grads is None:
            return None
        args, scalar_grads, tensor_grads = self._grads
        eng = self._eng
        return eng._rebuild(eng._flatten_args(args)[2], scalar_grads, tensor_grads, len(args))

    def __repr__(self) -> str:
        return (f"<tapegrad.Tape of {getattr(self.fn, '__name__', 'fn')}: {self.nodes} nodes, "
                f"{len(self.parameters)} parameters, {self.guards} guards, "
                f"recorded {self.recordings}x>")

def record(fn: Callable[..., Any], *example_args: Any,
           on_guard_failure: str = "rerecord") -> Tape:
    """Run ``fn(*example_args)`` once, recording its graph; returns a Tape.

    fn returns a scalar loss (a Value or a one-element Tensor). Arguments
    may be numbers, Values, Tensors, numpy arrays, and lists or tuples of
    them; fn receives numbers as Values and arrays as Tensors. A replay
    whose guards fail records fn again (``on_guard_failure="rerecord"``)
    or raises GuardFailure (``"raise"``)."""
    return Tape(fn, example_args, on_guard_failure)


def _record_with(tape_cls, fn, *example_args, on_guard_failure="rerecord"):
    return tape_cls(fn, example_args, on_guard_failure)


class CompiledStep:
    """``fn`` as a replayed training step: a call returns the loss (without
    history) after accumulating gradients exactly as
    ``loss = fn(*args); loss.backward()`` would."""

    _engine = None       # as Tape's

    def __init__(self, fn: Callable[..., Any], on_guard_failure: str) -> None:
        _check_policy(on_guard_failure)
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.on_guard_failure = on_guard_failure
        self.tape: Optional[Tape] = None   # the current Tape, once called

    def _tape_class(self):
        """Tape, bound to this class's engine when it has one."""
        if self._engine is None:
            return Tape
        return _backend.bind_class(Tape, self._engine, type(self).__module__)

    @property
    def recordings(self) -> int:
        """How many times fn has been recorded (1 + re-recordings)."""
        return 0 if self.tape is None else self.tape.recordings

    def __call__(self, *args: Any) -> Any:
        tape = self.tape
        if tape is None:            # (two threads' first calls may each record: one Tape stays)
            tape = self.tape = self._tape_class()(self.fn, args, self.on_guard_failure)
        loss = tape._forward(args)
        tape.backward()
        return loss

    def reset(self) -> None:
        """Forget the recordings: the next call records fn again (see Tape.reset)."""
        if self.tape is not None:
            self.tape.reset()

    def __repr__(self) -> str:
        return f"<tapegrad.compile of {getattr(self.fn, '__name__', 'fn')}>"

@overload
def compile(fn: Callable[..., Any], *, on_guard_failure: str = "rerecord") -> CompiledStep: ...
@overload
def compile(fn: None = None, *,
            on_guard_failure: str = "rerecord") -> Callable[[Callable[..., Any]], CompiledStep]: ...
def compile(fn: Optional[Callable[..., Any]] = None, *, on_guard_failure: str = "rerecord"
            ) -> Union[CompiledStep, Callable[[Callable[..., Any]], CompiledStep]]:
    """Replay ``fn`` as a training step; usable as ``@tapegrad.compile``."""
    return _compile_with(CompiledStep, fn, on_guard_failure=on_guard_failure)


def _compile_with(step_cls, fn=None, *, on_guard_failure="rerecord"):
    if fn is None:
        return lambda f: step_cls(f, on_guard_failure)
    return step_cls(fn, on_guard_failure)


def api_for(engine: Any) -> types.SimpleNamespace:
    """``compile``, ``record``, ``Tape``, ``CompiledStep`` and ``GuardFailure`` of one
    engine module: ``tapegrad``'s for the active engine, ``tapegrad.reference``'s
    for the reference, else the classes bound to ``engine`` (the compiled engine
    under ``TAPEGRAD_PURE_PYTHON=1``)."""
    if engine.ENGINE == _backend.default_engine().ENGINE:
        return types.SimpleNamespace(compile=compile, record=record, Tape=Tape,
                                     CompiledStep=CompiledStep, GuardFailure=GuardFailure)
    if engine.ENGINE == "python":          # (not the active engine here)
        from . import reference as r
        return types.SimpleNamespace(compile=r.compile, record=r.record, Tape=r.Tape,
                                     CompiledStep=r.CompiledStep, GuardFailure=GuardFailure)
    tape = _backend.bind_class(Tape, engine, engine.__name__)
    step = _backend.bind_class(CompiledStep, engine, engine.__name__)
    return types.SimpleNamespace(compile=functools.partial(_compile_with, step),
                                 record=functools.partial(_record_with, tape), Tape=tape,
                                 CompiledStep=step, GuardFailure=GuardFailure)



