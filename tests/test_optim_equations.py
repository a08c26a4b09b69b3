"""Each algorithm against its equations (optim_helpers.EQUATIONS) in float64 over 60 steps."""

import numpy as np
import pytest
from optim_helpers import CASES, SHAPES, build, expected_run, make_grads, make_params, run

STEPS = 60


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name, config", CASES)
def test_matches_equations(name, config, backend, rng):
    params = make_params(rng)
    grads = make_grads(rng, SHAPES, STEPS)
    expected = expected_run(name, config, [p.data for p in params], grads)
    run(build(name, params, config, backend), params, grads)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, config", [c for c in CASES if c[0] in ("SGD", "Adam")])
def test_python_backend_matches_equations(name, config, rng):
    """The interpreter runs the update functions too (fewer steps: it is slow by design)."""
    params = make_params(rng)
    grads = make_grads(rng, SHAPES, 5)
    expected = expected_run(name, config, [p.data for p in params], grads)
    run(build(name, params, config, "python"), params, grads)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-12)


def test_adam_with_decoupled_weight_decay_is_adamw(rng):
    params = make_params(rng)
    twins = [type(p)(p.data.copy(), requires_grad=True) for p in params]
    grads = make_grads(rng, SHAPES, 10)
    config = dict(lr=0.01, weight_decay=0.3)
    run(build("Adam", params, dict(config, decoupled_weight_decay=True)), params, grads)
    run(build("AdamW", twins, config), twins, grads)
    for a, b in zip(params, twins, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
