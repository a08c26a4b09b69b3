"""The elementwise work of one LSTM or GRU time step, compiled with Numba.

The same functions, arguments and equations as ``rnn_steps.py`` (the NumPy original, which the
docstrings there derive); here each is one loop that reads every input once and writes every
output once, where NumPy makes a pass and often a temporary per operation. Used when Numba can
run (see ``minigrad/_numba.py``); imported only then, so ``import minigrad`` never loads Numba.

Why the loops go row by row through 1-D views: the kernels take many arrays that Numba cannot
promise are distinct, and for unit-stride 1-D rows LLVM emits a cheap overlap check and then SIMD
code, where for 2-D indexing it keeps the scalar loop. Transcendentals stay outside, in NumPy's
SIMD np.tanh: a call to tanh inside a Numba loop runs one element at a time.
"""

import numba

_jit = numba.njit(cache=True, error_model="numpy")


@_jit
def _blocks3(row, hidden):
    """The three gate blocks of a row of 3 * hidden values, as views."""
    return row[:hidden], row[hidden:2 * hidden], row[2 * hidden:]


@_jit
def _blocks4(row, hidden):
    """The four gate blocks of a row of 4 * hidden values, as views."""
    return row[:hidden], row[hidden:2 * hidden], row[2 * hidden:3 * hidden], row[3 * hidden:]


@_jit
def lstm_step_forward(gates, c_prev, c):
    """i, f, o from tanh of their halved pre-activations, and c_t = f c_{t-1} + i g, in place."""
    batch, hidden = c.shape
    half = gates.dtype.type(0.5)  # a float32 constant keeps a float32 loop in float32 (SIMD)
    for b in range(batch):
        i, f, g, o = _blocks4(gates[b], hidden)
        c_prev_b, c_b = c_prev[b], c[b]
        for j in range(hidden):
            i[j] = half + half * i[j]
            f[j] = half + half * f[j]
            o[j] = half + half * o[j]
            c_b[j] = f[j] * c_prev_b[j] + i[j] * g[j]


@_jit
def lstm_step_backward(gates, c_prev, tanh_c, grad_h, grad_c, dh, dc, d_pre):
    """dA of one LSTM step into ``d_pre``, and dc_{t-1} into ``dc`` (see rnn_steps)."""
    batch, hidden = dc.shape
    one = gates.dtype.type(1)
    for b in range(batch):
        i, f, g, o = _blocks4(gates[b], hidden)
        d_i, d_f, d_g, d_o = _blocks4(d_pre[b], hidden)
        c_prev_b, tanh_c_b, dc_b = c_prev[b], tanh_c[b], dc[b]
        grad_h_b, grad_c_b, dh_b = grad_h[b], grad_c[b], dh[b]
        for j in range(hidden):
            tc = tanh_c_b[j]
            dh_t = grad_h_b[j] + dh_b[j]
            dc_t = grad_c_b[j] + dc_b[j] + dh_t * o[j] * (one - tc * tc)
            d_i[j] = dc_t * g[j] * i[j] * (one - i[j])
            d_f[j] = dc_t * c_prev_b[j] * f[j] * (one - f[j])
            d_g[j] = dc_t * i[j] * (one - g[j] * g[j])
            d_o[j] = dh_t * tc * o[j] * (one - o[j])
            dc_b[j] = dc_t * f[j]


@_jit
def gru_step_candidate(gates, rec):
    """r, z from tanh of their halved pre-activations, and Ai_n + r Ah_n, in place."""
    batch, width = gates.shape
    hidden = width // 3
    half = gates.dtype.type(0.5)
    for b in range(batch):
        r, z, n = _blocks3(gates[b], hidden)
        rec_n = rec[b, 2 * hidden:]
        for j in range(hidden):
            r[j] = half + half * r[j]
            z[j] = half + half * z[j]
            n[j] += r[j] * rec_n[j]


@_jit
def gru_step_output(gates, h_prev, h):
    """h_t = n + z (h_{t-1} - n)."""
    batch, hidden = h.shape
    for b in range(batch):
        _, z, n = _blocks3(gates[b], hidden)
        h_prev_b, h_b = h_prev[b], h[b]
        for j in range(hidden):
            h_b[j] = n[j] + z[j] * (h_prev_b[j] - n[j])


@_jit
def gru_step_backward(gates, rec, h_prev, grad_h, dh, d_in, d_rec):
    """dAi and dAh of one GRU step, and the direct part z dh_t of dh_{t-1} (see rnn_steps)."""
    batch, hidden = dh.shape
    one = gates.dtype.type(1)
    for b in range(batch):
        r, z, n = _blocks3(gates[b], hidden)
        d_r, d_z, d_n = _blocks3(d_in[b], hidden)
        rec_d_r, rec_d_z, rec_d_n = _blocks3(d_rec[b], hidden)
        rec_n = rec[b, 2 * hidden:]
        h_prev_b, grad_h_b, dh_b = h_prev[b], grad_h[b], dh[b]
        for j in range(hidden):
            dh_t = grad_h_b[j] + dh_b[j]
            da_n = dh_t * (one - z[j]) * (one - n[j] * n[j])
            da_r = da_n * rec_n[j] * r[j] * (one - r[j])
            da_z = dh_t * (h_prev_b[j] - n[j]) * z[j] * (one - z[j])
            d_r[j] = da_r
            d_z[j] = da_z
            d_n[j] = da_n
            rec_d_r[j] = da_r
            rec_d_z[j] = da_z
            rec_d_n[j] = da_n * r[j]
            dh_b[j] = dh_t * z[j]
