"""Lookahead over each inner optimizer: k inner steps, then slow += alpha*(fast - slow)."""

import numpy as np
import pytest
from optim_helpers import CASES, SHAPES, build, make_grads, make_params, run

import minigrad
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


def _lookahead_run(params, grads, k=3, alpha=0.4):
    opt = optim.Lookahead(optim.SGD(params, lr=0.1, momentum=0.9), k=k, alpha=alpha)
    run(opt, params, grads)
    return opt


@pytest.mark.parametrize("in_place", [True, False])
def test_slow_weights_start_from_weights_loaded_after_construction(in_place, rng):
    """The slow weights are taken at the first step, not when the optimizer is made."""
    grads = make_grads(rng, SHAPES, 7)
    trained = make_params(np.random.default_rng(1))  # e.g. weights from a checkpoint
    params = make_params(np.random.default_rng(0))  # a fresh model's random weights
    opt = optim.Lookahead(optim.SGD(params, lr=0.1, momentum=0.9), k=3, alpha=0.4)
    for p, w in zip(params, trained, strict=True):
        if in_place:
            p.data[...] = w.data
        else:
            p.data = w.data.copy()
    run(opt, params, grads)
    twins = [minigrad.Tensor(w.data.copy(), requires_grad=True) for w in trained]
    _lookahead_run(twins, grads)  # made after the weights were loaded
    for a, b in zip(params, twins, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_loaded_slow_weights_are_used_from_the_next_step(rng):
    grads = make_grads(rng, SHAPES, 6)
    params = make_params(np.random.default_rng(0))
    first = _lookahead_run(params, grads[:4])
    saved = first.state_dict()
    resumed_params = [minigrad.Tensor(p.data.copy(), requires_grad=True) for p in params]
    resumed = optim.Lookahead(optim.SGD(resumed_params, lr=0.1, momentum=0.9), k=3, alpha=0.4)
    resumed.load_state_dict(saved)
    run(first, params, grads[4:])
    run(resumed, resumed_params, grads[4:])
    for a, b in zip(params, resumed_params, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    old_format = dict(saved, slow=[saved["slow"][i] for i in range(len(SHAPES))])
    resumed.load_state_dict(old_format)  # a list of slow weights, as older checkpoints hold


def test_a_step_that_raises_takes_no_slow_weights(rng):
    params = make_params(rng)
    opt = optim.Lookahead(optim.Adam(params), k=2)
    for p in params:
        p.grad = np.zeros(p.shape)
    params[0].grad = np.zeros(3)
    with pytest.raises(ValueError, match="gradient of shape"):
        opt.step()
    assert opt.slow == {} and opt.step_counter == 0


def test_a_bad_lookahead_state_dict_raises_and_changes_nothing(rng):
    params = make_params(rng)
    opt = _lookahead_run(params, make_grads(rng, SHAPES, 4))
    good = opt.state_dict()
    donor = _lookahead_run(make_params(np.random.default_rng(5)),
                           make_grads(np.random.default_rng(6), SHAPES, 5), k=4, alpha=0.7)
    new = donor.state_dict()

    def edited(**changes):
        return dict(new, **changes)

    def inner(**group_changes):
        groups = [dict(new["optimizer"]["param_groups"][0], **group_changes)]
        return dict(new["optimizer"], param_groups=groups)

    cases = [
        (edited(k=0), ValueError, r"invalid lookahead steps: 0 \(expected k >= 1\)"),
        (edited(k=2.5), TypeError, "k must be an int"),
        (edited(alpha=1.5), ValueError, "invalid slow update rate alpha: 1.5"),
        (edited(step_counter=-1), ValueError, "invalid step_counter: -1"),
        (edited(slow={0: np.zeros((2, 2))}), ValueError, r"slow weights 0 has shape \(2, 2\)"),
        (edited(slow={0: [1.0]}), TypeError, "slow weights 0 must be an ndarray"),
        (edited(slow={9: np.zeros(3)}), ValueError, "slow weights for parameter 9"),
        (edited(slow="x"), TypeError, "slow weights must be a dict"),
        (edited(optimizer=inner(lr=-1.0)), ValueError, "SGD: invalid learning rate: -1.0"),
        (edited(optimizer=inner(momentum=None)), TypeError, "momentum value must be a real"),
        ({key: value for key, value in new.items() if key != "k"}, ValueError, "has no 'k'"),
    ]
    for bad, error, message in cases:
        with pytest.raises(error, match=message):
            opt.load_state_dict(bad)
        after = opt.state_dict()
        assert (after["k"], after["alpha"], after["step_counter"]) == (3, 0.4, 4)
        assert after["optimizer"]["param_groups"] == good["optimizer"]["param_groups"]
        for i, slow in good["slow"].items():
            np.testing.assert_array_equal(after["slow"][i], slow)
        for i, state in good["optimizer"]["state"].items():
            np.testing.assert_array_equal(after["optimizer"]["state"][i]["momentum_buffer"],
                                          state["momentum_buffer"])
    opt.load_state_dict(new)
    assert (opt.k, opt.alpha, opt.step_counter) == (4, 0.7, 5)
