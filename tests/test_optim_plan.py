"""A group's step plan (plan.py) is reused only while it holds: the result is a fresh step's.

The reference for every check is the same run with a fresh plan made at every step (every
check made again): the update calls are the same, so the results must agree bit for bit.
"""

import tracemalloc

import numpy as np
import pytest
from optim_helpers import CASES, CONFIGS, build, make_grads, make_params, run

import minigrad
from minigrad import optim
from minigrad.optim.plan import StepPlan

SHAPES = [(5, 3), (7,), (2, 2, 2), (3, 1)]


def _fresh_plans_each_step(monkeypatch):
    """Make every step plan afresh, with every check."""
    monkeypatch.setattr(StepPlan, "current_gradients", lambda self, optimizer, group: None)


@pytest.mark.parametrize("name, config", CASES)
def test_reused_plan_equals_fresh_plans(name, config, monkeypatch):
    grads = make_grads(np.random.default_rng(1), SHAPES, 12)
    kept = [[g.copy() for g in step] for step in grads]
    params = make_params(np.random.default_rng(0), shapes=SHAPES)
    opt = build(name, params, config)
    run(opt, params, grads[:1])
    plan = opt._plans[id(opt.param_groups[0])]
    run(opt, params, grads[1:])
    assert opt._plans[id(opt.param_groups[0])] is plan  # the plan was reused
    for step, step_kept in zip(grads, kept, strict=True):  # gradients are only read
        for g, k in zip(step, step_kept, strict=True):
            np.testing.assert_array_equal(g, k)
    _fresh_plans_each_step(monkeypatch)
    fresh = make_params(np.random.default_rng(0), shapes=SHAPES)
    run(build(name, fresh, config), fresh, grads)
    for a, b in zip(params, fresh, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def _replace_data(t, params, opt):
    if t == 3:
        params[1].data = params[1].data * 0.5  # a new array
    if t == 5:
        params[2].data = np.asfortranarray(params[2].data)  # and one of another layout


def _drop_grads(t, params, opt):
    if t in (2, 3):
        params[1].grad = None  # skipped for two steps: its step count falls behind
    if t == 6:
        params[3].grad = None


def _replace_state(t, params, opt):
    if t == 4:
        key = next(k for k in opt.state[params[1]] if k != "step")
        opt.state[params[1]][key] = opt.state[params[1]][key] * 0.5


def _edit_in_place(t, params, opt):
    if t == 4:
        params[0].data *= 0.5  # the same arrays, new values
        key = next(k for k in opt.state[params[1]] if k != "step")
        opt.state[params[1]][key] *= 0.5


def _reload_state(t, params, opt):
    if t == 5:
        opt.load_state_dict(opt.state_dict())


def _change_hyperparameters(t, params, opt):
    if t == 4:
        group = opt.param_groups[0]
        group["lr"] *= 0.5
        for key, value in (("amsgrad", True), ("centered", True), ("momentum", 0.5)):
            if key in group:
                group[key] = value  # the group now keeps more state
                if key == "momentum" and "nesterov" in group:
                    group["dampening"] = 0.0


def _add_param(t, params, opt):
    if t == 3:
        opt.param_groups[0]["params"].append(params[3])


MEDDLERS = [_replace_data, _drop_grads, _replace_state, _edit_in_place, _reload_state,
            _change_hyperparameters, _add_param]


@pytest.mark.parametrize("meddle", MEDDLERS)
@pytest.mark.parametrize("name, config", [(name, CONFIGS[name][i]) for name, i in
                                          (("SGD", 1), ("RMSprop", 1), ("Adam", 0),
                                           ("AdaBelief", 1))])
def test_plans_follow_changes_made_between_steps(name, config, meddle, monkeypatch):
    steps = make_grads(np.random.default_rng(2), SHAPES, 10)
    results = []
    for reuse in (True, False):
        if not reuse:
            _fresh_plans_each_step(monkeypatch)
        params = make_params(np.random.default_rng(0), shapes=SHAPES)
        opt = build(name, params[:3] if meddle is _add_param else params, config)
        for t in range(len(steps)):
            for p, g in zip(params, steps[t], strict=True):
                p.grad = g
            meddle(t, params, opt)
            opt.step()
        results.append((params, opt.state_dict()))
    (reused, reused_state), (fresh, fresh_state) = results
    for a, b in zip(reused, fresh, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    for i, s in fresh_state["state"].items():
        assert reused_state["state"][i]["step"] == s["step"]
        for key, value in s.items():
            np.testing.assert_array_equal(reused_state["state"][i][key], value)


def test_mixed_dtypes_in_one_group(rng):
    shapes = [(3,), (4,), (2,), (5,)]
    params = [minigrad.Tensor(rng.standard_normal(s).astype(d), requires_grad=True)
              for s, d in zip(shapes, [np.float32, np.float64, np.float32, np.float64],
                              strict=True)]
    twins = [minigrad.Tensor(p.data.copy(), requires_grad=True) for p in params]
    grads = make_grads(rng, shapes, 5)
    grads = [[g.astype(p.data.dtype) for g, p in zip(step, params, strict=True)]
             for step in grads]
    run(optim.Adam(params, lr=0.1), params, grads)
    run(optim.Adam(twins, lr=0.1, backend="numpy"), twins, grads)
    for a, b in zip(params, twins, strict=True):
        assert a.data.dtype == b.data.dtype
        np.testing.assert_allclose(a.data, b.data, rtol=1e-5)


def test_a_gradient_of_another_dtype_is_read_through_a_copy(rng):
    params = make_params(rng, np.float32, shapes=SHAPES)
    twins = [minigrad.Tensor(p.data.copy(), requires_grad=True) for p in params]
    grads = make_grads(rng, SHAPES, 3)  # float64
    run(optim.Adam(params, lr=0.1), params, grads)
    run(optim.Adam(twins, lr=0.1), twins, [[g.astype(np.float32) for g in s] for s in grads])
    for a, b in zip(params, twins, strict=True):
        assert a.data.dtype == np.float32
        np.testing.assert_array_equal(a.data, b.data)


def test_wrong_gradient_shape_raises_on_a_reused_plan(rng):
    params = make_params(rng, shapes=SHAPES)
    opt = optim.Adam(params)
    run(opt, params, make_grads(rng, SHAPES, 2))
    before = [p.data.copy() for p in params]
    params[1].grad = np.zeros((1, 7))
    with pytest.raises(ValueError, match=r"Adam: parameter 1: gradient of shape \(1, 7\) does "
                                         r"not match its parameter of shape \(7,\)"):
        opt.step()
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)


@pytest.mark.parametrize("name, config", CASES)
def test_a_step_allocates_no_arrays(name, config, rng):
    shapes = [(64, 64)] * 4 + [(2048,)] * 4
    params = make_params(rng, shapes=shapes)
    for p, g in zip(params, make_grads(rng, shapes, 1)[0], strict=True):
        p.grad = g
    opt = build(name, params, config)
    opt.step()  # creates the state (and compiles)
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(5):
            opt.step()
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    smallest_array = 2048 * 8  # bytes: an array of the smallest parameter's size
    assert end - start < smallest_array and peak - start < smallest_array
