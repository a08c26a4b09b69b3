"""Each algorithm against its equations, written out here in float64 over 60 random steps."""

import numpy as np
import pytest
from optim_helpers import CASES, SHAPES, build, make_grads, make_params, run

STEPS = 60


def sgd(p, g, s, t, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    g = g + weight_decay * p
    if momentum:
        s["b"] = g.copy() if t == 1 else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return p - lr * g


def rmsprop(p, g, s, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False):
    g = g + weight_decay * p
    s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g**2
    if centered:
        s["a"] = alpha * s.get("a", 0) + (1 - alpha) * g
        denom = np.sqrt(s["v"] - s["a"] ** 2) + eps
    else:
        denom = np.sqrt(s["v"]) + eps
    if momentum:
        s["b"] = momentum * s.get("b", 0) + g / denom
        return p - lr * s["b"]
    return p - lr * g / denom


def adam(p, g, s, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         decoupled=False):
    b1, b2 = betas
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g**2
    v = s["v"]
    if amsgrad:
        s["vmax"] = v = np.maximum(s.get("vmax", 0), v)
    return p - lr / (1 - b1**t) * s["m"] / (np.sqrt(v) / np.sqrt(1 - b2**t) + eps)


def adamw(p, g, s, t, lr, weight_decay=1e-2, **options):
    return adam(p, g, s, t, lr, weight_decay=weight_decay, decoupled=True, **options)


def adabelief(p, g, s, t, lr, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
              decoupled_weight_decay=True, amsgrad=False):
    b1, b2 = betas
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["s"] = b2 * s.get("s", 0) + (1 - b2) * (g - s["m"]) ** 2 + eps
    v = s["s"]
    if amsgrad:
        s["smax"] = v = np.maximum(s.get("smax", 0), v)
    return p - lr / (1 - b1**t) * s["m"] / (np.sqrt(v / (1 - b2**t)) + eps)


def lion(p, g, s, t, lr, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    m = s.get("m", 0)
    p = p * (1 - lr * weight_decay) - lr * np.sign(b1 * m + (1 - b1) * g)
    s["m"] = b2 * m + (1 - b2) * g
    return p


EQUATIONS = {"SGD": sgd, "RMSprop": rmsprop, "Adam": adam, "AdamW": adamw,
             "AdaBelief": adabelief, "Lion": lion}


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name, config", CASES)
def test_matches_equations(name, config, backend, rng):
    params = make_params(rng)
    grads = make_grads(rng, SHAPES, STEPS)
    expected = [p.data.copy() for p in params]
    states = [{} for _ in params]
    for t, step in enumerate(grads, start=1):
        expected = [EQUATIONS[name](p, g, s, t, **config)
                    for p, g, s in zip(expected, step, states, strict=True)]
    run(build(name, params, config, backend), params, grads)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-10, atol=1e-12)


def test_python_backend_matches_equations(rng):
    """The interpreter runs the kernels too (fewer steps: it is slow by design)."""
    params = make_params(rng)
    grads = make_grads(rng, SHAPES, 5)
    expected = [p.data.copy() for p in params]
    states = [{} for _ in params]
    for t, step in enumerate(grads, start=1):
        expected = [adam(p, g, s, t, 0.01, amsgrad=True)
                    for p, g, s in zip(expected, step, states, strict=True)]
    run(build("Adam", params, dict(lr=0.01, amsgrad=True), "python"), params, grads)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-12)
