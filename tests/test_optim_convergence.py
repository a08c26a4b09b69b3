"""Each optimizer drives a quadratic and the Rosenbrock function toward their minima."""

import numpy as np
import pytest

import minigrad
from minigrad import optim

OPTIMIZERS = [
    ("SGD", dict(lr=0.05)), ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("RMSprop", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adam", dict(lr=0.05)), ("AdamW", dict(lr=0.05, weight_decay=0.0)),
    ("AdaBelief", dict(lr=0.05)), ("Lion", dict(lr=0.005)), ("Lookahead", dict(lr=0.05)),
]


def _make(name, config, params):
    if name == "Lookahead":
        return optim.Lookahead(optim.Adam(params, **config))
    return getattr(optim, name)(params, **config)


def _minimise(name, config, start, gradient, steps):
    x = minigrad.Tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = _make(name, config, [x])
    for _ in range(steps):
        x.grad = gradient(x.data)
        opt.step()
    return x.data


@pytest.mark.parametrize("name, config", OPTIMIZERS)
def test_quadratic(name, config):
    scales = np.array([1.0, 4.0, 0.5])
    x = _minimise(name, config, [2.0, -1.5, 1.0], lambda x: scales * x, 2000)
    assert np.linalg.norm(x) < 0.05


@pytest.mark.parametrize("name, config", OPTIMIZERS)
def test_rosenbrock(name, config):
    def gradient(x):
        a, b = x
        return np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])

    def f(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    start = [-1.0, 1.5]
    small = dict(config, lr=config["lr"] * (0.02 if name.startswith("SGD") else 0.5))
    x = _minimise(name, small, start, gradient, 4000)
    assert f(x) < 0.1 * f(start)
    assert np.linalg.norm(x - 1.0) < np.linalg.norm(np.array(start) - 1.0)
