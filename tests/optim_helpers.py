"""Helpers of the optimizer tests: parameters, random gradients, every option per algorithm."""

import numpy as np

import minigrad
from minigrad import optim

SHAPES = [(5, 3), (7,), (2, 2, 2)]

# Each optimizer with the option sets that cover all of its branches.
CONFIGS = {
    "SGD": [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, dampening=0.3),
            dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)],
    "RMSprop": [dict(), dict(centered=True, weight_decay=0.1), dict(momentum=0.8),
                dict(centered=True, momentum=0.8, alpha=0.9)],
    "Adam": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1, amsgrad=True),
             dict(lr=0.01, weight_decay=0.3, decoupled_weight_decay=True)],
    "AdamW": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.3, amsgrad=True)],
    "AdaBelief": [dict(lr=0.01, weight_decay=0.1),
                  dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=False, amsgrad=True)],
    "Lion": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.5, betas=(0.8, 0.95))],
}
CASES = [(name, config) for name, configs in CONFIGS.items() for config in configs]


def make_params(rng, dtype=np.float64, shapes=SHAPES):
    """Fresh parameters with random values."""
    return [minigrad.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in shapes]


def make_grads(rng, shapes, steps, dtype=np.float64):
    """``steps`` lists of random gradients (zeros sprinkled in, to exercise sign(0))."""
    grads = []
    for _ in range(steps):
        step = [rng.standard_normal(s).astype(dtype) for s in shapes]
        step[0].flat[0] = 0.0
        grads.append(step)
    return grads


def run(optimizer, params, grads):
    """Step ``optimizer`` once per entry of ``grads``."""
    for step in grads:
        for p, g in zip(params, step, strict=True):
            p.grad = g
        optimizer.step()


def build(name, params, config, backend="numba"):
    """The optimizer ``name`` over ``params``."""
    return getattr(optim, name)(params, backend=backend, **config)


# Each algorithm's step written out in NumPy, as its paper and torch.optim state it: the
# reference the optimizers are held to. Each takes the parameter p, its gradient g, a dict s of
# its state (updated) and the step number t, and returns the new p.

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
         decoupled_weight_decay=False):
    b1, b2 = betas
    if decoupled_weight_decay:
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
    return adam(p, g, s, t, lr, weight_decay=weight_decay, decoupled_weight_decay=True, **options)


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


def expected_run(name, config, start, grads):
    """The parameters after ``grads`` (steps of one gradient per parameter), by the equations."""
    expected = [p.copy() for p in start]
    states = [{} for _ in start]
    for t, step in enumerate(grads, start=1):
        expected = [EQUATIONS[name](p, g, s, t, **config)
                    for p, g, s in zip(expected, step, states, strict=True)]
    return expected
