"""The learning-rate range test: it leaves no trace, reads curves as documented, finds 1/h."""

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim, random

OPTIMIZERS = {
    "sgd-momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-3, centered=True, momentum=0.5),
    "adamw": lambda p: optim.AdamW(p, lr=1e-3, amsgrad=True),
    "adabelief": lambda p: optim.AdaBelief(p, lr=1e-3),
    "lion": lambda p: optim.Lion(p, lr=1e-4, weight_decay=0.1),
    "lookahead": lambda p: optim.Lookahead(optim.Adam(p, lr=1e-3), k=3, alpha=0.5),
}


def make_problem(seed=0):
    """A small MLP with dropout (so the random generator matters), its data and loss."""
    minigrad.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    batches = [(minigrad.tensor(X[i:i + 16]), minigrad.tensor(y[i:i + 16]))
               for i in range(0, 64, 16)]

    def loss(batch):
        return F.cross_entropy(model(batch[0]), batch[1])
    return model, loss, batches


def train(model, optimizer, loss, batches, steps):
    for step in range(steps):
        optimizer.zero_grad()
        loss(batches[step % len(batches)]).backward()
        optimizer.step()


def arrays(obj, prefix=""):
    """Every array (and number) inside a state dict, by path."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from arrays(value, f"{prefix}/{key}")
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from arrays(value, f"{prefix}/{i}")
    else:
        yield prefix, obj


def assert_same_state(a, b):
    a, b = dict(arrays(a)), dict(arrays(b))
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_restores_model_optimizer_and_generator_exactly(name):
    # Two identical trainings; one runs the range test half way. Everything it touched must be
    # back, and the rest of its training must be bit-for-bit the other one's.
    runs = []
    for with_finder in (False, True):
        model, loss, batches = make_problem()
        optimizer = OPTIMIZERS[name](model.parameters())
        train(model, optimizer, loss, batches, 7)
        if with_finder:
            before = ([p.data.copy() for p in model.parameters()],
                      [p.grad.copy() for p in model.parameters()], optimizer.state_dict(),
                      random.get_state())
            result = optim.lr_find(model, optimizer, loss, batches, num_steps=30, repeats=2)
            assert len(result.lrs) >= 2
            for p, data, grad in zip(model.parameters(), before[0], before[1], strict=True):
                np.testing.assert_array_equal(p.data, data)
                np.testing.assert_array_equal(p.grad, grad)
            assert_same_state(optimizer.state_dict(), before[2])
            assert random.get_state() == before[3]
        train(model, optimizer, loss, batches, 5)
        runs.append((model, optimizer))
    (plain, plain_opt), (tested, tested_opt) = runs
    for a, b in zip(plain.parameters(), tested.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert_same_state(plain_opt.state_dict(), tested_opt.state_dict())


def test_restores_when_the_loss_raises():
    model, loss, batches = make_problem()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    saved = [p.data.copy() for p in model.parameters()]
    calls = []

    def failing(batch):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("boom")
        return loss(batch)

    with pytest.raises(RuntimeError, match="boom"):
        optim.lr_find(model, optimizer, failing, batches, num_steps=20)
    for p, data in zip(model.parameters(), saved, strict=True):
        np.testing.assert_array_equal(p.data, data)
    assert optimizer.param_groups[0]["lr"] == 1e-3 and not optimizer.state


@pytest.mark.parametrize("h", [0.5, 2.0, 10.0])
def test_suggestion_on_a_quadratic_is_near_the_optimal_step(h):
    # f(x) = h/2 |x|^2 with plain gradient descent: the step 1/h reaches the minimum in one
    # step, and steps above 2/h diverge. The suggestion must be within 3x of 1/h.
    x = minigrad.tensor(np.ones(20), requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)
    result = optim.lr_find([x], optimizer, lambda _: (x * x * (h / 2)).sum(), [None],
                           start_lr=1e-4, end_lr=1e3, num_steps=120)
    assert result.diverged
    assert 1 / 3 <= result.suggested_lr * h <= 3
    np.testing.assert_array_equal(x.data, np.ones(20))


def test_suggestion_reads_the_floor_of_the_smoothed_curve():
    # A flat-bottomed valley in log-loss: 1 down to 0 over lrs 1e-4..1e-2, flat to 1e-1, then up.
    lrs = np.logspace(-4, 0, 81)
    t = np.log10(lrs)
    log_loss = np.interp(t, [-4, -2, -1, 0], [1.0, 0.0, 0.0, 2.0])
    result = optim.lr_finder.read_curve(lrs, np.exp(log_loss), factor=2.0, floor=0.1)
    low, high = result.floor
    assert low == pytest.approx(10 ** -2.2, rel=0.15)
    assert high == pytest.approx(10 ** -0.95, rel=0.15)
    assert result.suggested_lr == pytest.approx(np.sqrt(low * high) / 2)
    assert np.argmin(result.smoothed) == np.argmin(np.abs(lrs - result.min_lr))


def test_smoothing_has_no_lag():
    # A symmetric dip must stay where it is after smoothing (an EMA would move it right).
    steps = np.arange(100)
    losses = np.exp(-((steps - 40) / 8.0) ** 2) * -0.5 + 1.0
    smoothed = optim.lr_finder.smooth_log(losses)
    assert int(np.argmin(smoothed)) == 40


def test_stops_when_the_loss_runs_away_and_reuses_exhausted_batches():
    x = minigrad.tensor(np.ones(4), requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)
    seen = []

    def loss(batch):
        seen.append(batch)
        return (x * x).sum()
    result = optim.lr_find([x], optimizer, loss, [0, 1, 2], start_lr=1e-3, end_lr=100.0,
                           num_steps=60)
    assert result.diverged and len(result.lrs) < 60
    assert seen[:7] == [0, 1, 2, 0, 1, 2, 0]


def test_plot_draws_when_matplotlib_is_there(tmp_path):
    pytest.importorskip("matplotlib")
    x = minigrad.tensor(np.ones(4), requires_grad=True)
    result = optim.lr_find([x], optim.SGD([x], lr=0.1), lambda _: (x * x).sum(), [None],
                           num_steps=40)
    ax = result.plot(path=tmp_path / "finder.png")
    assert ax is not None and (tmp_path / "finder.png").stat().st_size > 0


@pytest.mark.parametrize("kwargs, error", [
    (dict(start_lr=0.0), ValueError), (dict(start_lr=1.0, end_lr=0.5), ValueError),
    (dict(num_steps=1), ValueError), (dict(num_steps=2.5), TypeError),
    (dict(repeats=0), ValueError), (dict(factor="2"), TypeError),
    (dict(stop_factor=1.0), ValueError), (dict(end_lr=float("nan")), ValueError),
])
def test_bad_arguments_are_refused(kwargs, error):
    x = minigrad.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(error):
        optim.lr_find([x], optim.SGD([x], lr=0.1), lambda _: (x * x).sum(), [None], **kwargs)


def test_bad_model_or_optimizer_is_refused():
    x = minigrad.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="optimizer"):
        optim.lr_find([x], object(), lambda _: (x * x).sum(), [None])
    with pytest.raises(TypeError, match="model"):
        optim.lr_find(x, optim.SGD([x], lr=0.1), lambda _: (x * x).sum(), [None])
    with pytest.raises(ValueError, match="empty"):
        optim.lr_find([x], optim.SGD([x], lr=0.1), lambda _: (x * x).sum(), [])
