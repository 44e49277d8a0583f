"""Replay: record a training step once, then re-run its graph on new inputs.

``tapegrad.compile(fn)`` and ``tapegrad.record(fn, *args)``, built once per
engine. The compiled engine copies the recorded graph into a program that its
C core re-runs, forward then backward, without Python; the reference engine
simply runs ``fn`` again, so both give the same answers.

An engine provides ``_trace(fn, args) -> (program, loss)``, ``_flatten_args``,
``_rebuild`` and ``_GuardFailed``; a program has ``sig``, ``parameters``,
``nodes``, ``guards``, ``forward(scalars, tensors)`` and
``backward(scalars, tensors) -> (scalar_grads, tensor_grads)``.
"""

import functools
import types
import warnings

from ._layers import built_once

_POLICIES = ("rerecord", "raise")
RERECORD_WARNING_AFTER = 8      # re-recordings in a row before we warn that replay does not pay
RECORDINGS_KEPT = 8             # recordings kept per Tape, one per argument signature


class GuardFailure(RuntimeError):
    """A replay's guard (a comparison, a value read out of the graph, or the
    arguments' shapes) came out differently from the recording, and the tape
    was told to raise instead of recording again."""


def _signature_key(sig):
    return tuple(sig)


def _check_policy(on_guard_failure):
    if on_guard_failure not in _POLICIES:
        raise ValueError(f"on_guard_failure must be 'rerecord' or 'raise', not {on_guard_failure!r}")


@built_once
def build(engine):
    Value, Tensor = engine.Value, engine.Tensor
    trace, flatten, rebuild, GuardFailed = (
        engine._trace, engine._flatten_args, engine._rebuild, engine._GuardFailed)

    class Tape:
        """A recording of ``fn`` that replays on new arguments of the same structure.

        ``forward(*args)`` recomputes the loss (returned as a new Value or Tensor
        without history); ``backward()`` then accumulates gradients into every
        parameter fn read (and into Value / requires-grad Tensor arguments),
        exactly as ``fn(*args).backward()`` would. ``grads`` holds the gradients
        with respect to the arguments from the last ``backward()``.
        """

        def __init__(self, fn, args, on_guard_failure="rerecord"):
            _check_policy(on_guard_failure)
            self.fn = fn
            self.on_guard_failure = on_guard_failure
            self.recordings = 0          # how many times fn was recorded
            self._streak = 0             # re-recordings since the last clean replay
            self._pending = None         # (args, scalars, tensors) of the last forward
            self._grads = None
            self._programs = {}          # argument signature -> its recording
            self._record(args)

        def _record(self, args):
            self._program, _ = trace(self.fn, args)
            self.recordings += 1
            key = _signature_key(self._program.sig)
            self._programs.pop(key, None)
            if len(self._programs) >= RECORDINGS_KEPT:
                del self._programs[next(iter(self._programs))]     # the oldest
            self._programs[key] = self._program

        @property
        def parameters(self):
            """The Values and Tensors fn read that are not arguments (bound by identity)."""
            return self._program.parameters

        @property
        def nodes(self):
            """How many recorded nodes a replay re-runs."""
            return self._program.nodes

        @property
        def guards(self):
            """How many guards each replay checks."""
            return self._program.guards

        def forward(self, *args):
            """Recompute fn's loss for these arguments; the loss, without history."""
            scalars, tensors, sig = flatten(args)
            try:
                if sig != self._program.sig:
                    other = self._programs.get(_signature_key(sig))
                    if other is None:
                        raise GuardFailed("the arguments' structure, shapes or dtypes differ "
                                          "from the recording's")
                    self._program = other        # recorded before for these shapes
                loss = self._program.forward(scalars, tensors)
                self._streak = 0
            except GuardFailed as failure:
                if self.on_guard_failure == "raise":
                    self._pending = None
                    raise GuardFailure(f"replay guard failed: {failure}") from None
                loss = self._rerecord(args, scalars, tensors, failure)
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
                    RuntimeWarning, stacklevel=4)
            try:
                return self._program.forward(scalars, tensors)
            except GuardFailed as again:
                raise GuardFailure(
                    f"fn recorded on these arguments does not replay on them ({again}); is fn "
                    "deterministic?") from None

        def backward(self):
            """Gradients for the last forward(): parameters' .grad accumulate, as do
            Value and requires-grad Tensor arguments'; ``grads`` is set."""
            if self._pending is None:
                raise RuntimeError("Tape.backward() needs a forward() first")
            args, scalars, tensors = self._pending
            self._pending = None
            scalar_grads, tensor_grads = self._program.backward(scalars, tensors)
            for x, g in zip(scalars, scalar_grads):
                if type(x) is Value:
                    x.grad = x.grad + g
            with engine.no_grad():
                for x, g in zip(tensors, tensor_grads):
                    if g is not None and isinstance(x, Tensor) and x.requires_grad:
                        x.grad = g.clone() if x.grad is None else x.grad + g
            self._grads = (args, scalar_grads, tensor_grads)

        @property
        def grads(self):
            """Gradients of the loss with respect to each argument from the last
            backward(), shaped like the arguments: floats for numbers and Values,
            Tensors for tensors that require grad, None for other tensors."""
            if self._grads is None:
                return None
            args, scalar_grads, tensor_grads = self._grads
            return rebuild(flatten(args)[2], scalar_grads, tensor_grads, len(args))

        def __repr__(self):
            return (f"<tapegrad.Tape of {getattr(self.fn, '__name__', 'fn')}: {self.nodes} nodes, "
                    f"{len(self.parameters)} parameters, {self.guards} guards, "
                    f"recorded {self.recordings}x>")

    def record(fn, *example_args, on_guard_failure="rerecord"):
        """Run ``fn(*example_args)`` once, recording its graph; returns a Tape.

        fn returns a scalar loss (a Value or a one-element Tensor). Arguments
        may be numbers, Values, Tensors, numpy arrays, and lists or tuples of
        them; fn receives numbers as Values and arrays as Tensors. A replay
        whose guards fail records fn again (``on_guard_failure="rerecord"``)
        or raises GuardFailure (``"raise"``)."""
        return Tape(fn, example_args, on_guard_failure)

    class CompiledStep:
        """``fn`` as a replayed training step: a call returns the loss (without
        history) after accumulating gradients exactly as
        ``loss = fn(*args); loss.backward()`` would."""

        def __init__(self, fn, on_guard_failure):
            _check_policy(on_guard_failure)
            functools.update_wrapper(self, fn)
            self.fn = fn
            self.on_guard_failure = on_guard_failure
            self.tape = None             # the current Tape, once called

        @property
        def recordings(self):
            """How many times fn has been recorded (1 + re-recordings)."""
            return 0 if self.tape is None else self.tape.recordings

        def __call__(self, *args):
            if self.tape is None:
                self.tape = Tape(self.fn, args, self.on_guard_failure)
            loss = self.tape.forward(*args)
            self.tape.backward()
            return loss

        def __repr__(self):
            return f"<tapegrad.compile of {getattr(self.fn, '__name__', 'fn')}>"

    def compile(fn=None, *, on_guard_failure="rerecord"):  # noqa: A001 - torch.compile's name
        """Replay ``fn`` as a training step; usable as ``@tapegrad.compile``."""
        if fn is None:
            return lambda f: CompiledStep(f, on_guard_failure)
        return CompiledStep(fn, on_guard_failure)

    return types.SimpleNamespace(Tape=Tape, CompiledStep=CompiledStep, record=record,
                                 compile=compile, GuardFailure=GuardFailure)
