"""minigrad.compile: a compiled step computes what the eager step computes, call after call.

Each test runs the same step twice from the same seed, once eager and once compiled, for
several calls (the first two of which trace, the rest replay), and compares the parameters,
gradients, optimizer state and results: to 1e-5 (relative, over each array) in float32 and
1e-12 in float64, as the issue asks. Shapes are small: Numba's compile time depends on the
program, not the sizes, and its on-disk cache makes a second run of the suite fast.
"""

import numpy as np
import pytest
from helpers import training_step

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim

pytest.importorskip("numba")

STEPS = 5
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def close(a, b, dtype):
    """Relative difference over the whole array, as the issue measures it."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.max(np.abs(a)), 1e-30) if a.size else 1.0
    return a.shape == b.shape and np.max(np.abs(a - b), initial=0.0) <= TOLERANCE[dtype] * scale


def mlp(activation=nn.ReLU, classes=3, dtype=np.float32, dropout=0.0, hidden=16):
    layers = [nn.Linear(4, hidden, dtype=dtype), activation()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, classes, dtype=dtype))
    return nn.Sequential(*layers)


def batches(rng, count=STEPS, batch=8, dtype=np.float32, classes=3, target="class"):
    out = []
    for _ in range(count):
        x = minigrad.tensor(rng.standard_normal((batch, 4)).astype(dtype))
        if target == "class":
            y = minigrad.tensor(rng.integers(0, classes, batch))
        elif target == "binary":
            y = minigrad.tensor((rng.random((batch, classes)) > 0.5).astype(dtype))
        else:
            y = minigrad.tensor(rng.standard_normal((batch, classes)).astype(dtype))
        out.append((x, y))
    return out


def run_both(build, data, between=None, dtype=np.float32):
    """Run ``build()``'s step eagerly and compiled over ``data``; compare everything.

    ``build()`` returns (model, optimizer, step); ``between(i, model, optimizer)`` runs after
    call i in both runs (a scheduler, an edit). Returns the compiled step.
    """
    runs = []
    for compiled in (False, True):
        minigrad.manual_seed(0)
        model, optimizer, step = build()
        call = minigrad.compile(step) if compiled else step
        losses = []
        for i, batch in enumerate(data):
            result = call(*batch)
            losses += [t.data.copy() for t in (result if isinstance(result, tuple) else
                                                (result,))]
            if between is not None:
                between(i, model, optimizer)
        runs.append((model, optimizer, call, losses))
    (model_e, opt_e, _, losses_e), (model_c, opt_c, call, losses_c) = runs
    assert call.compiled
    for le, lc in zip(losses_e, losses_c, strict=True):
        assert close(le, lc, dtype)
    for pe, pc in zip(model_e.parameters(), model_c.parameters(), strict=True):
        assert close(pe.data, pc.data, dtype)
        assert (pe.grad is None) == (pc.grad is None)
        if pe.grad is not None:
            assert close(pe.grad, pc.grad, dtype)
    state_e, state_c = opt_e.state_dict(), opt_c.state_dict()
    _compare_states(state_e, state_c, dtype)
    return call


def _compare_states(a, b, dtype):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _compare_states(a[key], b[key], dtype)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _compare_states(x, y, dtype)
    elif isinstance(a, np.ndarray):
        assert close(a, b, dtype)
    else:
        assert a == b


# --------------------------------------------------------------------------- optimizers
OPTIMIZERS = [
    lambda p, b: optim.SGD(p, lr=0.1, backend=b),
    lambda p, b: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2, backend=b),
    lambda p, b: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5, backend=b),
    lambda p, b: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=1e-3, backend=b),
    lambda p, b: optim.AdamW(p, lr=0.01, backend=b),
    lambda p, b: optim.AdaBelief(p, lr=0.01, backend=b),
    lambda p, b: optim.Lion(p, lr=1e-3, weight_decay=0.1, backend=b),
    lambda p, b: optim.Lookahead(optim.Adam(p, lr=0.01, backend=b), k=2),
]


@pytest.mark.parametrize("backend", ["numba", "python", "numpy"])
@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_each_optimizer_and_backend(make_optimizer, backend, rng):
    def build():
        model = mlp()
        optimizer = make_optimizer(model.parameters(), backend)
        return model, optimizer, training_step(model, optimizer, F.cross_entropy)
    run_both(build, batches(rng))


# ------------------------------------------------------------------ activations, losses
def _nll(logits, target):
    return F.nll_loss(F.log_softmax(logits, axis=1), target)


LOSSES = [(F.cross_entropy, "class"), (_nll, "class"), (F.mse_loss, "real"),
          (F.l1_loss, "real"), (F.binary_cross_entropy_with_logits, "binary"),
          (lambda z, y: F.binary_cross_entropy(z.sigmoid(), y), "binary"),
          (lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1, reduction="sum"), "class")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh, nn.Sigmoid])
def test_activations(activation, dtype, rng):
    def build():
        model = mlp(activation, dtype=dtype)
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        return model, optimizer, training_step(model, optimizer, F.cross_entropy)
    run_both(build, batches(rng, dtype=dtype), dtype=dtype)


@pytest.mark.parametrize("loss_fn, target", LOSSES)
def test_losses(loss_fn, target, rng):
    def build():
        model = mlp(nn.Tanh)
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, optimizer, training_step(model, optimizer, loss_fn)
    run_both(build, batches(rng, target=target))


def test_elementwise_and_reductions_of_every_kind(rng):
    """A step made of the core operations rather than layers: each has its lowering rule."""
    def build(with_numpy_mask):
        weights = np.random.default_rng(7)
        w = nn.Parameter(weights.standard_normal((4, 3)))
        b = nn.Parameter(weights.standard_normal(3))
        model = nn.Module()
        model.w, model.b = w, b
        optimizer = optim.SGD([w, b], lr=0.05)

        def step(x, y):
            optimizer.zero_grad()
            z = x @ w + b
            a = minigrad.maximum(z.tanh(), z.sigmoid()) - minigrad.minimum(z, 0.5).abs()
            a = a + (z * z + 1).sqrt().log() / 2 - (-z).exp().clip(0, 3) ** 2
            s = a.softmax(axis=1) + a.log_softmax(axis=0) + a.logsumexp(axis=1, keepdims=True)
            loss = (s * y).mean() + a.var(axis=0).sum() + a.max(axis=1).mean() + a.min()
            loss = loss + (z.T.reshape(-1) ** 3).sum() * 1e-3
            if with_numpy_mask:
                loss = loss + minigrad.where(x.data[:, :3] > 0, z, -z).sum()
            loss.backward()
            optimizer.step()
            return loss, a
        return model, optimizer, step
    data = [(minigrad.tensor(rng.standard_normal((6, 4))), minigrad.tensor(
        rng.standard_normal((6, 3)))) for _ in range(STEPS)]
    with pytest.raises(minigrad.compile.CompileError, match="first two calls"):
        run_both(lambda: build(True), data, dtype=np.float64)  # a mask made with NumPy
    call = run_both(lambda: build(False), data, dtype=np.float64)
    assert "(called)" not in str(call.program)  # every operation became primitives


class _Twice(minigrad.Function):
    """2a, with no lowering rule (so called whole), whose gradient is not C-contiguous."""

    def forward(self, a):
        return a * 2

    def backward(self, xp, grad, a, out):
        return (np.asfortranarray(grad * 2),)


def test_an_operation_called_whole(rng):
    """An operation with no lowering rule runs as itself, its gradient (here Fortran-ordered)
    taken as the engine takes it."""
    def build():
        model = mlp()
        optimizer = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):  # the first layer's weight gets its gradient from _Twice's rule
            optimizer.zero_grad()
            hidden = F.linear(x, _Twice.apply(model[0].weight), model[0].bias)
            loss = F.cross_entropy(model[2](model[1](hidden)), y)
            loss.backward()
            optimizer.step()
            return loss
        return model, optimizer, step
    call = run_both(build, batches(rng))
    assert "_Twice(" in str(call.program) and "vjp[_Twice]" in str(call.program)


# ----------------------------------------------------------------------- recurrent layers
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers(kind, rng):
    def build():
        layer = getattr(nn, kind)(3, 5)
        head = nn.Linear(5, 2)
        model = nn.Sequential(head)
        model.rnn = layer
        optimizer = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            optimizer.zero_grad()
            output, _ = layer(x)
            loss = F.cross_entropy(head(output[-1]), y)
            loss.backward()
            optimizer.step()
            return loss
        return model, optimizer, step
    data = [(minigrad.tensor(rng.standard_normal((6, 4, 3)).astype(np.float32)),
             minigrad.tensor(rng.integers(0, 2, 4))) for _ in range(STEPS)]
    call = run_both(build, data)
    assert f"{kind}Layer(" in str(call.program)  # the fused layer is called whole


# --------------------------------------------------------------------- between the calls
def test_schedulers_and_param_group_edits_between_calls(rng):
    def build():
        model = mlp()
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        build.scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        return model, optimizer, training_step(model, optimizer, F.cross_entropy)

    def between(i, model, optimizer):
        build.scheduler.step()
        if i == 2:
            optimizer.param_groups[0]["momentum"] = 0.5
            optimizer.param_groups[0]["weight_decay"] = 0.01
    run_both(build, batches(rng, count=7), between)


def test_dropout_under_a_seed(rng):
    def build():
        model = mlp(dropout=0.5)
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        return model, optimizer, training_step(model, optimizer, F.cross_entropy)
    call = run_both(build, batches(rng))
    assert "uniform(" in str(call.program)


def test_gradient_clipping_inside_the_step(rng):
    def build():
        model = mlp()
        optimizer = optim.SGD(model.parameters(), lr=0.5)

        def step(x, y):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y) * 10
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            nn.utils.clip_grad_value_(model.parameters(), 0.05)
            optimizer.step()
            return loss
        return model, optimizer, step
    run_both(build, batches(rng))


def test_a_new_shape_traces_again(rng):
    def build():
        model = mlp()
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        return model, optimizer, training_step(model, optimizer, F.cross_entropy)
    data = batches(rng, count=4, batch=8) + batches(rng, count=4, batch=5)
    call = run_both(build, data)
    assert "f32[5,4]" in str(call.program)
    assert len(call._entries) == 2  # one per batch size


def test_inputs_that_are_not_contiguous(rng):
    """A strided input (a column slice) gives the same numbers: the kernels read it through a
    contiguous copy."""
    def build():
        model = mlp()
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, optimizer, training_step(model, optimizer, F.cross_entropy)
    data = batches(rng)
    for x, _y in data:
        x.data = np.repeat(x.data, 2, axis=1)[:, ::2]
        assert not x.data.flags.c_contiguous
    run_both(build, data)


def test_parameters_given_an_equal_dtype_keep_replaying(rng):
    """The replay's checks compare dtypes by identity, then, when that fails, by equality: new
    ``.data`` arrays of an equal dtype (another dtype object) replay on, untraced."""
    equal = np.dtype(np.float32, metadata={"unit": "m"})
    assert equal == np.float32 and equal is not np.dtype(np.float32)

    def build():
        model = mlp()
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        return model, optimizer, training_step(model, optimizer, F.cross_entropy)

    def between(i, model, optimizer):
        if i == 2:
            for p in model.parameters():
                p.data = p.data.astype(equal)
    call = run_both(build, batches(rng), between)
    assert len(call._entries) == 1 and call._last.programs == []  # no trace since compiling


def test_gradients_accumulated_over_calls(rng):
    """A step without zero_grad adds to the gradients the call finds (eager semantics)."""
    def build():
        model = mlp()
        optimizer = optim.SGD(model.parameters(), lr=0.01)

        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        return model, optimizer, step
    call = run_both(build, batches(rng, count=6))
    assert "read at every call" in str(call.program) and ".grad" in str(call.program)


def test_state_dict_round_trip_mid_run(rng):
    """Save after two compiled calls, carry on, load the save, carry on: as eager does."""
    data = batches(rng, count=8)
    results = []
    for compiled in (False, True):
        minigrad.manual_seed(0)
        model = mlp()
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        step = training_step(model, optimizer, F.cross_entropy)
        call = minigrad.compile(step) if compiled else step
        for batch in data[:4]:
            call(*batch)
        saved = (model.state_dict(), optimizer.state_dict())
        for batch in data[4:6]:
            call(*batch)
        model.load_state_dict(saved[0])
        optimizer.load_state_dict(saved[1])
        for batch in data[4:]:
            call(*batch)
        results.append((model, optimizer))
    (me, oe), (mc, oc) = results
    for pe, pc in zip(me.parameters(), mc.parameters(), strict=True):
        assert close(pe.data, pc.data, np.float32)
    _compare_states(oe.state_dict(), oc.state_dict(), np.float32)


def test_returned_tensors_and_gradients_belong_to_the_caller(rng):
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    call = minigrad.compile(training_step(model, optimizer, F.cross_entropy))
    data = batches(rng, count=6)
    for batch in data[:3]:
        call(*batch)
    kept = call(*data[3])
    kept_value = kept.data.copy()
    grads = [p.grad for p in model.parameters()]
    grad_values = [g.copy() for g in grads]
    call(*data[4])
    assert np.array_equal(kept.data, kept_value)
    assert not kept.requires_grad
    for g, values, p in zip(grads, grad_values, model.parameters(), strict=True):
        assert np.array_equal(g, values)  # the next call made new gradient arrays
        assert p.grad is not g


def test_large_gradients_reuse_only_arrays_nobody_holds(rng):
    """A large gradient may be written into the array the last call left in .grad, but only
    when nothing else refers to it: an array the caller kept is never written to."""
    model = nn.Sequential(nn.Linear(4, 1100), nn.Tanh(), nn.Linear(1100, 3))  # 4400 weights
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    call = minigrad.compile(training_step(model, optimizer, F.cross_entropy))
    data = batches(rng, count=6)
    for batch in data[:3]:
        call(*batch)
    weight = model[0].weight
    kept = weight.grad
    kept_values = kept.copy()
    call(*data[3])
    assert weight.grad is not kept and np.array_equal(kept, kept_values)
    del kept
    address = weight.grad.__array_interface__["data"][0]
    call(*data[4])
    assert weight.grad.__array_interface__["data"][0] == address  # reused: nobody held it


def test_inference_step_and_decorator(rng):
    model = mlp()

    @minigrad.compile
    def predict(x):
        with minigrad.no_grad():
            return model(x).softmax(axis=1)

    for x, _ in batches(rng):
        expected = model(x).softmax(axis=1).data
        assert close(predict(x).data, expected, np.float32)
    assert predict.compiled


def test_check_option_agrees_on_a_faithful_step(rng):
    def build():
        model = mlp()
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        step = training_step(model, optimizer, F.cross_entropy)
        return model, optimizer, step
    minigrad.manual_seed(0)
    model, optimizer, step = build()
    call = minigrad.compile(step, check=True)
    for batch in batches(rng):
        call(*batch)
    assert call.compiled


def test_without_numba_the_step_runs_eagerly(monkeypatch, rng):
    monkeypatch.setenv("MINIGRAD_DISABLE_NUMBA", "1")
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    call = minigrad.compile(training_step(model, optimizer, F.cross_entropy))
    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        loss = call(*batches(rng, count=1)[0])
    assert loss.requires_grad and not call.compiled
