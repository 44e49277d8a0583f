"""Recurrent layers (torch.nn.modules.rnn): ``RNN``, ``LSTM``, ``GRU`` and their cells.

Written once for both engines from the engines' differentiable ops, so backward through
time is an ordinary graph (the compiled engine's C sweep; ``tapegrad.compile`` replays
it). The arithmetic follows torch's CPU implementation (aten/src/ATen/native/RNN.cpp):
the input projection of a whole layer is one ``linear`` over every time step, then per
step ``h @ W_hh^T`` is added and the gates are chunked in torch's order (LSTM i, f, g, o;
GRU r, z, n with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``). Parameters carry
torch's names and are drawn as torch draws them (U(-1/sqrt(hidden), 1/sqrt(hidden)) in
registration order), so after ``manual_seed`` a layer starts from torch's weights.
Dropout between layers is ``F.dropout`` on each layer's time-major output but the last,
in training only (torch's stream, from the default generator).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, List, Optional, Tuple

from .. import _backend
from .._dtype import float32
from . import functional as F
from . import init
from .modules import Module
from .parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _input_engine(x: Any, fn: str) -> Any:
    return F._check(x, "input", fn)


def _addmm(eng: Any, bias: Any, mat: Any, weight_t: Any) -> Any:
    """bias + mat @ weight_t (weight_t already transposed and contiguous)."""
    return mat.mm(weight_t) if bias is None else eng._addmm(bias, mat, weight_t)


# ------------------------------------------------------------------ cell arithmetic
# gates: the pre-activations x W_ih^T + b_ih + h W_hh^T + b_hh of one time step

def _rnn_step(gates: Any, relu: bool) -> Any:
    return gates.relu() if relu else gates.tanh()


def _lstm_step(gates: Any, c: Any) -> Tuple[Any, Any]:
    i, f, g, o = gates.chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(gi: Tuple[Any, Any, Any], gh: Any, h: Any) -> Any:
    """gi: the input's (r, z, n) pre-activations; gh: h W_hh^T + b_hh (3 chunks)."""
    hr, hz, hn = gh.chunk(3, 1)
    r = (hr + gi[0]).sigmoid()
    z = (hz + gi[1]).sigmoid()
    n = (gi[2] + hn * r).tanh()
    return (h - n) * z + n


# ------------------------------------------------------------------ layers

class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters, the checks and the layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        _check_sizes(dropout, num_layers, hidden_size, proj_size)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        self._make_parameters(_backend.engine_for(self), float32 if dtype is None else dtype)
        self.reset_parameters()

    def _make_parameters(self, eng: Any, dtype: Any) -> None:
        gate_size = _GATES[self.mode] * self.hidden_size
        real_hidden = self.proj_size or self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._flat_weights_names: List[str] = []
        self._all_weights: List[List[str]] = []
        for layer in range(self.num_layers):
            for direction in range(directions):
                layer_in = self.input_size if layer == 0 else real_hidden * directions
                shapes: List[Tuple[int, ...]] = [(gate_size, layer_in),
                                                 (gate_size, real_hidden)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if self.bias:
                    shapes += [(gate_size,), (gate_size,)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if self.proj_size:
                    shapes.append((self.proj_size, self.hidden_size))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(eng.empty(*shape, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)

    def reset_parameters(self) -> None:
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every parameter, in order."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> List[Any]:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> List[List[Parameter]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op (torch compacts cuDNN weights; there is nothing to compact here)."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward --

    def _prepare(self, input: Any, hx: Any) -> Tuple[Any, Any, Any, bool]:
        """(engine, time-major 3-D input, hx made batched, batched?) after torch's
        dimension checks."""
        eng = _input_engine(input, _mode_name(self.mode).lower())
        if input.dim() not in (2, 3):
            tail = " tensor instead" if self.mode.startswith("RNN") else " instead"
            raise ValueError(f"{_mode_name(self.mode)}: Expected input to be 2D or 3D, "
                             f"got {input.dim()}D{tail}")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1 if not self.batch_first else 0)
        if hx is not None:
            hx = _unsqueeze_hidden(hx, self.mode, 3 if batched else 2)
        weight = getattr(self, self._flat_weights_names[0])
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        if self.batch_first:
            input = input.transpose(0, 1)
        return eng, input, hx, batched

    def _initial_states(self, eng: Any, x: Any, hx: Any) -> List[Any]:
        """[h0] or [h0, c0] as 3-D tensors, checked against torch's expected sizes."""
        directions = 2 if self.bidirectional else 1
        batch = x.shape[1]
        real_hidden = self.proj_size or self.hidden_size
        expected = [(self.num_layers * directions, batch, real_hidden)]
        if self.mode == "LSTM":
            expected.append((self.num_layers * directions, batch, self.hidden_size))
        if hx is None:
            return [eng.zeros(*shape, dtype=x.dtype) for shape in expected]
        states = [hx[0], hx[1]] if self.mode == "LSTM" else [hx]
        for k, (state, shape) in enumerate(zip(states, expected)):
            if tuple(state.shape) != shape:
                what = f"hidden[{k}]" if self.mode == "LSTM" else "hidden"
                raise RuntimeError(f"Expected {what} size {shape}, got {list(state.shape)}")
        return states

    def forward(self, input: Any, hx: Any = None) -> Any:
        eng, x, hx, batched = self._prepare(input, hx)
        states = self._initial_states(eng, x, hx)
        directions = 2 if self.bidirectional else 1
        finals: List[List[Any]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                start = [s[k] for s in states]
                out, last = self._run_direction(eng, x, self.all_weights[k], start,
                                                reverse=direction == 1)
                outputs.append(out)
                for acc, s in zip(finals, last):
                    acc.append(s)
            x = outputs[0] if directions == 1 else eng.cat(outputs, 2)
            if self.dropout != 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        if self.batch_first:
            x = x.transpose(0, 1)
        last_states = [eng.stack(acc, 0) for acc in finals]
        if not batched:
            x = x.squeeze(1 if not self.batch_first else 0)
            last_states = [s.squeeze(1) for s in last_states]
        if self.mode == "LSTM":
            return x, (last_states[0], last_states[1])
        return x, last_states[0]

    def _run_direction(self, eng: Any, x: Any, weights: List[Any], start: List[Any],
                       reverse: bool) -> Tuple[Any, List[Any]]:
        """One layer in one direction over time-major x: (outputs (T, B, H), final states)."""
        w_ih, w_hh = weights[0], weights[1]
        b_ih, b_hh = (weights[2], weights[3]) if self.bias else (None, None)
        w_hh_t = w_hh.t().contiguous()
        steps = x.shape[0]
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        outs: List[Any] = [None] * steps
        h = start[0]
        if self.mode == "GRU":
            gi = F.linear(x, w_ih, b_ih)
            gi_steps = [part.unbind(0) for part in gi.chunk(3, 2)]
            for t in order:
                h = _gru_step((gi_steps[0][t], gi_steps[1][t], gi_steps[2][t]),
                              _addmm(eng, b_hh, h, w_hh_t), h)
                outs[t] = h
            return eng.stack(outs, 0), [h]
        gi = F.linear(x, w_ih, b_ih)
        if b_hh is not None:
            gi = gi + b_hh                      # folded once: each step is one addmm
        gi_steps = gi.unbind(0)
        if self.mode == "LSTM":
            c = start[1]
            w_hr_t = weights[-1].t().contiguous() if self.proj_size else None
            for t in order:
                h, c = _lstm_step(eng._addmm(gi_steps[t], h, w_hh_t), c)
                if w_hr_t is not None:
                    h = h.mm(w_hr_t)
                outs[t] = h
            return eng.stack(outs, 0), [h, c]
        relu = self.mode == "RNN_RELU"
        for t in order:
            h = _rnn_step(eng._addmm(gi_steps[t], h, w_hh_t), relu)
            outs[t] = h
        return eng.stack(outs, 0), [h]


def _mode_name(mode: str) -> str:
    return "RNN" if mode.startswith("RNN") else mode


def _check_sizes(dropout: Any, num_layers: Any, hidden_size: Any, proj_size: Any) -> None:
    if (not isinstance(dropout, numbers.Real) or isinstance(dropout, bool)
            or not 0 <= float(dropout) <= 1):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if float(dropout) > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
    for what, value in (("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{what} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{what} must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable "
                         "projections")


def _unsqueeze_hidden(hx: Any, mode: str, want: int) -> Any:
    """torch's check that hx (or (hx, cx)) has the input's rank; unsqueezed for unbatched."""
    pair = mode == "LSTM"
    parts = [hx[0], hx[1]] if pair else [hx]
    dims = [p.dim() for p in parts]
    if any(d != want for d in dims):
        kind = "unbatched 2-D" if want == 2 else "batched 3-D"
        if pair:
            raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                               f"({dims[0]}-D, {dims[1]}-D) tensors")
        raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                           f"{dims[0]}-D tensor")
    if want == 3:
        return hx
    parts = [p.unsqueeze(1) for p in parts]
    return (parts[0], parts[1]) if pair else parts[0]


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory; returns (output, (h_n, c_n))."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit; returns (output, h_n)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ------------------------------------------------------------------ cells

class RNNCellBase(Module):
    """What the cells share: weight_ih, weight_hh (, bias_ih, bias_hh), torch's checks."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        eng = _backend.engine_for(self)
        dtype = float32 if dtype is None else dtype
        self.weight_ih = Parameter(eng.empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(eng.empty(num_chunks * hidden_size, hidden_size,
                                             dtype=dtype))
        if bias:
            self.bias_ih = Parameter(eng.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(eng.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Any, states: List[Any]) -> Tuple[Any, Any, List[Any], bool]:
        """(engine, 2-D input, 2-D states (zeros when None), batched?) after torch's checks."""
        name = type(self).__name__
        eng = _input_engine(input, name)
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            states = [None if s is None else s.unsqueeze(0) for s in states]
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        out = []
        for k, s in enumerate(states):
            if s is None:
                s = eng.zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
            elif s.dim() != 2 or s.shape[1] != self.hidden_size:
                got = s.shape[1] if s.dim() > 1 else s.shape[-1]
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {got}, "
                                   f"expected {self.hidden_size}")
            elif s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match "
                                   f"hidden{k} batch size {s.shape[0]}")
            out.append(s)
        return eng, input, out, batched

    def _gates(self, eng: Any, input: Any, h: Any) -> Tuple[Any, Any]:
        """(x W_ih^T + b_ih, h W_hh^T + b_hh)."""
        return (F.linear(input, self.weight_ih, self.bias_ih),
                F.linear(h, self.weight_hh, self.bias_hh))


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Any:
        eng, x, (h,), batched = self._prepare(input, [hx])
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        gi, gh = self._gates(eng, x, h)
        h = _rnn_step(gh + gi, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h', c') from x and (h, c)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Any, hx: Optional[Tuple[Any, Any]] = None) -> Tuple[Any, Any]:
        states = [None, None] if hx is None else [hx[0], hx[1]]
        eng, x, (h, c), batched = self._prepare(input, states)
        gi, gh = self._gates(eng, x, h)
        h, c = _lstm_step(gh + gi, c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h' = (1 - z) * n + z * h."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Any, hx: Any = None) -> Any:
        eng, x, (h,), batched = self._prepare(input, [hx])
        gi, gh = self._gates(eng, x, h)
        h = _gru_step(tuple(gi.chunk(3, 1)), gh, h)
        return h if batched else h.squeeze(0)
