"""The engine contract: what an engine module provides.

An engine is a *module* (``tapegrad._engine``, compiled; ``tapegrad.reference``,
pure Python) that satisfies :class:`Engine`: every name of
``tapegrad._api.ENGINE_NAMES`` and ``GRAD_MODE`` (public, with PyTorch's
semantics, identical results and errors on both engines -- the conformance
test in ``tests/conformance`` holds them to it), the dtypes, and the private
hooks below, which the shared layers (``nn``, ``optim``, ``autograd``, replay)
call directly. ``tapegrad._backend`` maps a tensor to its engine, and refuses
an engine that lacks any of them (:func:`missing`).

Hooks (all arguments positional):

``_addmm(bias, mat1, mat2)``
    ``bias + mat1 @ mat2`` as one ``AddmmBackward0`` node (``nn.functional.linear``).
``_mse_loss(input, target, reduction)``
    torch's ``mse_loss`` as one ``MseLossBackward0`` node.
``_nll_loss(input, target, weight, ignore_index, reduction)``
    ``NllLossBackward0``; ``_binary_cross_entropy(input, target, weight, reduction)``
    ``BinaryCrossEntropyBackward0`` (logs clamped at -100).
``_activation(input, name, a, b, flag)``
    one elementwise node of issue 12 (``erf``, ``gelu`` (flag: approximate='tanh'),
    ``silu``, ``leaky_relu`` (a: negative_slope), ``elu`` (a: alpha), ``softplus``
    (a: beta, b: threshold)); ``_pointwise_loss(input, target, name, reduction, param)``
    ``smooth_l1_loss`` (param beta) / ``huber_loss`` (delta);
    ``_bce_with_logits(input, target, weight, pos_weight, reduction)`` (weights: numpy
    arrays of input's shape, or None); ``_constant_pad(input, pad, before, out_shape,
    value)``. The caller (``nn.functional``) has checked dtypes and shapes.
``_grad(outputs, inputs, grad_outputs, allow_unused, retain_graph=False) -> tuple``
    d(outputs)/d(inputs), accumulating nothing (``autograd.grad``).
``_run_backward(tensors, grad_tensors, inputs, retain_graph=False)``
    one sweep from several roots, accumulating into leaves (``autograd.backward``).
    Without retain_graph both free the swept graph (``tapegrad/_freed.py``).
``_free_graph(roots)``
    free the roots' graphs (``create_graph=True`` with ``retain_graph=False``).
``_set_grad_off(off) -> int`` and ``_grad_off() -> int``
    the thread-local grad-mode primitive that ``autograd.grad_mode`` drives
    (``off`` != 0 records nothing; returns the previous value).
``_trace(fn, args) -> (program, loss)``, ``_flatten_args(args) -> (scalars, tensors, sig)``,
``_rebuild(sig, scalars, tensors, nargs)``, ``_GuardFailed``
    replay (``tapegrad._replay``): a program has ``sig``, ``parameters``, ``nodes``,
    ``guards``, ``forward(scalars, tensors)``, ``changed_since_forward(tensors)`` (a
    description of a parameter or tensor argument changed since forward(), or None) and
    ``backward(scalars, tensors) -> (scalar_grads, tensor_grads)``; ``_GuardFailed`` is
    raised when a guard fails.

``_graph_handle(tensor)``, ``_graph_nodes(roots)``, ``_set_graph_grad(leaf, grad)``
    create_graph=True (``tapegrad.autograd._higher``): the one handle of a tensor's
    node (None off the graph); the nodes the roots depend on, children first, as
    ``(handle, table row name, parents, operands, result, ctx)``; a leaf's .grad made
    a tensor with history.

Graph reading (``tapegrad.draw`` / ``tapegrad.explain``, ``tapegrad._graph``), on
the engine's objects rather than the module:

    ``Value._inputs() -> (op, operands, c)``: the ``_ops.Op`` that made the Value,
    its operands in recording order (dot: x0, w0, x1, w1, ... with constant operands
    as floats; sum: the Value parents) and its constant; ``Value._prev`` (the set of
    Value parents) and ``Value._op`` (the symbol, ``'**2'`` for ``x ** 2``), as in
    micrograd. A parent whose own handle is gone is given a new one.
    grad_fn objects: ``name()``, ``next_functions``, ``AccumulateGrad.variable`` (the
    leaf) and ``_output()`` (the tensor the node computed).

Optimizer hooks (``tapegrad.optim``):

    ``_sgd_update(params, lr, momentum, dampening, weight_decay, nesterov,
    buffers, first_step, maximize=False)``
        params: Tensors of one param group that all have a ``.grad``;
        buffers: the momentum buffers, one Tensor per param (same shape and
        dtype), or a list of None when momentum == 0; first_step: True when these
        buffers have not been written yet (all params passed share this flag).
        Other arguments are Python numbers. In place, per element, in the
        parameter's dtype (``fma(a, b, c)`` = a * b + c rounded once, as torch's
        CPU kernels compute ``add(..., alpha=)`` and ``addcmul``)::

            g = -grad if maximize else grad
            if weight_decay != 0:  g = fma(p, weight_decay, g)
            if momentum != 0:
                buf = g                                  if first_step
                buf = fma(g, 1 - dampening, buf * momentum)  otherwise
                g = fma(buf, momentum, g) if nesterov else buf
            p = fma(g, -lr, p)

    ``_adam_update(params, lr, beta1, beta2, eps, weight_decay, exp_avgs,
    exp_avg_sqs, step, max_exp_avg_sqs=None, maximize=False, decoupled=False)``
        params: Tensors that all have a ``.grad`` and the same step count;
        exp_avgs, exp_avg_sqs (and max_exp_avg_sqs when amsgrad): the moment
        Tensors, one per param; step: that count after this update (1 on the
        first), a Python int; decoupled: AdamW's weight decay. In place (scalars
        computed in Python floats, then rounded to the parameter's dtype where
        they meet a tensor)::

            g = -grad if maximize else grad
            if weight_decay != 0 and decoupled:  p = p * (1 - lr * weight_decay)
            if weight_decay != 0 and not decoupled:  g = fma(p, weight_decay, g)
            m = lerp(m, g, 1 - beta1)        # torch.lerp: fma(w, g - m, m) for w < 0.5
            v = fma((1 - beta2) * g, g, v * beta2)
            if amsgrad:  vmax = maximum(vmax, v);  v' = vmax  else v' = v
            step_size = lr / (1 - beta1 ** step)
            denom = sqrt(v') / sqrt(1 - beta2 ** step) + eps
            p = p + (-step_size * m) / denom

    ``_rmsprop_update(params, lr, alpha, eps, weight_decay, momentum, maximize,
    square_avgs, grad_avgs, momentum_buffers)``
        grad_avgs: a list when centered, else None; momentum_buffers: a list
        when momentum > 0, else None::

            g = -grad if maximize else grad;  if weight_decay: g = fma(p, wd, g)
            sq = fma((1 - alpha) * g, g, sq * alpha)
            avg = sqrt(fma(-ga, ga, sq)) with ga = lerp(ga, g, 1 - alpha) if centered
                  else sqrt(sq);  avg = avg + eps
            if momentum > 0:  buf = buf * momentum + g / avg;  p = fma(buf, -lr, p)
            else:             p = p + (-lr * g) / avg

    ``_adagrad_update(params, clr, eps, weight_decay, maximize, state_sums)``
        clr = lr / (1 + (step - 1) * lr_decay), the caller's, for params that
        share a step count::

            g = -grad if maximize else grad;  if weight_decay: g = fma(p, wd, g)
            s = fma(g, g, s);  p = p + (-clr * g) / (sqrt(s) + eps)

    Each state Tensor is checked to have its parameter's shape and dtype (SGD's
    momentum buffer may have another float dtype) before the kernel runs.
    Every hook must bump each parameter's version counter (an in-place update).
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Protocol, Sequence, Tuple


from . import _api

__all__ = ["Engine", "missing"]

class Engine(Protocol):
    """What an engine module provides (see the module docstring). Each public
    name has the same meaning as in PyTorch (``tensor``, ``zeros``, ...) or
    micrograd (``Value``); the types here are deliberately loose, the stubs
    (``_engine.pyi``) carry the precise ones."""

    ENGINE: str
    Value: type
    Tensor: type
    Size: type
    float32: Any
    float64: Any
    int64: Any

    clear_tape: Callable[[], None]
    tape_stats: Callable[[], dict]
    dot: Callable[..., Any]
    sum: Callable[..., Any]
    tensor: Callable[..., Any]
    zeros: Callable[..., Any]
    ones: Callable[..., Any]
    full: Callable[..., Any]
    empty: Callable[..., Any]
    randn: Callable[..., Any]
    rand: Callable[..., Any]
    arange: Callable[..., Any]
    from_numpy: Callable[..., Any]
    zeros_like: Callable[..., Any]
    ones_like: Callable[..., Any]
    empty_like: Callable[..., Any]
    full_like: Callable[..., Any]
    rand_like: Callable[..., Any]
    randn_like: Callable[..., Any]
    as_tensor: Callable[..., Any]
    manual_seed: Callable[[int], Any]
    is_tensor: Callable[[Any], bool]
    get_default_dtype: Callable[[], Any]
    set_printoptions: Callable[..., None]
    get_printoptions: Callable[[], dict]
    set_flush_denormal: Callable[[bool], bool]
    # the free tensor functions (exp ... is_floating_point, see _api.ENGINE_NAMES)
    exp: Callable[..., Any]
    matmul: Callable[..., Any]

    # grad mode: the shared objects of tapegrad.autograd.grad_mode
    no_grad: Any
    enable_grad: Any
    set_grad_enabled: Any
    is_grad_enabled: Callable[[], bool]

    # private hooks
    def _addmm(self, bias: Any, mat1: Any, mat2: Any) -> Any: ...
    def _mse_loss(self, input: Any, target: Any, reduction: str) -> Any: ...
    def _nll_loss(self, input: Any, target: Any, weight: Any, ignore_index: int,
                  reduction: str) -> Any: ...
    def _binary_cross_entropy(self, input: Any, target: Any, weight: Any,
                              reduction: str) -> Any: ...
    def _activation(self, input: Any, name: str, a: float = 0.0, b: float = 0.0,
                    flag: int = 0) -> Any: ...
    def _pointwise_loss(self, input: Any, target: Any, name: str, reduction: str,
                        param: float) -> Any: ...
    def _bce_with_logits(self, input: Any, target: Any, weight: Any, pos_weight: Any,
                         reduction: str) -> Any: ...
    def _constant_pad(self, input: Any, pad: Tuple[int, ...], before: List[int],
                      out_shape: List[int], value: float) -> Any: ...
    def _grad(self, outputs: List[Any], inputs: List[Any], grad_outputs: List[Any],
              allow_unused: bool, retain_graph: bool = False) -> Tuple[Any, ...]: ...
    def _run_backward(self, tensors: List[Any], grad_tensors: List[Any],
                      inputs: Optional[List[Any]], retain_graph: bool = False) -> None: ...
    def _free_graph(self, roots: List[Any]) -> None: ...
    def _sgd_update(self, params: List[Any], lr: float, momentum: float, dampening: float,
                    weight_decay: float, nesterov: bool, buffers: List[Any],
                    first_step: bool, maximize: bool = False) -> None: ...
    def _adam_update(self, params: List[Any], lr: float, beta1: float, beta2: float,
                     eps: float, weight_decay: float, exp_avgs: List[Any],
                     exp_avg_sqs: List[Any], step: int,
                     max_exp_avg_sqs: Optional[List[Any]] = None, maximize: bool = False,
                     decoupled: bool = False) -> None: ...
    def _rmsprop_update(self, params: List[Any], lr: float, alpha: float, eps: float,
                        weight_decay: float, momentum: float, maximize: bool,
                        square_avgs: List[Any], grad_avgs: Optional[List[Any]],
                        momentum_buffers: Optional[List[Any]]) -> None: ...
    def _adagrad_update(self, params: List[Any], clr: float, eps: float,
                        weight_decay: float, maximize: bool, state_sums: List[Any]) -> None: ...
    def _set_grad_off(self, off: int) -> int: ...
    def _grad_off(self) -> int: ...
    def _trace(self, fn: Callable[..., Any], args: Sequence[Any]) -> Tuple[Any, Any]: ...
    def _flatten_args(self, args: Sequence[Any]) -> Tuple[list, list, list]: ...
    def _rebuild(self, sig: list, scalars: list, tensors: list, nargs: int) -> list: ...
    _GuardFailed: type
    def _graph_handle(self, x: Any) -> Any: ...
    def _graph_nodes(self, roots: List[Any]) -> List[Tuple[Any, ...]]: ...
    def _set_graph_grad(self, leaf: Any, grad: Any) -> None: ...
    # custom autograd.Function (tapegrad/autograd/function.py)
    def _function_record(self, ctx: Any, inputs: List[Any], outputs: List[Any],
                         dirty: List[bool]) -> List[Any]: ...
    def _function_refuse_replay(self, name: str) -> None: ...
    def _tensor_version(self, x: Any) -> int: ...


def missing(engine: Any) -> Tuple[str, ...]:
    """The names of the contract (public names and hooks) that ``engine`` lacks."""
    names = _api.ENGINE_NAMES + _api.GRAD_MODE + ("float32", "float64", "int64") + _api.HOOKS
    return tuple(n for n in names if not hasattr(engine, n))
