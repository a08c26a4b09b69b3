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
    "Adam": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1, amsgrad=True)],
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
