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
import warnings

import numpy as np

from minigrad import ops
from minigrad.nn import functional as F
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
_DIRECTIONS = ("", "_reverse")  # parameter-name suffixes, as in PyTorch


def _check_dropout(owner, dropout, num_layers):
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or \
            not 0 <= dropout <= 1:
        raise ValueError(f"{owner}: dropout must be a probability in [0, 1], got {dropout!r}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"{owner}: dropout={dropout} applies between stacked layers, so it does "
                      "nothing with num_layers=1", UserWarning, stacklevel=4)


class _RNNBase(Module):
    """Stacked, optionally bidirectional recurrent layers; each direction of each layer is one
    BPTT Function (``rnn_kernels.py``) over the whole sequence.

    Layer k > 0 reads layer k-1's output: both directions' hidden states side by side,
    (T, B, num_directions * hidden), after dropout in training mode when ``dropout`` > 0.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                 bidirectional, dtype):
        super().__init__()
        owner = type(self).__name__
        check_size(owner, "input_size", input_size, 1)
        check_size(owner, "hidden_size", hidden_size, 1)
        check_size(owner, "num_layers", num_layers, 1)
        _check_dropout(owner, dropout, num_layers)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        gates = _GATES[mode] * hidden_size
        bound = 1 / math.sqrt(hidden_size)
        # PyTorch's registration order: per layer, per direction, weight_ih, weight_hh,
        # bias_ih, bias_hh; the reverse direction's names end in "_reverse".
        for k in range(num_layers):
            layer_input = input_size if k == 0 else hidden_size * self.num_directions
            for suffix in _DIRECTIONS[:self.num_directions]:
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                for name, shape in shapes.items():
                    self.register_parameter(f"{name}_l{k}{suffix}",
                                            uniform_parameter(shape, bound, dtype))

    @property
    def num_directions(self):
        """2 for a bidirectional layer, else 1."""
        return 2 if self.bidirectional else 1

    def _layer_params(self, k, suffix):
        """The (weight_ih, weight_hh[, bias_ih, bias_hh]) of layer k in one direction."""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        return [self._parameters[f"{name}_l{k}{suffix}"] for name in names]

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
        """An initial state as (num_layers * num_directions, B, hidden), validated; or None."""
        if state is None:
            return None
        owner = type(self).__name__
        stacks = self.num_layers * self.num_directions
        state = _as_input(owner, state, name)
        if unbatched:
            if state.shape != (stacks, self.hidden_size):
                raise ValueError(f"{owner}: {name} has shape {state.shape}, expected "
                                 f"{(stacks, self.hidden_size)} for unbatched input")
            return state.unsqueeze(1)
        expected = (stacks, x.shape[1], self.hidden_size)
        if state.shape != expected:
            raise ValueError(f"{owner}: {name} has shape {state.shape}, expected {expected} "
                             "(num_layers * num_directions, batch, hidden_size)")
        return state

    def _run(self, input, states, names, run_direction):
        """Run every layer and direction; return (output, final states) in the caller's layout.

        ``states`` are the initial states given (None for zeros) and ``names`` their names for
        error messages. ``run_direction(x, initial, params, reverse)`` runs one direction of
        one layer over the whole sequence and returns its output (T, B, hidden) and its final
        states (B, hidden), one per state.
        """
        x, unbatched = self._check_input(input)
        states = [self._initial_state(x, s, unbatched, n) for s, n in zip(states, names)]
        batch, zeros = x.shape[1], None
        finals = [[] for _ in states]
        for k in range(self.num_layers):
            if k > 0:
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for d, suffix in enumerate(_DIRECTIONS[:self.num_directions]):
                stack = k * self.num_directions + d
                if zeros is None and any(s is None for s in states):
                    zeros = as_tensor(np.zeros((batch, self.hidden_size),
                                               dtype=self.weight_ih_l0.dtype))
                initial = [zeros if s is None else s[stack] for s in states]
                output, last = run_direction(x, initial, self._layer_params(k, suffix), d == 1)
                outputs.append(output)
                for final, state in zip(finals, last):
                    final.append(state)
            x = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=2)
        finals = [ops.stack(f, axis=0) for f in finals]
        if unbatched:
            return x.squeeze(1), [f.squeeze(1) for f in finals]
        return (x.transpose(1, 0, 2) if self.batch_first else x), finals

    def _one_state(self, input, hx, layer, **params):
        """Forward of RNN and GRU, whose only state is h: (output, h_n)."""
        def run_direction(x, initial, weights, reverse):
            hs = layer.apply(x, *initial, *weights, reverse=reverse, **params)
            return hs, [hs[0 if reverse else -1]]

        output, (h_n,) = self._run(input, [hx], ["hx"], run_direction)
        return output, h_n

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
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


_SHAPES_DOC = """
    ``forward(input, hx=None)``: input (T, B, input_size), or (B, T, input_size) with
    ``batch_first``, or (T, input_size) unbatched. Returns (output, h_n): output holds the last
    layer's h_t for every t, (T, B, D * hidden) (batch first with ``batch_first``), where D is
    2 for a bidirectional layer, whose output puts the forward direction's h_t in the first
    ``hidden`` features and the reverse direction's (which read x_T .. x_t) in the last. h_n is
    (num_layers * D, B, hidden): every layer's and direction's final state, in the order
    l0, l0 reverse, l1, ...; hx, the initial states, has the same shape (zeros when None).

    ``dropout`` > 0 zeroes each output element of every layer but the last with that
    probability (scaling the rest by 1 / (1 - dropout)) in training mode, with masks drawn from
    minigrad's generator (``minigrad.manual_seed`` makes them repeatable).
"""


class RNN(_RNNBase):
    """A multi-layer Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Parameters weight_ih_l{k} (hidden, input_size for k = 0 else D * hidden), weight_hh_l{k}
    (hidden, hidden), bias_ih_l{k} and bias_hh_l{k} (hidden,), and the same names ending in
    "_reverse" for the reverse direction of a bidirectional layer.
    """

    __doc__ += _SHAPES_DOC

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None):
        _check_nonlinearity("RNN", nonlinearity)
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """Run the sequence through every layer; return (output, h_n)."""
        return self._one_state(input, hx, RNNLayer, nonlinearity=self.nonlinearity)


class LSTM(_RNNBase):
    """A multi-layer LSTM, with PyTorch's equations and gate order i, f, g, o:

        i, f, o = sigmoid(A_i), sigmoid(A_f), sigmoid(A_o);  g = tanh(A_g)
        A = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

    Parameters weight_ih_l{k} (4*hidden, input_size for k = 0 else D * hidden), weight_hh_l{k}
    (4*hidden, hidden), bias_ih_l{k} and bias_hh_l{k} (4*hidden,), and the same names ending
    in "_reverse" for the reverse direction of a bidirectional layer.

    As ``RNN``, except that the state is a pair: hx = (h_0, c_0), each shaped like RNN's hx,
    and the result is (output, (h_n, c_n)).
    """

    __doc__ += _SHAPES_DOC

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """Run the sequence through every layer; return (output, (h_n, c_n))."""
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, tuple | list) or len(hx) != 2:
            raise ValueError(f"LSTM: hx must be a pair (h_0, c_0), got {type(hx).__name__}")

        def run_direction(x, initial, weights, reverse):
            both = LSTMLayer.apply(x, *initial, *weights, reverse=reverse)  # (2, T, B, H)
            last = 0 if reverse else -1
            return both[0], [both[0, last], both[1, last]]

        output, (h_n, c_n) = self._run(input, list(hx), ["h_0", "c_0"], run_direction)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """A multi-layer GRU, with PyTorch's equations and gate order r, z, n:

        r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
        z = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Parameters weight_ih_l{k} (3*hidden, input_size for k = 0 else D * hidden), weight_hh_l{k}
    (3*hidden, hidden), bias_ih_l{k} and bias_hh_l{k} (3*hidden,), and the same names ending
    in "_reverse" for the reverse direction of a bidirectional layer.
    """

    __doc__ += _SHAPES_DOC

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        """Run the sequence through every layer; return (output, h_n)."""
        return self._one_state(input, hx, GRULayer)
