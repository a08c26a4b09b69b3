"""Recurrent layers with PyTorch's equations, gate order, parameter names, shapes and init.

Two versions of each recurrence:

- ``RNNCell``, ``LSTMCell``, ``GRUCell``: one time step, written with primitive Tensor ops
  (matmul, +, tanh, sigmoid, split), so the equations read as in a textbook and autograd derives
  the backward pass. Loop over them to run a sequence.
- ``RNN``, ``LSTM``, ``GRU``: a whole sequence and several stacked layers, each layer one
  autograd Function with a hand-written backpropagation through time (``rnn_kernels.py``). The
  tests hold them to a loop over the cells to 1e-10 in float64, outputs and every gradient.

Every weight and bias starts as U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
"""

import math

import numpy as np

from minigrad import ops
from minigrad.nn.layers import check_size, uniform_parameter
from minigrad.nn.module import Module
from minigrad.nn.rnn_kernels import GRULayer, LSTMLayer, RNNLayer
from minigrad.tensor import Tensor, as_tensor

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_nonlinearity(owner, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(
            f"{owner}: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')"
        )


def _as_input(owner, x, name="input"):
    """``x`` as a floating Tensor (arrays are wrapped, not copied)."""
    if not isinstance(x, Tensor):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{owner}: {name} must be a Tensor or ndarray, got {type(x).__name__}")
        x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{owner}: {name} must be floating-point, got dtype {x.dtype}")
    return x


# ------------------------------------------------------------------------------------ cells
class _CellBase(Module):
    """Parameters and input checks shared by the three cells."""

    def __init__(self, input_size, hidden_size, bias, gates, dtype):
        super().__init__()
        owner = type(self).__name__
        check_size(owner, "input_size", input_size, 1)
        check_size(owner, "hidden_size", hidden_size, 1)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        bound = 1 / math.sqrt(hidden_size)
        self.weight_ih = uniform_parameter((gates * hidden_size, input_size), bound, dtype)
        self.weight_hh = uniform_parameter((gates * hidden_size, hidden_size), bound, dtype)
        if bias:
            self.bias_ih = uniform_parameter((gates * hidden_size,), bound, dtype)
            self.bias_hh = uniform_parameter((gates * hidden_size,), bound, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _check_input(self, x):
        """Validate ``x`` of shape (B, input_size) or (input_size,) and return it as a Tensor."""
        owner = type(self).__name__
        x = _as_input(owner, x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{owner}: input has shape {x.shape}, expected (batch, {self.input_size}) "
                f"or ({self.input_size},)"
            )
        return x

    def _check_state(self, x, state, name):
        """Validate a state Tensor against ``x``: (B, hidden) for batched x, (hidden,) if not."""
        owner = type(self).__name__
        if state is None:
            shape = x.shape[:-1] + (self.hidden_size,)
            return as_tensor(np.zeros(shape, dtype=self.weight_ih.dtype))
        state = _as_input(owner, state, name)
        expected = x.shape[:-1] + (self.hidden_size,)
        if state.shape != expected:
            raise ValueError(f"{owner}: {name} has shape {state.shape}, expected {expected}")
        return state

    def _affine(self, x, h):
        """(x W_ih^T + b_ih, h W_hh^T + b_hh), the two products every cell starts from."""
        gi = x @ self.weight_ih.T
        gh = h @ self.weight_hh.T
        if self.bias:
            gi = gi + self.bias_ih
            gh = gh + self.bias_hh
        return gi, gh

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        return text


class RNNCell(_CellBase):
    """An Elman RNN cell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    Parameters: weight_ih (hidden, input), weight_hh (hidden, hidden), bias_ih and bias_hh
    (hidden,). ``forward(input, hx=None)``: input (B, input_size) or (input_size,), hx of the
    matching shape (B, hidden) or (hidden,), zeros when None; returns h'.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """One step: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
        x = self._check_input(input)
        h = self._check_state(x, hx, "hx")
        gi, gh = self._affine(x, h)
        pre = gi + gh
        return pre.tanh() if self.nonlinearity == "tanh" else pre.relu()

    def extra_repr(self):
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + ", nonlinearity='relu'"


class LSTMCell(_CellBase):
    """A long short-term memory cell, gates in PyTorch's order i, f, g, o.

        i = sigmoid(A_i), f = sigmoid(A_f), g = tanh(A_g), o = sigmoid(A_o),
        with A = x W_ih^T + b_ih + h W_hh^T + b_hh split into four blocks of ``hidden_size``
        c' = f * c + i * g
        h' = o * tanh(c')

    Parameters: weight_ih (4*hidden, input), weight_hh (4*hidden, hidden), bias_ih and bias_hh
    (4*hidden,). ``forward(input, hx=None)``: hx is a pair (h, c), zeros when None; returns
    (h', c').
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """One step; returns (h', c')."""
        x = self._check_input(input)
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, tuple | list) or len(hx) != 2:
            raise ValueError(f"LSTMCell: hx must be a pair (h, c), got {type(hx).__name__}")
        h = self._check_state(x, hx[0], "h")
        c = self._check_state(x, hx[1], "c")
        gi, gh = self._affine(x, h)
        i, f, g, o = ops.split(gi + gh, 4, axis=-1)
        c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h_next = o.sigmoid() * c_next.tanh()
        return h_next, c_next


class GRUCell(_CellBase):
    """A gated recurrent unit cell, with PyTorch's equations and gate order r, z, n.

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) * n + z * h

    Parameters: weight_ih (3*hidden, input), weight_hh (3*hidden, hidden), bias_ih and bias_hh
    (3*hidden,). ``forward(input, hx=None)``: hx zeros when None; returns h'.
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """One step; returns h'."""
        x = self._check_input(input)
        h = self._check_state(x, hx, "hx")
        gi, gh = self._affine(x, h)
        i_r, i_z, i_n = ops.split(gi, 3, axis=-1)
        h_r, h_z, h_n = ops.split(gh, 3, axis=-1)
        r = (i_r + h_r).sigmoid()
        z = (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        return (1 - z) * n + z * h


# ---------------------------------------------------------------------------------- layers
class _RNNBase(Module):
    """Stacked recurrent layers over a sequence; each layer is one BPTT Function."""

    def __init__(self, mode, input_size, hidden_size, num_layers, bias, batch_first, dtype):
        super().__init__()
        owner = type(self).__name__
        check_size(owner, "input_size", input_size, 1)
        check_size(owner, "hidden_size", hidden_size, 1)
        check_size(owner, "num_layers", num_layers, 1)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bool(bias), bool(batch_first)
        gates = _GATES[mode] * hidden_size
        bound = 1 / math.sqrt(hidden_size)
        # PyTorch's registration order: per layer weight_ih, weight_hh, bias_ih, bias_hh.
        for k in range(num_layers):
            layer_input = input_size if k == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{k}",
                                    uniform_parameter((gates, layer_input), bound, dtype))
            self.register_parameter(f"weight_hh_l{k}",
                                    uniform_parameter((gates, hidden_size), bound, dtype))
            if bias:
                self.register_parameter(f"bias_ih_l{k}", uniform_parameter((gates,), bound, dtype))
                self.register_parameter(f"bias_hh_l{k}", uniform_parameter((gates,), bound, dtype))

    def _layer_params(self, k):
        """Layer k's (weight_ih, weight_hh[, bias_ih, bias_hh]) in the order the Functions take."""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        return [self._parameters[f"{name}_l{k}"] for name in names]

    def _check_input(self, x):
        """Validate x; return it as (T, B, input_size) and whether it came unbatched."""
        owner = type(self).__name__
        x = _as_input(owner, x)
        layout = "(batch, seq_len, input_size)" if self.batch_first else \
            "(seq_len, batch, input_size)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{owner}: input has shape {x.shape}, expected {layout} with input_size="
                f"{self.input_size}, or (seq_len, {self.input_size}) unbatched"
            )
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        if x.shape[0] == 0:
            raise ValueError(f"{owner}: input has shape {x.shape}: the sequence is empty")
        return x, unbatched

    def _initial_state(self, x, state, unbatched, name):
        """The initial state as (num_layers, B, hidden): validated, or zeros when None."""
        owner = type(self).__name__
        batch = x.shape[1]
        expected = (self.num_layers, batch, self.hidden_size)
        if state is None:
            return None
        state = _as_input(owner, state, name)
        if unbatched:
            if state.shape != (self.num_layers, self.hidden_size):
                raise ValueError(f"{owner}: {name} has shape {state.shape}, expected "
                                 f"{(self.num_layers, self.hidden_size)} for unbatched input")
            return state.unsqueeze(1)
        if state.shape != expected:
            raise ValueError(f"{owner}: {name} has shape {state.shape}, expected {expected} "
                             "(num_layers, batch, hidden_size)")
        return state

    def _layer_state(self, state, k, batch):
        """Layer k's initial state (B, hidden): a slice of ``state``, or zeros."""
        if state is None:
            return as_tensor(np.zeros((batch, self.hidden_size), dtype=self.weight_ih_l0.dtype))
        return state[k]

    def _run_layers(self, input, hx, apply_layer):
        """Forward of a one-state network (RNN, GRU): each layer in turn; (output, h_n).

        ``apply_layer(x, h0, params)`` runs one layer over the whole sequence.
        """
        x, unbatched = self._check_input(input)
        hx = self._initial_state(x, hx, unbatched, "hx")
        finals = []
        for k in range(self.num_layers):
            h0 = self._layer_state(hx, k, x.shape[1])
            x = apply_layer(x, h0, self._layer_params(k))
            finals.append(x[-1])
        output, (h_n,) = self._finish(x, [finals], unbatched)
        return output, h_n

    def _finish(self, output, finals, unbatched):
        """Put output back in the caller's layout and stack the per-layer final states."""
        if unbatched:
            return output.squeeze(1), [ops.stack(f, axis=0).squeeze(1) for f in finals]
        if self.batch_first:
            output = output.transpose(1, 0, 2)
        return output, [ops.stack(f, axis=0) for f in finals]

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        return text


class RNN(_RNNBase):
    """A multi-layer Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Layer k > 0 takes layer k-1's outputs as its x_t. Parameters weight_ih_l{k}
    (hidden, input_size for k = 0 else hidden), weight_hh_l{k} (hidden, hidden), bias_ih_l{k}
    and bias_hh_l{k} (hidden,).

    ``forward(input, hx=None)``: input (T, B, input_size), or (B, T, input_size) with
    ``batch_first``, or (T, input_size) unbatched; hx (num_layers, B, hidden) (zeros when None).
    Returns (output, h_n): output the last layer's h_t for every t, (T, B, hidden) (batch first
    when ``batch_first``), and h_n (num_layers, B, hidden) every layer's last h.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dtype=None):
        _check_nonlinearity("RNN", nonlinearity)
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """Run the sequence through every layer; return (output, h_n)."""
        return self._run_layers(input, hx, lambda x, h0, params: RNNLayer.apply(
            x, h0, *params, nonlinearity=self.nonlinearity))


class LSTM(_RNNBase):
    """A multi-layer LSTM, with PyTorch's equations and gate order i, f, g, o:

        i, f, o = sigmoid(A_i), sigmoid(A_f), sigmoid(A_o);  g = tanh(A_g)
        A = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

    Parameters weight_ih_l{k} (4*hidden, input_size for k = 0 else hidden), weight_hh_l{k}
    (4*hidden, hidden), bias_ih_l{k} and bias_hh_l{k} (4*hidden,).

    ``forward(input, hx=None)``: input as for ``RNN``; hx a pair (h_0, c_0), each
    (num_layers, B, hidden), zeros when None. Returns (output, (h_n, c_n)).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """Run the sequence through every layer; return (output, (h_n, c_n))."""
        x, unbatched = self._check_input(input)
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, tuple | list) or len(hx) != 2:
            raise ValueError(f"LSTM: hx must be a pair (h_0, c_0), got {type(hx).__name__}")
        h_state = self._initial_state(x, hx[0], unbatched, "h_0")
        c_state = self._initial_state(x, hx[1], unbatched, "c_0")
        h_finals, c_finals = [], []
        for k in range(self.num_layers):
            h0 = self._layer_state(h_state, k, x.shape[1])
            c0 = self._layer_state(c_state, k, x.shape[1])
            both = LSTMLayer.apply(x, h0, c0, *self._layer_params(k))  # (2, T, B, H): h and c
            x = both[0]
            h_finals.append(x[-1])
            c_finals.append(both[1, -1])
        output, (h_n, c_n) = self._finish(x, [h_finals, c_finals], unbatched)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """A multi-layer GRU, with PyTorch's equations and gate order r, z, n:

        r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
        z = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Parameters weight_ih_l{k} (3*hidden, input_size for k = 0 else hidden), weight_hh_l{k}
    (3*hidden, hidden), bias_ih_l{k} and bias_hh_l{k} (3*hidden,).

    ``forward(input, hx=None)``: as for ``RNN``; returns (output, h_n).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """Run the sequence through every layer; return (output, h_n)."""
        return self._run_layers(input, hx, lambda x, h0, params: GRULayer.apply(x, h0, *params))
