"""Recurrent layers: RNN, LSTM, GRU and their cells, on the fused time loops of
strided._C.kernels.rnn (NOTE [ Fused recurrent steps ]).

Each layer and direction is one op recorded as one backward node over the whole sequence
(the node's backward runs backpropagation through time); layers stack on autograd-aware
cat (bidirectional outputs) and dropout.  A cell is the same op over a sequence of one step.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from strided import creation as _creation
from strided._C.core import dtypes as _dtypes
from strided._C.core.device import check_device
from strided._C.core.tensor import Tensor
from strided._C.kernels import rnn as _rnn
from strided._C.ops.join import cat, stack
from strided.autograd.grad_mode import no_grad
from strided.autograd.record import derivative, record, requires_record
from strided.nn import functional as F
from strided.nn import init
from strided.nn.module import Module
from strided.nn.parameter import Parameter
from strided.types import _DTypeLike

_MODES = {"RNN_TANH": _rnn.RNN_TANH, "RNN_RELU": _rnn.RNN_RELU, "LSTM": _rnn.LSTM,
          "GRU": _rnn.GRU}
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


@derivative("rnn_layer", "RnnLayerBackward0", sparse_grads=True)    # NOTE [ Derivative table ]
def _rnn_layer_grads(ctx, dout, dh_n, dc_n=None):
    """Backpropagation through time for one layer and direction (NOTE [ Fused recurrent
    steps ]): the fused per-step backward, then GEMMs over all steps for the weights and
    the input; the biases' gradients are column sums of the gates' gradients."""
    nx, nh0, nc0, nwi, nwh, nbi, nbh, nwr = ctx.needs
    with no_grad():
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr = _rnn.rnn_backward(
            ctx.mode, dout, dh_n, dc_n, ctx.x, ctx.h0, ctx.c0, ctx.w_ih, ctx.w_hh, ctx.out,
            ctx.act, ctx.cs, ctx.reverse, nx, nwi or nwh or nwr, ctx.w_hr, ctx.hfull,
            nbi or nbh)
    return (dx if nx else None, dh0 if nh0 else None, dc0 if nc0 else None,
            dw_ih if nwi else None, dw_hh if nwh else None, db_ih if nbi else None,
            db_hh if nbh else None, dw_hr if nwr else None)


def _mergeable(x):
    """True when x (T, B, I)'s first two dims merge into one row dim (the kernel's layout)."""
    T, B = x.shape[0], x.shape[1]
    return B == 1 or T == 1 or x.stride(0) == B * x.stride(1)


def _rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, w_hr=None):
    """One layer in one direction: x (T, B, I), h0 (B, P) (and c0 (B, H)) -> (out (T, B,
    P), h_n, c_n or None), recorded as one node; P = H unless LSTM's projection w_hr
    (P, H) is given."""
    if not _mergeable(x):
        x = x.contiguous()
    h0 = h0.contiguous()
    c0 = c0.contiguous() if c0 is not None else None
    rec = requires_record(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    with no_grad():
        out, h_n, c_n, act, cs, hfull = _rnn.rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih,
                                                         b_hh, reverse, rec, w_hr)
    if not rec:
        return out, h_n, c_n
    outs = (out, h_n) if c_n is None else (out, h_n, c_n)
    record("rnn_layer", (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr), outs,
           {"x": x, "h0": h0, "c0": c0, "w_ih": w_ih, "w_hh": w_hh, "w_hr": w_hr, "out": out,
            "act": act, "cs": cs, "hfull": hfull}, mode=mode, reverse=bool(reverse))
    return out, h_n, c_n


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrence RNN, LSTM and GRU share (PyTorch's
    RNNBase): parameters weight_ih_l{k}[_reverse] (G*H, I or D*P), weight_hh_l{k}[_reverse]
    (G*H, P), with bias bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse] (G*H,), and with
    LSTM's proj_size P > 0 weight_hr_l{k}[_reverse] (P, H), all drawn from
    U(-1/sqrt(H), 1/sqrt(H)); G is 1, 4 or 3 gates, P = H without a projection.  Use RNN,
    LSTM or GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: object = None,
                 dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, f"{type(self).__name__}()")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: "
                            f"{type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _MODES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dtype = dtype or _dtypes.float32
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                real_hidden = proj_size if proj_size > 0 else hidden_size
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    params += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    params += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for base, shape in params:
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(_creation.empty(*shape, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction, [[w_ih, w_hh, b_ih, b_hh(, w_hr)], ...]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

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

    def _check_input(self, input):
        w = getattr(self, self._flat_weights_names[0])
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match "
                             f"weight dtype ({w.dtype}). Convert input: "
                             f"input.to({w.dtype}), or convert model: "
                             f"model.to({input.dtype})")
        if input.ndim != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.ndim}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        T = input.shape[1] if self.batch_first else input.shape[0]
        if T == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

    def _expected_hidden(self, input, cell=False):
        """The shape of h0 (of c0 with cell=True): (num_layers * D, batch, P or H)."""
        batch = input.shape[0] if self.batch_first else input.shape[1]
        width = self.proj_size if self.proj_size > 0 and not cell else self.hidden_size
        return (self.num_layers * (2 if self.bidirectional else 1), batch, width)

    @staticmethod
    def _check_hidden(hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))
        return hx

    def _run(self, input, hx, cx):
        """The stacked layers on (T, B, I) or (B, T, I) input with initial states (L*D, B, H):
        (output, h_n, c_n or None)."""
        mode = _MODES[self.mode]
        x = input.transpose(0, 1) if self.batch_first else input
        num_directions = 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                params = [getattr(self, name) for name in self._all_weights[k]]
                w_ih, w_hh = params[0], params[1]
                b_ih, b_hh = (params[2], params[3]) if self.bias else (None, None)
                w_hr = params[-1] if self.proj_size > 0 else None
                out, h, c = _rnn_layer(mode, x, hx[k], cx[k] if cx is not None else None,
                                       w_ih, w_hh, b_ih, b_hh, direction == 1, w_hr)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            x = outs[0] if num_directions == 1 else cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if self.batch_first else x
        return output, stack(hs, 0), (stack(cs, 0) if cx is not None else None)

    def _forward_h(self, input, hx):
        """forward of the one-state layers (RNN, GRU)."""
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if input.ndim not in (2, 3):
            sep = " tensor" if name == "RNN" else ""
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D"
                             f"{sep} instead")
        batched = input.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
            if hx is not None:
                if hx.ndim != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but "
                                       f"got {hx.ndim}-D tensor")
                hx = hx.unsqueeze(1)
        elif hx is not None and hx.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                               f"{hx.ndim}-D tensor")
        self._check_input(input)
        if hx is None:
            hx = self._zeros_state(input)
        self._check_hidden(hx, self._expected_hidden(input))
        _check_state_dtype(hx, input)
        output, h_n, _ = self._run(input, hx, None)
        if not batched:
            output, h_n = output.squeeze(batch_dim), h_n.squeeze(1)
        return output, h_n

    def _zeros_state(self, input, cell=False):
        return _creation.zeros(*self._expected_hidden(input, cell), dtype=input.dtype)


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), as
    PyTorch's.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, dtype=None).
    forward(input, hx=None) -> (output, h_n): input (T, B, input_size) -- (B, T, ...) with
    batch_first -- or unbatched (T, input_size); hx (num_layers * D, B, hidden_size) or
    (num_layers * D, hidden_size), zeros when None; output (T, B, D * hidden_size) holds the
    last layer's h_t (both directions concatenated), h_n every layer's final state.
    Dropout (training mode only) applies to the outputs of every layer but the last.  Each
    layer and direction runs as one fused time loop (NOTE [ Fused recurrent steps ]).
    With batch_first the output is a transposed view (PyTorch's is contiguous).

    >>> rnn = nn.RNN(4, 8, num_layers=2)
    >>> out, h = rnn(strided.randn(5, 3, 4))
    >>> out.shape, h.shape
    (strided.Size([5, 3, 8]), strided.Size([2, 3, 8]))
    """

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

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(output, h_n) for input (T, B, input_size) (or batch_first, or unbatched) and
        initial state hx (zeros when None)."""
        return self._forward_h(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit, as PyTorch's: per step, with gates in the order r, z, n,
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, dtype=None); forward(input, hx=None) -> (output, h_n) with RNN's
    shapes (weights (3 * hidden_size, ...)).

    >>> gru = nn.GRU(4, 8, batch_first=True, bidirectional=True)
    >>> out, h = gru(strided.randn(3, 5, 4))
    >>> out.shape, h.shape
    (strided.Size([3, 5, 16]), strided.Size([2, 3, 8]))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(output, h_n) for input (T, B, input_size) (or batch_first, or unbatched) and
        initial state hx (zeros when None)."""
        return self._forward_h(input, hx)


class LSTM(RNNBase):
    """Long short-term memory, as PyTorch's: per step, with gates in the order i, f, g, o,
    i, f, o = sigmoid(W_i* x + b_i* + W_h* h + b_h*), g = tanh(W_ig x + b_ig + W_hg h + b_hg),
    c' = f * c + i * g, h' = o * tanh(c').

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, dtype=None).  forward(input, hx=None) -> (output,
    (h_n, c_n)): input (T, B, input_size) -- (B, T, ...) with batch_first -- or unbatched
    (T, input_size); hx a pair (h_0, c_0) of (num_layers * D, B, hidden_size) (or
    (num_layers * D, hidden_size) unbatched), zeros when None.  With proj_size P > 0 the
    hidden state is projected, h' = (o * tanh(c')) @ W_hr^T: output, h_0 and h_n have P
    features instead of hidden_size.  Each layer and direction runs as one fused time loop
    and one backward node (NOTE [ Fused recurrent steps ]).

    >>> lstm = nn.LSTM(4, 8, num_layers=2)
    >>> out, (h, c) = lstm(strided.randn(5, 3, 4))
    >>> out.shape, h.shape, c.shape
    (strided.Size([5, 3, 8]), strided.Size([2, 3, 8]), strided.Size([2, 3, 8]))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if input.ndim not in (2, 3):
            raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {input.ndim}D instead")
        batched = input.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        if hx is not None:
            h0, c0 = hx
            if batched:
                if h0.ndim != 3 or c0.ndim != 3:
                    raise RuntimeError(f"For batched 3-D input, hx and cx should also be 3-D "
                                       f"but got ({h0.ndim}-D, {c0.ndim}-D) tensors")
            else:
                if h0.ndim != 2 or c0.ndim != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx and cx should also be "
                                       f"2-D but got ({h0.ndim}-D, {c0.ndim}-D) tensors")
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
        self._check_input(input)
        if hx is None:
            h0, c0 = self._zeros_state(input), self._zeros_state(input, cell=True)
        self._check_hidden(h0, self._expected_hidden(input), "Expected hidden[0] size {}, got {}")
        self._check_hidden(c0, self._expected_hidden(input, cell=True),
                           "Expected hidden[1] size {}, got {}")
        _check_state_dtype(h0, input)
        _check_state_dtype(c0, input)
        output, h_n, c_n = self._run(input, h0, c0)
        if not batched:
            output, h_n, c_n = output.squeeze(batch_dim), h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)


def _check_state_dtype(h, input):
    if h.dtype != input.dtype:
        raise RuntimeError(f"Expected the hidden state's dtype {h.dtype} to match the input's "
                           f"{input.dtype}")


class RNNCellBase(Module):
    """What RNNCell, LSTMCell and GRUCell share (PyTorch's RNNCellBase): weight_ih
    (G*H, input_size), weight_hh (G*H, H) and with bias bias_ih, bias_hh (G*H,), all drawn
    from U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: object = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__()
        check_device(device, f"{type(self).__name__}()")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = dtype or _dtypes.float32
        empty = _creation.empty
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
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

    @staticmethod
    def _check_input_dim(input, name):
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D "
                             "instead")

    def _step(self, mode, input, states):
        """One step of the fused loop: input (B, I) or (I,), states (B, H) each or None."""
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if states is None:
            z = _creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
            states = [z, z] if mode == _rnn.LSTM else [z]
        elif not batched:
            states = [s.unsqueeze(0) for s in states]
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        for i, s in enumerate(states):
            if s.ndim != 2:
                raise RuntimeError(f"expected a 2-D hidden state for 2-D input, got "
                                   f"{s.ndim}-D")
            if s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} "
                                   f"batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
            if s.dtype != input.dtype:
                raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                                   f"{s.dtype} and {input.dtype}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                               f"{input.dtype} and {self.weight_ih.dtype}")
        c0 = states[1] if mode == _rnn.LSTM else None
        _, h, c = _rnn_layer(mode, input.unsqueeze(0), states[0], c0, self.weight_ih,
                             self.weight_hh, self.bias_ih, self.bias_hh, False)
        if not batched:
            h = h.squeeze(0)
            c = c.squeeze(0) if c is not None else None
        return h if c is None else (h, c)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN, h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), as
    PyTorch's RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', dtype=None).

    forward(input, hx=None) -> h': input (B, input_size) or (input_size,), hx (B,
    hidden_size) or (hidden_size,), zeros when None.

    >>> cell = nn.RNNCell(4, 8)
    >>> cell(strided.randn(3, 4)).shape
    strided.Size([3, 8])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: object = None,
                 dtype: _DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """h' for input (B, input_size) or (input_size,) and hx (zeros when None)."""
        self._check_input_dim(input, "RNNCell")
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        if self.nonlinearity == "tanh":
            mode = _rnn.RNN_TANH
        elif self.nonlinearity == "relu":
            mode = _rnn.RNN_RELU
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step(mode, input, None if hx is None else [hx])


class LSTMCell(RNNCellBase):
    """One LSTM step, as PyTorch's LSTMCell(input_size, hidden_size, bias=True, dtype=None):
    gates i, f, g, o from x W_ih^T + b_ih + h W_hh^T + b_hh, c' = f * c + i * g,
    h' = o * tanh(c').

    forward(input, hx=None) -> (h', c'): input (B, input_size) or (input_size,), hx a pair
    (h, c) of (B, hidden_size) (or (hidden_size,)), zeros when None.  One fused kernel
    computes the gates and both states.

    >>> cell = nn.LSTMCell(4, 8)
    >>> h, c = cell(strided.randn(3, 4))
    >>> h.shape, c.shape
    (strided.Size([3, 8]), strided.Size([3, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: object = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """(h', c') for input (B, input_size) or (input_size,) and hx = (h, c) (zeros when
        None)."""
        self._check_input_dim(input, "LSTMCell")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.ndim not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got "
                                     f"{value.ndim}D instead")
        return self._step(_rnn.LSTM, input, None if hx is None else list(hx))


class GRUCell(RNNCellBase):
    """One GRU step, as PyTorch's GRUCell(input_size, hidden_size, bias=True, dtype=None):
    gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    forward(input, hx=None) -> h': input (B, input_size) or (input_size,), hx (B,
    hidden_size) or (hidden_size,), zeros when None.

    >>> cell = nn.GRUCell(4, 8)
    >>> cell(strided.randn(3, 4), strided.zeros(3, 8)).shape
    strided.Size([3, 8])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: object = None, dtype: _DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """h' for input (B, input_size) or (input_size,) and hx (zeros when None)."""
        self._check_input_dim(input, "GRUCell")
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        return self._step(_rnn.GRU, input, None if hx is None else [hx])
