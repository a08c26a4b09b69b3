"""The elementwise work of one LSTM or GRU time step, in NumPy: the readable original.

``rnn_numba.py`` holds the same functions compiled with Numba (one fused loop each instead of a
NumPy call per operation); the recurrent layers use that version when Numba can run and this one
otherwise (see ``minigrad/_numba.py``), and the tests hold the two to each other.

The time loops and matrix products live in ``rnn_kernels.py``; these functions take one step's
blocks, read the gate activations the forward pass saved, and write their results into arrays
given by the caller (``out`` arguments, named last). Gate blocks are stacked along the last axis
in PyTorch's order: i, f, g, o for the LSTM, r, z, n for the GRU.

Derivatives used: sigmoid' = s (1 - s), tanh' = 1 - t^2, both from the saved outputs.
"""

import numpy as np


def _blocks(a, count):
    """Views of the ``count`` equal gate blocks of ``a`` along its last axis."""
    return np.split(a, count, axis=-1)


def sigmoid_from_half_tanh(t):
    """t <- sigmoid(a) in place, given t = tanh(a / 2): sigmoid(a) = (1 + tanh(a / 2)) / 2."""
    t *= 0.5
    t += 0.5


def lstm_step_forward(gates, c_prev, c):
    """Finish one LSTM step's gates and cell state, in place.

    On entry ``gates`` (B, 4H) holds tanh(A_i / 2), tanh(A_f / 2), tanh(A_g), tanh(A_o / 2) (the
    layer halves the i, f, o rows of its weights so that one tanh call activates every gate).
    On exit it holds i, f, g, o, and ``c`` (B, H) holds c_t = f c_{t-1} + i g.
    """
    i, f, g, o = _blocks(gates, 4)
    for gate in (i, f, o):
        sigmoid_from_half_tanh(gate)
    np.multiply(f, c_prev, out=c)
    c += i * g


def lstm_step_backward(gates, c_prev, tanh_c, grad_h, grad_c, dh, dc, d_pre):
    """One LSTM step backward (Hochreiter & Schmidhuber 1997; PyTorch's gate order i, f, g, o).

    From c_t = f c_{t-1} + i g and h_t = o tanh(c_t), with dh_t = grad_h + dh and
    dc_t = grad_c + dc + dh_t o (1 - tanh(c_t)^2):
        dA_i = dc_t g i (1 - i)      dA_f = dc_t c_{t-1} f (1 - f)
        dA_g = dc_t i (1 - g^2)      dA_o = dh_t tanh(c_t) o (1 - o)
    writes dA into ``d_pre`` (B, 4H) and dc_{t-1} = dc_t f into ``dc``. ``dh`` (the gradient
    reaching h_t from step t + 1) is only read: the caller then overwrites it with dA W_hh.
    """
    i, f, g, o = _blocks(gates, 4)
    d_i, d_f, d_g, d_o = _blocks(d_pre, 4)
    dh_t = grad_h + dh
    dc_t = grad_c + dc + dh_t * o * (1 - tanh_c * tanh_c)
    d_i[...] = dc_t * g * i * (1 - i)
    d_f[...] = dc_t * c_prev * f * (1 - f)
    d_g[...] = dc_t * i * (1 - g * g)
    d_o[...] = dh_t * tanh_c * o * (1 - o)
    np.multiply(dc_t, f, out=dc)


def gru_step_candidate(gates, rec):
    """The GRU's reset and update gates, and the candidate's pre-activation, in place.

    On entry ``gates`` (B, 3H) holds tanh(A_r / 2), tanh(A_z / 2) and Ai_n (the layer halves the
    r and z rows of its weights), and ``rec`` (B, 3H) holds Ah = h_{t-1} W_hh^T + b_hh. On exit
    ``gates`` holds r, z and Ai_n + r Ah_n, the pre-activation of the candidate n.
    """
    r, z, n = _blocks(gates, 3)
    sigmoid_from_half_tanh(r)
    sigmoid_from_half_tanh(z)
    n += r * _blocks(rec, 3)[2]


def gru_step_output(gates, h_prev, h):
    """h <- h_t = (1 - z) n + z h_{t-1}, computed as n + z (h_{t-1} - n); ``gates`` = r, z, n."""
    _, z, n = _blocks(gates, 3)
    np.subtract(h_prev, n, out=h)
    h *= z
    h += n


def gru_step_backward(gates, rec, h_prev, grad_h, dh, d_in, d_rec):
    """One GRU step backward (Cho et al. 2014, with PyTorch's n = tanh(Ai_n + r Ah_n)).

    From h_t = (1 - z) n + z h_{t-1}, with dh_t = grad_h + dh:
        dAi_n = dh_t (1 - z) (1 - n^2)      dAh_n = dAi_n r
        dA_r  = dAi_n Ah_n r (1 - r)        dA_z  = dh_t (h_{t-1} - n) z (1 - z)
    (r and z take the same gradient in both products). Writes dAi into ``d_in``, dAh into
    ``d_rec`` (both (B, 3H)), and the direct part of dh_{t-1}, dh_t z, into ``dh``; the caller
    adds dAh W_hh.
    """
    r, z, n = _blocks(gates, 3)
    d_r, d_z, d_n = _blocks(d_in, 3)
    dh_t = grad_h + dh
    d_n[...] = dh_t * (1 - z) * (1 - n * n)
    d_r[...] = d_n * _blocks(rec, 3)[2] * r * (1 - r)
    d_z[...] = dh_t * (h_prev - n) * z * (1 - z)
    rec_r, rec_z, rec_n = _blocks(d_rec, 3)
    rec_r[...] = d_r
    rec_z[...] = d_z
    np.multiply(d_n, r, out=rec_n)
    np.multiply(dh_t, z, out=dh)
