"""What each optimizer holds in memory and what a step costs, measured rather than counted.

Memory is measured twice. ``tracemalloc`` (NumPy reports its array buffers to it) gives the bytes
that stay allocated from just before the optimizer is built until after two steps: its state
arrays, Lookahead's slow weights, and anything else it keeps, on one large float32
parameter. ``state_dict()`` gives the bytes of the arrays
it would save. Step time is the median of repeated ``step()`` calls on the same parameter,
the optimizers taking turns so that a busy neighbour slows all of them alike.
"""

import time
import tracemalloc

import numpy as np
import optimizers

import minigrad

from .runs import build_optimizer


def _parameter(elements, seed=0):
    rng = np.random.default_rng(seed)
    p = minigrad.tensor(rng.standard_normal(elements).astype(np.float32), requires_grad=True)
    p.grad = rng.standard_normal(elements).astype(np.float32)
    return p


def held_bytes(name, elements):
    """Bytes per parameter element that the optimizer ``name`` keeps (tracemalloc, state dict)."""
    warm = _parameter(8)  # compile and cache the kernels outside the measurement
    build_optimizer(name, [warm], 1e-3).step()
    p = _parameter(elements)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        optimizer = build_optimizer(name, [p], 1e-3)
        optimizer.step()
        optimizer.step()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return {"traced": held / elements,
            "state_dict": optimizers.state_bytes_per_parameter(optimizer, [p])}


def step_times(names, elements, repeats):
    """Median seconds per ``step()`` on one float32 parameter of ``elements``, per optimizer."""
    setups = {}
    for name in names:
        p = _parameter(elements)
        optimizer = build_optimizer(name, [p], 1e-4)
        for _ in range(3):
            optimizer.step()
        setups[name] = optimizer
    times = {name: [] for name in names}
    for _ in range(repeats):
        for name, optimizer in setups.items():
            start = time.perf_counter()
            optimizer.step()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def measure(names, elements, repeats):
    """Bytes per element held and nanoseconds per element per step, for every optimizer."""
    times = step_times(names, elements, repeats)
    return {name: {**held_bytes(name, elements),
                   "step_ns_per_element": 1e9 * times[name] / elements}
            for name in names}
