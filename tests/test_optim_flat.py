"""Small parameters live in flat buffers (flat.py): the flat path must be the per-tensor path.

The reference for every check is the same run with flat buffers turned off
(``FLAT_MAX_SIZE = 0``): the kernels are the same, so the numba results must agree bit for bit.
"""

import numpy as np
import pytest
from optim_helpers import CASES, build, make_grads, make_params, run

import minigrad
from minigrad import optim
from minigrad.optim import flat

# (5, 3) is above the threshold set below, so a group mixes both paths.
SHAPES = [(5, 3), (7,), (2, 2, 2), (3, 1)]
THRESHOLD = 10


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(flat, "FLAT_MAX_SIZE", THRESHOLD)


def _train(name, config, backend, grads, use_flat, monkeypatch):
    """Run ``grads`` through a fresh optimizer, with or without flat buffers."""
    monkeypatch.setattr(flat, "FLAT_MAX_SIZE", THRESHOLD if use_flat else 0)
    params = make_params(np.random.default_rng(0), shapes=SHAPES)
    opt = build(name, params, config, backend)
    run(opt, params, grads)
    return params, opt


@pytest.mark.parametrize("name, config", CASES)
def test_flat_path_equals_per_tensor_path_and_python(name, config, monkeypatch):
    grads = make_grads(np.random.default_rng(1), SHAPES, 12)
    kept = [[g.copy() for g in step] for step in grads]
    flat_params, opt = _train(name, config, "numba", grads, True, monkeypatch)
    assert opt._flat[id(opt.param_groups[0])] is not None  # the flat path did run
    for step, step_kept in zip(grads, kept, strict=True):  # gradients are only read
        for g, k in zip(step, step_kept, strict=True):
            np.testing.assert_array_equal(g, k)
    direct, _ = _train(name, config, "numba", grads, False, monkeypatch)
    python, _ = _train(name, config, "python", grads, True, monkeypatch)
    for a, b, c in zip(flat_params, direct, python, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_allclose(a.data, c.data, rtol=1e-12)


def test_small_params_are_rehomed_and_state_dict_is_unchanged(small_threshold, rng):
    params = make_params(rng, shapes=SHAPES)
    opt = optim.Adam(params, lr=0.01)
    run(opt, params, make_grads(rng, SHAPES, 2))
    layout = opt._flat[id(opt.param_groups[0])]
    assert [p.data.base is layout.data for p in params] == [False, True, True, True]
    assert all(opt.state[p]["exp_avg"].base is layout.state["exp_avg"] for p in params[1:])
    assert all(p.data.flags.c_contiguous for p in params)
    state = opt.state_dict()["state"]
    assert sorted(state) == [0, 1, 2, 3]
    for i, p in enumerate(params):
        assert state[i]["step"] == 2
        assert state[i]["exp_avg"].shape == p.shape and state[i]["exp_avg"].base is None


def _replace_data(t, params, opt):
    if t == 3:
        params[1].data = params[1].data * 0.5  # a new array: must be re-homed
    if t == 5:
        params[2].data = params[2].data.copy()


def _drop_grads(t, params, opt):
    if t in (2, 3):
        params[1].grad = None  # skipped for two steps: its step count falls behind
    if t == 6:
        params[3].grad = None


def _replace_state(t, params, opt):
    if t == 4:
        key = next(k for k in opt.state[params[1]] if k != "step")
        opt.state[params[1]][key] = opt.state[params[1]][key] * 0.5


@pytest.mark.parametrize("meddle", [_replace_data, _drop_grads, _replace_state])
@pytest.mark.parametrize("name, config", [CASES[1], CASES[5], CASES[8], CASES[13]])
def test_flat_path_follows_changes_made_between_steps(name, config, meddle, monkeypatch):
    steps = make_grads(np.random.default_rng(2), SHAPES, 10)

    results = []
    for use_flat in (True, False):
        monkeypatch.setattr(flat, "FLAT_MAX_SIZE", THRESHOLD if use_flat else 0)
        params = make_params(np.random.default_rng(0), shapes=SHAPES)
        opt = build(name, params, config)
        for t in range(len(steps)):
            for p, g in zip(params, steps[t], strict=True):
                p.grad = g
            meddle(t, params, opt)
            opt.step()
        results.append((params, opt.state_dict()))
    (flat_params, flat_state), (direct, direct_state) = results
    for a, b in zip(flat_params, direct, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    for i, s in direct_state["state"].items():
        assert flat_state["state"][i]["step"] == s["step"]


def _train_mlp(steps):
    """Train a small MLP with backward and Adam; returns its parameters and the optimizer."""
    minigrad.manual_seed(0)
    model = minigrad.nn.Sequential(minigrad.nn.Linear(3, 4), minigrad.nn.Tanh(),
                                   minigrad.nn.Linear(4, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    x = minigrad.tensor(np.random.default_rng(5).standard_normal((8, 3)))
    for _ in range(steps):
        opt.zero_grad()
        ((model(x) - 1.0) ** 2).mean().backward()
        opt.step()
    return list(model.parameters()), opt


def test_backward_writes_gradients_into_the_flat_buffer(monkeypatch):
    params, opt = _train_mlp(6)
    layout = opt._flat[id(opt.param_groups[0])]
    # After zero_grad (grads None) the last backward wrote each gradient into its home.
    assert [p.grad is view for p, view in zip(params, layout.grad_views, strict=True)] == \
        [True] * 4
    monkeypatch.setattr(flat, "FLAT_MAX_SIZE", 0)
    direct, opt = _train_mlp(6)
    assert opt._flat[id(opt.param_groups[0])] is None
    for a, b in zip(params, direct, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(a.grad, b.grad)


def test_params_added_to_a_group_are_updated(small_threshold, rng):
    params = make_params(rng, shapes=SHAPES)
    opt = optim.SGD(params[:3], lr=0.1)
    run(opt, params[:3], make_grads(rng, SHAPES[:3], 1))
    opt.param_groups[0]["params"].append(params[3])
    before = params[3].data.copy()
    params[3].grad = np.ones(SHAPES[3])
    opt.step()
    np.testing.assert_allclose(params[3].data, before - 0.1)


def test_mixed_dtypes_in_one_group(small_threshold, rng):
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


def test_wrong_gradient_shape_still_raises_on_the_flat_path(small_threshold, rng):
    params = make_params(rng, shapes=SHAPES)
    opt = optim.Adam(params)
    run(opt, params, make_grads(rng, SHAPES, 1))
    params[1].grad = np.zeros((1, 7))
    with pytest.raises(ValueError, match=r"gradient of shape \(1, 7\) does not match"):
        opt.step()


@pytest.mark.parametrize("name, config", CASES)
def test_flat_path_allocates_no_arrays_per_step(name, config, rng):
    import tracemalloc

    shapes = [(32, 32)] * 4 + [(32,)] * 4
    params = make_params(rng, shapes=shapes)
    for p, g in zip(params, make_grads(rng, shapes, 1)[0], strict=True):
        p.grad = g
    opt = build(name, params, config)
    opt.step()  # builds the flat buffers (and compiles)
    assert opt._flat[id(opt.param_groups[0])] is not None
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(5):
            opt.step()
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    smallest_array = 32 * 32 * 8  # one parameter; the flat buffers are over 4 times that
    assert end - start < smallest_array and peak - start < smallest_array
