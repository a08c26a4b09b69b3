"""The elementwise work of recurrent steps, fused into Numba-compiled loops, and a fast tanh.

Imported only when a recurrent layer first runs, so ``import minigrad`` never loads Numba.
Why this split: a backward step needs no transcendental function (every tanh and sigmoid was
saved by the forward pass), so its dozen multiply-adds per element compile to one SIMD loop over
memory read once, where NumPy would make a pass (and often a temporary) per operation. In the
forward steps the cost is tanh: a Numba loop calling libm's tanh runs scalar (~37 ns an
element here), NumPy's float32 tanh ~3 ns, and ``tanh_float32`` below, a rational function
that compiles to SIMD multiply-adds, ~0.5 ns. Matrix products stay in NumPy (Numba's np.dot
would need SciPy).

Derivatives used: sigmoid' = s (1 - s), tanh' = 1 - t^2, both from the saved outputs.
"""

import numba
import numpy as np

_jit = numba.njit(cache=True, error_model="numpy")

@_jit
def tanh_float32(a, out):
    """out <- tanh(a) for 2-D float32 arrays (rows may be strided; ``out`` may be ``a``).

    Eigen's generic_fast_tanh_float: x p(x^2) / q(x^2), a 13/6-degree rational minimax fit of
    tanh on [-c, c] with |error| < 3e-7 (a few float32 ulps); beyond c, tanh(x) rounds to +-1
    in float32 anyway. Only multiplies, adds and one division (Horner's rule), so the loop
    vectorises, unlike a call to libm's tanh. Used for float32 only; float64 keeps np.tanh.
    """
    f = np.float32
    clamp = f(7.90531110763549805)
    for b in range(a.shape[0]):
        for j in range(a.shape[1]):
            x = min(max(a[b, j], -clamp), clamp)
            x2 = x * x
            p = f(-2.76076847742355e-16) * x2 + f(2.00018790482477e-13)
            p = p * x2 + f(-8.60467152213735e-11)
            p = p * x2 + f(5.12229709037114e-08)
            p = p * x2 + f(1.48572235717979e-05)
            p = p * x2 + f(6.37261928875436e-04)
            p = p * x2 + f(4.89352455891786e-03)
            q = f(1.19825839466702e-06) * x2 + f(1.18534705686654e-04)
            q = q * x2 + f(2.26843463243900e-03)
            q = q * x2 + f(4.89352518554385e-03)
            out[b, j] = x * p / q


@_jit
def lstm_step_forward(gates, c_prev, c):
    """Finish one LSTM step's gates and cell state, in place (gate order i, f, g, o).

    On entry ``gates`` (B, 4H) holds tanh(A_i / 2), tanh(A_f / 2), tanh(A_g), tanh(A_o / 2);
    sigmoid(a) = (1 + tanh(a / 2)) / 2 turns the three halves into i, f, o. Then
    c_t = f c_{t-1} + i g goes into ``c``.
    """
    batch, hidden = c.shape
    half = gates.dtype.type(0.5)
    for b in range(batch):
        for j in range(hidden):
            i = half + half * gates[b, j]
            f = half + half * gates[b, hidden + j]
            gates[b, j] = i
            gates[b, hidden + j] = f
            gates[b, 3 * hidden + j] = half + half * gates[b, 3 * hidden + j]
            c[b, j] = f * c_prev[b, j] + i * gates[b, 2 * hidden + j]


@_jit
def lstm_step_backward(gates, c_prev, tanh_c, grad_h, grad_c, dh, dc, d_pre):
    """One LSTM step backward (Hochreiter & Schmidhuber 1997; PyTorch's gate order i, f, g, o).

    From c_t = f c_{t-1} + i g and h_t = o tanh(c_t), with dh_t = grad_h + dh and
    dc_t = grad_c + dc + dh_t o (1 - tanh(c_t)^2):
        dA_i = dc_t g i (1 - i)      dA_f = dc_t c_{t-1} f (1 - f)
        dA_g = dc_t i (1 - g^2)      dA_o = dh_t tanh(c_t) o (1 - o)
    writes dA into ``d_pre`` (B, 4H) and dc_{t-1} = dc_t f into ``dc``. ``dh`` is only read:
    the caller then overwrites it with dA W_hh.
    """
    batch, hidden = dc.shape
    one = gates.dtype.type(1)  # a float32 constant in a float32 loop keeps it float32 (SIMD)
    for b in range(batch):
        for j in range(hidden):
            i = gates[b, j]
            f = gates[b, hidden + j]
            g = gates[b, 2 * hidden + j]
            o = gates[b, 3 * hidden + j]
            tc = tanh_c[b, j]
            dh_t = grad_h[b, j] + dh[b, j]
            dc_t = grad_c[b, j] + dc[b, j] + dh_t * o * (one - tc * tc)
            d_pre[b, j] = dc_t * g * i * (one - i)
            d_pre[b, hidden + j] = dc_t * c_prev[b, j] * f * (one - f)
            d_pre[b, 2 * hidden + j] = dc_t * i * (one - g * g)
            d_pre[b, 3 * hidden + j] = dh_t * tc * o * (one - o)
            dc[b, j] = dc_t * f


@_jit
def gru_step_backward(gates, rec, h_prev, grad_h, dh, d_in, d_rec):
    """One GRU step backward (Cho et al. 2014, with PyTorch's n = tanh(Ai_n + r Ah_n)).

    From h_t = (1 - z) n + z h_{t-1}, with dh_t = grad_h + dh:
        dAi_n = dh_t (1 - z) (1 - n^2)      dAh_n = dAi_n r
        dA_r  = dAi_n Ah_n r (1 - r)        dA_z  = dh_t (h_{t-1} - n) z (1 - z)
    (r and z take the same gradient in both products). Writes dAi into ``d_in``, dAh into
    ``d_rec`` (both (B, 3H)), and the direct part of dh_{t-1}, dh_t z, into ``dh``; the caller
    adds dAh W_hh.
    """
    batch, hidden = dh.shape
    one = gates.dtype.type(1)
    for b in range(batch):
        for j in range(hidden):
            r = gates[b, j]
            z = gates[b, hidden + j]
            n = gates[b, 2 * hidden + j]
            dh_t = grad_h[b, j] + dh[b, j]
            da_n = dh_t * (one - z) * (one - n * n)
            da_r = da_n * rec[b, 2 * hidden + j] * r * (one - r)
            da_z = dh_t * (h_prev[b, j] - n) * z * (one - z)
            d_in[b, j] = da_r
            d_in[b, hidden + j] = da_z
            d_in[b, 2 * hidden + j] = da_n
            d_rec[b, j] = da_r
            d_rec[b, hidden + j] = da_z
            d_rec[b, 2 * hidden + j] = da_n * r
            dh[b, j] = dh_t * z
