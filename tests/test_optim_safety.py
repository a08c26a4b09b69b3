"""Memory safety and in-place semantics: every parameter updated in its own memory, as PyTorch does.

A step checks everything before it writes anything: an array that changed shape, a state array
that does not fit, a read-only parameter raise a clear error and leave every parameter and all
state as they were. Non-contiguous parameters and parameters sharing memory are updated in
place, on every backend. Every step bumps the version counter of each parameter it changes.
"""

import numpy as np
import pytest
from optim_helpers import CASES, CONFIGS, EQUATIONS, build, expected_run, make_grads, run

import minigrad
from minigrad import optim

BACKENDS = ["numba", "python", "numpy"]
WITH_STATE = [(name, config) for name, config in CASES
              if not (name == "SGD" and not config.get("momentum"))]


def _snapshot(params, opt):
    """Copies of every parameter and of the whole optimizer state."""
    state = {i: {k: np.copy(v) for k, v in opt.state[p].items()} for i, p in enumerate(params)
             if opt.state.get(p)}
    return [p.data.copy() for p in params], state


def _assert_unchanged(params, opt, snapshot):
    datas, state = snapshot
    for p, d in zip(params, datas, strict=True):
        np.testing.assert_array_equal(p.data, d)
    assert {i for i, p in enumerate(params) if opt.state.get(p)} == set(state)
    for i, saved in state.items():
        assert set(opt.state[params[i]]) == set(saved)
        for k, v in saved.items():
            np.testing.assert_array_equal(opt.state[params[i]][k], v)


def _params(rng, shapes=((5, 3), (7,), (2, 2, 2)), dtype=np.float64):
    return [minigrad.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in shapes]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, config", WITH_STATE)
@pytest.mark.parametrize("new_shape", [(9,), (3,), (1, 7)])
def test_a_parameter_that_changed_shape_raises_before_any_write(name, config, backend,
                                                                new_shape, rng):
    params = _params(rng)
    opt = build(name, params, config, backend)
    run(opt, params, make_grads(rng, [p.shape for p in params], 2))
    params[1].data = rng.standard_normal(new_shape)
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    snapshot = _snapshot(params, opt)
    with pytest.raises(ValueError, match=rf"{name}: parameter 1: the parameter has shape "
                                         rf"{re_shape(new_shape)} but its state '\w+' has shape "
                                         r"\(7,\)"):
        opt.step()
    _assert_unchanged(params, opt, snapshot)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_large_parameter_that_grew_raises_before_any_write(backend, rng):
    """Large tensors were updated with no check at all: a grown one was written out of bounds."""
    params = _params(rng, shapes=((70_000,), (3,)))
    opt = optim.Adam(params, lr=0.1, backend=backend)
    run(opt, params, make_grads(rng, [p.shape for p in params], 1))
    params[0].data = rng.standard_normal(80_000)
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    snapshot = _snapshot(params, opt)
    with pytest.raises(ValueError, match=r"parameter 0: the parameter has shape \(80000,\) but "
                                         r"its state 'exp_avg' has shape \(70000,\)"):
        opt.step()
    _assert_unchanged(params, opt, snapshot)


def re_shape(shape):
    """A shape as a regular expression matching its repr."""
    return repr(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize("replacement, message", [
    (np.zeros(8), r"has shape \(8,\)"),
    (np.zeros((7, 2))[:, 0], "must be a C-contiguous float64 array"),
    (np.zeros(7, np.float32), "must be a C-contiguous float64 array"),
])
def test_a_state_array_that_does_not_fit_raises_before_any_write(replacement, message, rng):
    params = _params(rng)
    opt = optim.Adam(params, lr=0.1)
    run(opt, params, make_grads(rng, [p.shape for p in params], 2))
    opt.state[params[1]]["exp_avg_sq"] = replacement
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    datas = [p.data.copy() for p in params]
    with pytest.raises(ValueError, match=message):
        opt.step()
    for p, d in zip(params, datas, strict=True):
        np.testing.assert_array_equal(p.data, d)


def test_a_read_only_parameter_raises_before_any_write(rng):
    params = _params(rng)
    params[2].data.flags.writeable = False
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    opt = optim.SGD(params, lr=0.1)
    datas = [p.data.copy() for p in params]
    with pytest.raises(ValueError, match="SGD: parameter 2: the parameter's array is read-only"):
        opt.step()
    for p, d in zip(params, datas, strict=True):
        np.testing.assert_array_equal(p.data, d)


def test_a_bad_second_group_leaves_the_first_untouched(rng):
    params = _params(rng)
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}])
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    params[2].grad = np.zeros((8,))
    snapshot = _snapshot(params, opt)
    with pytest.raises(ValueError, match=r"parameter 2: gradient of shape \(8,\) does not match"):
        opt.step()
    _assert_unchanged(params, opt, snapshot)
    assert not opt.state  # no state was made for the parameters of the first group either


def test_an_unknown_backend_set_on_a_group_raises_at_step(rng):
    params = _params(rng)
    opt = optim.Adam(params)
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    opt.step()
    opt.param_groups[0]["backend"] = "cuda"
    snapshot = _snapshot(params, opt)
    with pytest.raises(ValueError, match=r"Adam: unknown backend 'cuda' \(expected one of"):
        opt.step()
    _assert_unchanged(params, opt, snapshot)


def _non_contiguous(kind, rng):
    """A non-contiguous float64 array (a view of a larger base) and that base."""
    if kind == "reversed":
        base = rng.standard_normal(12)
        return base[::-1], base
    if kind == "transposed":
        base = rng.standard_normal((3, 4))
        return base.T, base
    if kind == "strided":
        base = rng.standard_normal((4, 6))
        return base[:, ::2], base
    base = np.asfortranarray(rng.standard_normal((3, 4)))  # Fortran order: contiguous, not C
    return base, base


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["reversed", "transposed", "strided", "fortran"])
@pytest.mark.parametrize("name, config", [(name, configs[-1]) for name, configs in
                                          CONFIGS.items()])
def test_a_non_contiguous_parameter_is_updated_in_place(name, config, kind, backend, rng):
    view, base = _non_contiguous(kind, rng)
    start = view.copy()
    p = minigrad.Tensor(np.zeros(1), requires_grad=True)
    p.data = view
    grads = make_grads(rng, [view.shape], 4)
    run(build(name, [p], config, backend), [p], grads)
    (expected,) = expected_run(name, config, [start], grads)
    assert p.data is view  # still the very same view, and its memory holds the result
    np.testing.assert_allclose(view, expected, rtol=1e-10, atol=1e-12)
    assert np.shares_memory(view, base)


def _tied_run(name, config, backend, enc, dec, grads):
    """Step an optimizer over the tied pair (enc, dec), dec.data being a view of enc.data."""
    opt = build(name, [enc, dec], config, backend)
    for step in grads:
        enc.grad, dec.grad = step
        opt.step()
    return opt


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, config", [(name, configs[-1]) for name, configs in
                                          CONFIGS.items()])
def test_parameters_sharing_memory_stay_tied(name, config, backend, rng):
    """``dec.data = enc.data.T``: each updated in place with its own gradient, in turn."""
    memory = rng.standard_normal((3, 4))
    enc = minigrad.Tensor(memory.copy(), requires_grad=True)
    dec = minigrad.Tensor(np.zeros(1), requires_grad=True)
    dec.data = enc.data.T
    grads = [[rng.standard_normal((3, 4)), rng.standard_normal((4, 3))] for _ in range(4)]
    _tied_run(name, config, backend, enc, dec, grads)
    # The reference, as PyTorch's for-loop implementation runs: enc's update, then dec's, on
    # the memory as enc's update left it, each with its own state.
    states = [{}, {}]
    for t, (g_enc, g_dec) in enumerate(grads, start=1):
        memory[...] = EQUATIONS[name](memory, g_enc, states[0], t, **config)
        memory.T[...] = EQUATIONS[name](memory.T.copy(), g_dec, states[1], t, **config)
    assert np.shares_memory(dec.data, enc.data)
    np.testing.assert_allclose(enc.data, memory, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(dec.data, enc.data.T)


@pytest.mark.parametrize("name, config", [(name, config) for name, config in CASES
                                          if name in ("SGD", "RMSprop", "Adam", "AdamW")])
def test_tied_parameters_match_pytorch(name, config, rng):
    torch = pytest.importorskip("torch")
    memory = rng.standard_normal((3, 4))
    grads = [[rng.standard_normal((3, 4)), rng.standard_normal((4, 3))] for _ in range(5)]
    enc = minigrad.Tensor(memory.copy(), requires_grad=True)
    dec = minigrad.Tensor(np.zeros(1), requires_grad=True)
    dec.data = enc.data.T
    _tied_run(name, config, "numba", enc, dec, grads)

    t_enc = torch.nn.Parameter(torch.from_numpy(memory.copy()))
    t_dec = torch.nn.Parameter(t_enc.data.t())  # shares t_enc's storage
    t_opt = getattr(torch.optim, name)([t_enc, t_dec], foreach=False, **config)
    for g_enc, g_dec in grads:
        t_enc.grad, t_dec.grad = torch.from_numpy(g_enc), torch.from_numpy(g_dec)
        t_opt.step()
    np.testing.assert_allclose(enc.data, t_enc.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_step_bumps_the_version_of_each_parameter_it_changes(backend, rng):
    params = _params(rng)
    opt = optim.Lookahead(optim.Adam(params, backend=backend), k=2)
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    params[1].grad = None
    opt.step()
    assert [p._version for p in params] == [1, 0, 1]
    opt.step()  # the second inner step, then Lookahead's synchronisation of every parameter
    assert [p._version for p in params] == [3, 1, 3]


def test_numba_compiles_one_version_per_combination_of_types(rng):
    from minigrad.optim.adam import adam
    from minigrad.optim.backends import build as build_update

    serial = build_update(adam, "numba").serial
    for dtype in (np.float32, np.float64):
        for config in CONFIGS["Adam"]:
            for _ in range(2):  # a second optimizer compiles nothing new
                params = _params(rng, dtype=dtype)
                run(optim.Adam(params, **config), params,
                    make_grads(rng, [p.shape for p in params], 2, dtype))
    amsgrad = {("max_exp_avg_sq", str(sig[4]) == "none") for sig in serial.signatures}
    assert len(serial.signatures) == 4  # float32/float64, with/without AMSGrad's array
    assert len(amsgrad) == 2


def test_compiled_updates_are_cached_on_disk(tmp_path):
    import os
    import subprocess
    import sys

    code = ("import numpy as np, minigrad; from minigrad import optim; "
            "from minigrad.optim.adam import adam; from minigrad.optim.backends import build; "
            "p = minigrad.Tensor(np.ones(3, np.float32), requires_grad=True); "
            "p.grad = np.ones(3, np.float32); optim.Adam([p]).step(); "
            "stats = build(adam, 'numba').serial.stats; "
            "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs == [["0", "1"], ["1", "0"]]  # compiled once, then loaded from the cache


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam", "adabelief", "lion", "lookahead"])
def test_float32_updates_stay_float32_and_are_vectorised(name):
    """No float32 -> float64 conversion in the compiled loop, and SIMD vectors of floats."""
    import importlib
    import re

    import numba

    from minigrad.optim.backends import NUMBA_OPTIONS, _rebind

    update = getattr(importlib.import_module(f"minigrad.optim.{name}"), name)
    compiled = numba.njit(**dict(NUMBA_OPTIONS, cache=False))(_rebind(update, range, name))
    arrays = [np.ones(64, np.float32) for _ in range(5)]
    hyperparameters = {
        "sgd": (arrays[:3], (0.1, 0.9, 0.1, 0.01, True, 2)),
        "rmsprop": (arrays[:5], (0.01, 0.99, 1e-8, 0.01, 0.9)),
        "adam": (arrays[:5], (1e-3, (0.9, 0.999), 1e-8, 0.01, False, 2)),
        "adabelief": (arrays[:5], (1e-3, (0.9, 0.999), 1e-16, 0.01, True, 2)),
        "lion": (arrays[:3], (1e-4, (0.9, 0.99), 0.1)),
        "lookahead": (arrays[:2], (0.5,)),
    }[name]
    compiled(*hyperparameters[0], *hyperparameters[1])
    ir = compiled.inspect_llvm(compiled.signatures[0])
    assert not re.search(r"fpext float .* to double", ir)
    assert re.search(r"<\d+ x float>", ir)
