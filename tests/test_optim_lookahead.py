"""Lookahead over each inner optimizer: k inner steps, then slow += alpha*(fast - slow)."""

import numpy as np
import pytest
from optim_helpers import CASES, SHAPES, build, make_grads, make_params, run

from minigrad import optim


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name, config", CASES)
def test_lookahead_matches_its_definition(name, config, backend, rng):
    k, alpha, steps = 3, 0.4, 10
    grads = make_grads(rng, SHAPES, steps)
    params = make_params(np.random.default_rng(0))
    wrapped = optim.Lookahead(build(name, params, config, backend), k=k, alpha=alpha)
    twin = make_params(np.random.default_rng(0))  # the same run, synchronised by hand
    inner = build(name, twin, config, backend)
    slow = [p.data.copy() for p in twin]
    for t in range(steps):
        run(wrapped, params, grads[t:t + 1])
        run(inner, twin, grads[t:t + 1])
        if (t + 1) % k == 0:
            for p, s in zip(twin, slow, strict=True):
                s += alpha * (p.data - s)
                p.data[...] = s
        for a, b in zip(params, twin, strict=True):
            np.testing.assert_allclose(a.data, b.data, rtol=1e-12)


def test_lookahead_state_dict_resume_and_exposed_groups(rng):
    grads = make_grads(rng, SHAPES, 9)
    params = make_params(np.random.default_rng(0))
    straight = optim.Lookahead(optim.Adam(params, lr=0.1), k=4)
    run(straight, params, grads)

    params2 = make_params(np.random.default_rng(0))
    first = optim.Lookahead(optim.Adam(params2, lr=0.1), k=4)
    run(first, params2, grads[:6])
    saved = first.state_dict()
    assert saved["step_counter"] == 6 and len(saved["slow"]) == len(SHAPES)
    resumed = optim.Lookahead(optim.Adam(params2, lr=0.1), k=4)
    resumed.load_state_dict(saved)
    run(resumed, params2, grads[6:])
    for a, b in zip(params, params2, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert resumed.param_groups is resumed.optimizer.param_groups
    assert resumed.state is resumed.optimizer.state
