"""The steps bench_train.py times, as the compiled columns need them: eager, then compiled.

``minigrad_eager`` and ``torch_eager`` are the eager minigrad and PyTorch steps of the MLP and
the recurrent layers (bench_train's own columns for those models), and ``minigrad_mlp`` makes
the MLP whose initial weights (``Case.mlp_weights``) every implementation starts from. The
compiled columns, each a function ``column(case) -> step function, or None``, compile those
same steps: minigrad compiled, jax.jit (the same work written in JAX), torch.compile. A case is
bench_train's Case (``model`` in 'mlp', 'rnn', 'lstm', 'gru', ``shape``, ``seed``, ``quick``,
``mlp_data``, ``mlp_weights``, ``sequence``). The MLP does forward, cross-entropy, backward and
an SGD update (lr 0.01); a recurrent layer does forward, ``output.mean()``, backward. Compiled
steps are warmed up here, so the timed calls are replays (minigrad, JAX) or compiled graphs
(PyTorch), and each returns only once its work is done (JAX dispatches asynchronously: it is
waited for).

JAX and PyTorch are optional: their columns are None when they are not installed; minigrad
itself never imports them.
"""

import functools
import importlib

import numpy as np

LR = 0.01
WARM_UP_CALLS = 3  # minigrad.compile traces twice, then replays
COVERED = ("mlp", "rnn", "lstm", "gru")  # the models these columns time (None for the others)


def optional(name):
    """The module ``name`` if it is installed, else None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _warm(step):
    for _ in range(WARM_UP_CALLS):
        step()
    return step


# ---------------------------------------------------------------------------- minigrad
def minigrad_mlp(case):
    """(step, parameters) of the MLP in minigrad, initialised from ``case.seed``."""
    import minigrad
    from minigrad import nn, optim
    from minigrad.nn import functional as F

    B, D, H, C = case.shape
    minigrad.manual_seed(case.seed)
    model = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, C))
    opt = optim.SGD(model.parameters(), lr=LR)
    x, y = (minigrad.tensor(a) for a in case.mlp_data)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, list(model.parameters())


def minigrad_eager(case):
    """The minigrad step of ``case`` (eager): the MLP's, or a recurrent layer's."""
    import minigrad
    from minigrad import nn

    if case.model == "mlp":
        return minigrad_mlp(case)[0]
    T, B, I, H = case.shape
    minigrad.manual_seed(case.seed)
    layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[case.model](I, H)
    x = minigrad.tensor(case.sequence)

    def step():
        layer.zero_grad()
        output, _ = layer(x)
        output.mean().backward()
    return step


def minigrad_compiled(case):
    """The same step through ``minigrad.compile`` (traced on the warm-up calls)."""
    import minigrad

    if case.model not in COVERED:
        return None
    return _warm(minigrad.compile(minigrad_eager(case)))


# --------------------------------------------------------------------------------- JAX
def jax_jit(case):
    """``jax.jit`` of the whole step (value_and_grad and the update), or None without JAX."""
    jax = optional("jax")
    if jax is None or case.model not in COVERED or case.quick:
        return None
    import jax.numpy as jnp

    if case.model == "mlp":
        x, y = (jnp.asarray(a) for a in case.mlp_data)
        weights = case.mlp_weights

        def loss_fn(params):
            w1, b1, w2, b2 = params
            logits = jnp.maximum(x @ w1.T + b1, 0) @ w2.T + b2
            picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

        @functools.partial(jax.jit, donate_argnums=0)
        def update(params):
            loss, grads = jax.value_and_grad(loss_fn)(params)
            return tuple(p - LR * g for p, g in zip(params, grads)), loss

        state = [tuple(jnp.asarray(w) for w in weights)]

        def step():
            state[0], loss = update(state[0])
            return loss.block_until_ready()
        return _warm(step)
    x = jnp.asarray(case.sequence)
    params = tuple(jnp.asarray(p) for p in _recurrent_weights(case))
    forward = {"rnn": _jax_rnn, "lstm": _jax_lstm, "gru": _jax_gru}[case.model]
    gradient = jax.jit(jax.grad(lambda p: jnp.mean(forward(jax, p, x))))

    def step():
        return jax.block_until_ready(gradient(params))
    return _warm(step)


def _recurrent_weights(case):
    """W_ih, W_hh, b_ih, b_hh as PyTorch lays them out (gates stacked)."""
    T, B, I, H = case.shape
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[case.model] * H
    rng = np.random.default_rng(case.seed)
    bound = 1 / np.sqrt(H)
    return [rng.uniform(-bound, bound, s).astype(np.float32) for s in
            ((gates, I), (gates, H), (gates,), (gates,))]


def _scan(jax, cell, h0, x):
    return jax.lax.scan(lambda h, xt: (cell(h, xt),) * 2, h0, x)[1]


def _jax_rnn(jax, params, x):
    w_ih, w_hh, b_ih, b_hh = params
    h0 = jax.numpy.zeros((x.shape[1], w_hh.shape[1]), x.dtype)
    return _scan(jax, lambda h, xt: jax.numpy.tanh(xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh),
                 h0, x)


def _jax_lstm(jax, params, x):
    jnp = jax.numpy
    w_ih, w_hh, b_ih, b_hh = params
    H = w_hh.shape[1]

    def cell(state, xt):
        h, c = state
        i, f, g, o = jnp.split(xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    zeros = jnp.zeros((x.shape[1], H), x.dtype)
    return jax.lax.scan(cell, (zeros, zeros), x)[1]


def _jax_gru(jax, params, x):
    jnp = jax.numpy
    w_ih, w_hh, b_ih, b_hh = params

    def cell(h, xt):
        i_r, i_z, i_n = jnp.split(xt @ w_ih.T + b_ih, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(h @ w_hh.T + b_hh, 3, axis=-1)
        r, z = jax.nn.sigmoid(i_r + h_r), jax.nn.sigmoid(i_z + h_z)
        n = jnp.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h

    return _scan(jax, cell, jnp.zeros((x.shape[1], w_hh.shape[1]), x.dtype), x)


# ----------------------------------------------------------------------------- PyTorch
def torch_eager(case):
    """PyTorch's eager step of ``case`` (the MLP from ``case.mlp_weights``, or a recurrent
    layer), or None without PyTorch."""
    torch = optional("torch")
    if torch is None:
        return None
    if case.model == "mlp":
        B, D, H, C = case.shape
        model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(),
                                    torch.nn.Linear(H, C))
        with torch.no_grad():
            for p, w in zip(model.parameters(), case.mlp_weights, strict=True):
                p.copy_(torch.from_numpy(np.array(w)))
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        x, y = (torch.from_numpy(a) for a in case.mlp_data)

        def step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step
    T, B, I, H = case.shape
    torch.manual_seed(case.seed)
    layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[case.model](I, H)
    x = torch.from_numpy(case.sequence)

    def step():
        layer.zero_grad()
        output, _ = layer(x)
        output.mean().backward()
    return step


def torch_compile(case):
    """``torch.compile`` of the PyTorch eager step, or None without PyTorch."""
    torch = optional("torch")
    if torch is None or case.model not in COVERED or case.quick:
        return None
    return _warm(torch.compile(torch_eager(case)))
