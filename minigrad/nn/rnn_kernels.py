"""Whole-sequence recurrent layers with hand-written backpropagation through time (BPTT).

Each class here is one autograd Function that runs one layer over all T time steps. Built from
per-step Tensor ops, a sequence would record ~10 graph nodes per step, each allocating its output
and its gradient; here the graph has one node per layer and the time loop does only what cannot
be batched:

forward
    1. A = x W_ih^T + b for all steps at once: ONE (T*B, I) x (I, G*H) matrix product.
    2. For t = 1..T: A[t] += h_{t-1} W_hh^T (a (B, H) x (H, G*H) product into a preallocated
       buffer), then the gate nonlinearities in place, so A ends up holding the activated gates
       that the backward pass needs.
backward
    3. For t = T..1: add the incoming gradient of h_t (and c_t), turn it into the gradient of
       the pre-activations dA[t] (elementwise, from the saved gates), and carry
       dh_{t-1} = dA[t] W_hh to the previous step.
    4. With every dA[t] stored in one (T, B, G*H) buffer, the parameter and input gradients are
       ONE product or sum each: dW_ih = dA^T x, dW_hh = dA^T h_prev, db = sum(dA), dx = dA W_ih.

The gate nonlinearities run over whole (B, G*H) blocks in NumPy (np.tanh, and sigmoid through
tanh); the rest of each LSTM and GRU step's elementwise work is one call to a step kernel, compiled
with Numba when it can run (``rnn_numba.py``) and otherwise its NumPy original (``rnn_steps.py``).

Shapes: x (T, B, I), h0 (B, H), W_ih (G*H, I), W_hh (G*H, H), b_ih and b_hh (G*H,), with
G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: gates r, z, n), stacked as in PyTorch.
Everything runs in the weights' dtype; an input of another dtype is converted, and its gradient
converted back.
"""

import numpy as np

from minigrad._numba import compiled
from minigrad.autograd import Function
from minigrad.nn import rnn_steps
from minigrad.ops import xp_numpy


def _kernels():
    """The compiled step kernels when Numba is available and enabled, else the NumPy originals."""
    return compiled("minigrad.nn.rnn_numba") or rnn_steps


def _halve_sigmoid_rows(w_ih, w_hh, biases, blocks, sigmoid_blocks):
    """Copies of the weights and biases with the rows of the sigmoid gates halved.

    sigmoid(a) = (1 + tanh(a / 2)) / 2, so with those rows halved ONE np.tanh call over a step's
    pre-activations activates every gate (the step kernels finish the sigmoids). Halving is exact
    in binary floating point: it changes no bit of the products.
    """
    hidden = w_hh.shape[1]
    scale = np.ones(blocks * hidden, dtype=w_ih.dtype)
    for k in sigmoid_blocks:
        scale[k * hidden:(k + 1) * hidden] = 0.5
    return w_ih * scale[:, None], w_hh * scale[:, None], [b * scale for b in biases]


def _input_projection(x, w_ih, biases):
    """x W_ih^T + sum(biases) for every time step at once: (T, B, I) -> (T, B, G*H)."""
    T, B, input_size = x.shape
    out = np.matmul(x.reshape(T * B, input_size), w_ih.T).reshape(T, B, w_ih.shape[0])
    for b in biases:
        out += b
    return out


def _time_steps(length, reverse):
    """The order in which a direction visits the steps: 0 .. T-1, or T-1 .. 0 in reverse."""
    return range(length - 1, -1, -1) if reverse else range(length)


def _previous(states, initial, t, reverse):
    """The state before step t: states[t - 1] (states[t + 1] in reverse), or ``initial`` first."""
    before = t + 1 if reverse else t - 1
    return initial if before in (-1, len(states)) else states[before]


def _recurrent_weight_grad(d_pre, hs, h0, reverse):
    """dW_hh = sum_t d_pre[t]^T h_prev(t), with h_prev as in ``_previous``: one product."""
    T, B, width = d_pre.shape
    hidden = h0.shape[1]
    grad = d_pre[T - 1 if reverse else 0].T @ h0
    if T > 1:
        later, before = (d_pre[:-1], hs[1:]) if reverse else (d_pre[1:], hs[:-1])
        grad += later.reshape((T - 1) * B, width).T @ before.reshape((T - 1) * B, hidden)
    return grad


def _input_grads(fn, d_pre, x, w_ih, need_w_ih):
    """dx = dA W_ih and dW_ih = dA^T x, each one product over all T*B rows (None if unneeded)."""
    T, B, width = d_pre.shape
    flat = d_pre.reshape(T * B, width)
    dx = None
    if fn.needs_input_grad[0]:
        dx = (flat @ w_ih).reshape(x.shape).astype(fn.x_dtype, copy=False)
    dw_ih = flat.T @ x.reshape(T * B, x.shape[2]) if need_w_ih else None
    return dx, dw_ih


class _Layer(Function):
    """Shared by the three layers: input handling, and what their hand-written BPTT cannot do.

    Every layer takes ``reverse``: the reverse direction of a bidirectional layer visits the
    steps from T-1 down to 0. Its inputs, outputs and saved arrays stay in time order.

    The backward pass runs on arrays only, so it cannot itself be differentiated (second
    derivatives) and there is no forward mode: both raise, naming the cell to loop over instead,
    whose operations support both.
    """

    cell = None  # the cell that does the same step with differentiable operations

    def backward(self, xp, grad, *inputs, out):
        if xp is not xp_numpy:
            raise RuntimeError(
                f"{self.name}: the fused layer's backward cannot be differentiated again "
                f"(create_graph=True); loop over nn.{self.cell} instead, which can")
        return self._bptt(grad, *inputs, out=out)

    def jvp(self, xp, tangents, *inputs, out):
        raise RuntimeError(f"{self.name}: the fused layer has no forward mode (jvp); loop over "
                           f"nn.{self.cell} instead, which has")

    def _prepare(self, x, h0, w_ih, biases, reverse):
        """Remember the options and dtypes; return x and h0 in the weights' dtype."""
        self.has_bias, self.reverse = bool(biases), reverse
        self.x_dtype, self.h0_dtype = x.dtype, h0.dtype
        return self._in_weights_dtype(w_ih, x, h0)

    @staticmethod
    def _in_weights_dtype(w_ih, *arrays):
        """``arrays`` converted to the weights' dtype (the same arrays when they have it)."""
        return [a.astype(w_ih.dtype, copy=False) for a in arrays]

    def _bias_grads(self, d_ih, d_hh):
        """db_ih = sum of d_ih over (T, B), likewise db_hh (the same array when d_hh is d_ih).

        Returns () for a layer without biases; the biases are always the last two inputs.
        """
        if not self.has_bias:
            return ()
        width = d_ih.shape[2]
        db_ih = d_ih.reshape(-1, width).sum(axis=0)
        db_hh = db_ih if d_hh is d_ih else d_hh.reshape(-1, width).sum(axis=0)
        return db_ih, db_hh


class RNNLayer(_Layer):
    """Elman RNN over a sequence: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    ``act`` is tanh or relu. Inputs (x, h0, W_ih, W_hh[, b_ih, b_hh]); output h_1..h_T, (T, B, H).
    Backward: dA_t = (g_t + dA_{t+1} W_hh) * act'(A_t), with act' = 1 - h_t^2 for tanh and
    [h_t > 0] for relu, both read from the saved outputs.
    """

    cell = "RNNCell"

    def forward(self, x, h0, w_ih, w_hh, *biases, nonlinearity="tanh", reverse=False):
        x, h0 = self._prepare(x, h0, w_ih, biases, reverse)
        hs = _input_projection(x, w_ih, biases)  # becomes h_1..h_T in place
        w_hh_t = w_hh.T
        step = np.empty_like(h0)
        h = h0
        for t in _time_steps(hs.shape[0], reverse):
            np.matmul(h, w_hh_t, out=step)
            h = hs[t]
            h += step
            if nonlinearity == "tanh":
                np.tanh(h, out=h)
            else:
                np.maximum(h, 0, out=h)
        self.nonlinearity = nonlinearity
        return hs

    def _bptt(self, grad, x, h0, w_ih, w_hh, *biases, out):
        x, h0 = self._in_weights_dtype(w_ih, x, h0)
        hs = out
        d_pre = np.empty_like(hs)
        dh = np.zeros_like(h0)  # the gradient reaching h_t from step t + 1
        for t in _time_steps(hs.shape[0], not self.reverse):
            da = d_pre[t]
            np.add(grad[t], dh, out=da)
            if self.nonlinearity == "tanh":
                da *= 1 - hs[t] * hs[t]
            else:
                da *= hs[t] > 0
            np.matmul(da, w_hh, out=dh)
        dx, dw_ih = _input_grads(self, d_pre, x, w_ih, self.needs_input_grad[2])
        dw_hh = (_recurrent_weight_grad(d_pre, hs, h0, self.reverse)
                 if self.needs_input_grad[3] else None)
        return (dx, dh.astype(self.h0_dtype, copy=False), dw_ih, dw_hh,
                *self._bias_grads(d_pre, d_pre))


class LSTMLayer(_Layer):
    """LSTM over a sequence, with PyTorch's equations and gate order i, f, g, o.

        i, f, o = sigmoid(A_i), sigmoid(A_f), sigmoid(A_o);  g = tanh(A_g)
        A = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

    Inputs (x, h0, c0, W_ih, W_hh[, b_ih, b_hh]). A Function has one output, so it returns
    h and c of every step in one array of shape (2, T, B, H): [0] is the layer's output h_1..h_T
    and [1] holds c_1..c_T. Gradients may arrive for any h_t and c_t (from the next layer, from
    h_n, from c_n); the backward pass adds them in at each step.
    """

    cell = "LSTMCell"

    def forward(self, x, h0, c0, w_ih, w_hh, *biases, reverse=False):
        x, h0 = self._prepare(x, h0, w_ih, biases, reverse)
        self.c0_dtype = c0.dtype
        (c0,) = self._in_weights_dtype(w_ih, c0)
        H = w_hh.shape[1]
        w_ih_half, w_hh_half, biases_half = _halve_sigmoid_rows(w_ih, w_hh, biases, 4, (0, 1, 3))
        gates = _input_projection(x, w_ih_half, biases_half)  # A, then i, f, g, o in place
        T, B, width = gates.shape
        out = np.empty((2, T, B, H), dtype=gates.dtype)
        tanh_c = np.empty((T, B, H), dtype=gates.dtype)
        w_hh_t = w_hh_half.T
        step = np.empty((B, width), dtype=gates.dtype)
        finish = _kernels().lstm_step_forward
        h, c = h0, c0
        for t in _time_steps(T, reverse):
            np.matmul(h, w_hh_t, out=step)
            a = gates[t]
            a += step
            np.tanh(a, out=a)
            c_prev, c, h = c, out[1, t], out[0, t]
            finish(a, c_prev, c)  # i, f, o from tanh(A / 2); c_t = f c_{t-1} + i g
            np.tanh(c, out=tanh_c[t])
            np.multiply(a[:, 3 * H:], tanh_c[t], out=h)
        self.gates, self.tanh_c = gates, tanh_c
        return out

    def _bptt(self, grad, x, h0, c0, w_ih, w_hh, *biases, out):
        x, h0, c0 = self._in_weights_dtype(w_ih, x, h0, c0)
        gates, tanh_c, cs = self.gates, self.tanh_c, out[1]
        d_pre = np.empty_like(gates)
        dh = np.zeros_like(h0)  # the gradient reaching h_t from step t + 1
        dc = np.zeros_like(c0)  # the gradient reaching c_t from step t + 1
        grad = np.ascontiguousarray(grad)
        kernel = _kernels().lstm_step_backward
        for t in _time_steps(gates.shape[0], not self.reverse):
            kernel(gates[t], _previous(cs, c0, t, self.reverse), tanh_c[t], grad[0, t],
                   grad[1, t], dh, dc, d_pre[t])
            np.matmul(d_pre[t], w_hh, out=dh)
        dx, dw_ih = _input_grads(self, d_pre, x, w_ih, self.needs_input_grad[3])
        dw_hh = (_recurrent_weight_grad(d_pre, out[0], h0, self.reverse)
                 if self.needs_input_grad[4] else None)
        return (dx, dh.astype(self.h0_dtype, copy=False), dc.astype(self.c0_dtype, copy=False),
                dw_ih, dw_hh, *self._bias_grads(d_pre, d_pre))


class GRULayer(_Layer):
    """GRU over a sequence, with PyTorch's equations and gate order r, z, n.

        r = sigmoid(Ai_r + Ah_r);  z = sigmoid(Ai_z + Ah_z);  n = tanh(Ai_n + r * Ah_n)
        Ai = x_t W_ih^T + b_ih;    Ah = h_{t-1} W_hh^T + b_hh
        h_t = (1 - z) * n + z * h_{t-1}

    Inputs (x, h0, W_ih, W_hh[, b_ih, b_hh]); output h_1..h_T, (T, B, H). Because r multiplies
    only the recurrent part of n, the pre-activation gradients of the two products differ in
    the n block (dAh_n = dAi_n * r), so backward keeps one (T, B, 3H) buffer for each.
    """

    cell = "GRUCell"

    def forward(self, x, h0, w_ih, w_hh, *biases, reverse=False):
        x, h0 = self._prepare(x, h0, w_ih, biases, reverse)
        w_ih_half, w_hh_half, biases_half = _halve_sigmoid_rows(w_ih, w_hh, biases, 3, (0, 1))
        gates = _input_projection(x, w_ih_half, biases_half[:1])  # Ai, then r, z, n in place
        T, B, width = gates.shape
        H = width // 3
        rec = np.empty_like(gates)  # Ah for every step; backward needs its n block
        hs = np.empty((T, B, H), dtype=gates.dtype)
        w_hh_t = w_hh_half.T
        steps = _kernels()
        h = h0
        for t in _time_steps(T, reverse):
            a, ah = gates[t], rec[t]
            np.matmul(h, w_hh_t, out=ah)
            if biases:
                ah += biases_half[1]
            rz = a[:, :2 * H]
            rz += ah[:, :2 * H]
            np.tanh(rz, out=rz)
            steps.gru_step_candidate(a, ah)  # r, z from tanh(A / 2); Ai_n + r Ah_n
            n = a[:, 2 * H:]
            np.tanh(n, out=n)
            h_prev, h = h, hs[t]
            steps.gru_step_output(a, h_prev, h)
        self.gates, self.rec = gates, rec
        return hs

    def _bptt(self, grad, x, h0, w_ih, w_hh, *biases, out):
        x, h0 = self._in_weights_dtype(w_ih, x, h0)
        gates, rec, hs = self.gates, self.rec, out
        T = gates.shape[0]
        d_in = np.empty_like(gates)   # gradients of Ai
        d_rec = np.empty_like(gates)  # gradients of Ah
        dh = np.zeros_like(h0)
        through_weights = np.empty_like(dh)
        grad = np.ascontiguousarray(grad)
        kernel = _kernels().gru_step_backward
        for t in _time_steps(T, not self.reverse):
            # The kernel leaves in dh the direct part z * dh_t of the gradient of h_{t-1}.
            kernel(gates[t], rec[t], _previous(hs, h0, t, self.reverse), grad[t], dh,
                   d_in[t], d_rec[t])
            np.matmul(d_rec[t], w_hh, out=through_weights)
            dh += through_weights
        dx, dw_ih = _input_grads(self, d_in, x, w_ih, self.needs_input_grad[2])
        dw_hh = (_recurrent_weight_grad(d_rec, hs, h0, self.reverse)
                 if self.needs_input_grad[3] else None)
        return (dx, dh.astype(self.h0_dtype, copy=False), dw_ih, dw_hh,
                *self._bias_grads(d_in, d_rec))

