"""The three backends agree, and the numba backend allocates nothing per step."""

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from optim_helpers import CASES, build, make_grads, make_params, run

import minigrad


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("name, config", CASES)
def test_backends_agree(name, config, dtype, rtol):
    results = {}
    steps = 100
    for backend in ("numba", "python", "numpy"):
        rng = np.random.default_rng(7)
        # The python backend is slow: small tensors keep this test quick.
        shapes = [(3, 2), (4,)]
        params = make_params(rng, dtype, shapes)
        run(build(name, params, config, backend), params, make_grads(rng, shapes, steps, dtype))
        results[backend] = [p.data for p in params]
        assert all(p.data.dtype == dtype for p in params)
    for backend in ("python", "numpy"):
        for a, b in zip(results["numba"], results[backend], strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-3)


@pytest.mark.parametrize("name, config", CASES)
def test_large_tensor_parallel_build_agrees(monkeypatch, name, config):
    """Tensors past PARALLEL_MIN_SIZE take the multi-threaded build; it must agree too."""
    from minigrad.optim import backends

    monkeypatch.setattr(backends, "PARALLEL_MIN_SIZE", dict.fromkeys(backends.PARALLEL_MIN_SIZE,
                                                                     1000))
    shapes = [(1003,), (5,)]
    results = []
    for backend in ("numba", "numpy"):
        params = make_params(np.random.default_rng(3), np.float32, shapes)
        grads = make_grads(np.random.default_rng(4), shapes, 5, np.float32)
        run(build(name, params, config, backend), params, grads)
        results.append([p.data for p in params])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_env_var_sets_default_backend():
    """$MINIGRAD_OPTIM_BACKEND, read at import, is the default shown in the signatures."""
    code = ("import inspect, numpy as np, minigrad; from minigrad import optim; "
            "p = minigrad.Tensor(np.zeros(2), requires_grad=True); "
            "print(inspect.signature(optim.Adam).parameters['backend'].default); "
            "print(optim.SGD([p]).param_groups[0]['backend'])")
    env = dict(os.environ, MINIGRAD_OPTIM_BACKEND="python")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["python", "python"]
    env["MINIGRAD_OPTIM_BACKEND"] = "fortran"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "ValueError: SGD: unknown backend 'fortran'" in out.stderr


@pytest.mark.parametrize("name, config", CASES)
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_numba_allocates_no_arrays_per_step(name, config, backend, rng):
    shapes = [(128, 128), (2048,)]
    params = make_params(rng, shapes=shapes)
    grads = make_grads(rng, shapes, 1)[0]
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    optimizer = build(name, params, config, backend)
    optimizer.step()  # the first step creates the state (and compiles)
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(5):
            optimizer.step()
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    smallest_array = 2048 * 8
    assert end - start < smallest_array
    if backend == "numba":
        assert peak - start < smallest_array  # views and tuples only, never an array's worth
    elif name != "SGD" or config.get("momentum"):
        assert peak - start > smallest_array  # the check can fail: NumPy needs temporaries


def test_importing_minigrad_does_not_import_numba():
    code = "import sys, minigrad, minigrad.optim; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert minigrad is not None


@pytest.mark.parametrize("backend", ["numba", "python", "numpy"])
@pytest.mark.parametrize("name, config", CASES)
def test_update_arrays_is_a_step_on_plain_arrays(name, config, backend):
    """The seam a compiled training step uses runs the same update as step()."""
    rng = np.random.default_rng(5)
    shapes = [(3, 2), (4,)]
    params = make_params(rng, shapes=shapes)
    arrays = [p.data.copy() for p in params]
    grads = make_grads(rng, shapes, 4)
    opt = build(name, params, config, backend)
    run(opt, params, grads)
    twin = build(name, make_params(rng, shapes=shapes), config, backend)
    group = twin.param_groups[0]
    states = [{"step": 0, **{key: np.zeros_like(a) for key in twin._state_names(group)}}
              for a in arrays]
    for step in grads:
        for array, grad, state in zip(arrays, step, states, strict=True):
            twin.update_arrays(group, array, grad, state)
    for p, array, state in zip(params, arrays, states, strict=True):
        np.testing.assert_array_equal(p.data, array)
        assert state["step"] == opt.state[p]["step"] == 4


def test_the_python_backend_runs_what_numba_compiles():
    from minigrad.optim.adam import adam
    from minigrad.optim.backends import build as build_update

    compiled = build_update(adam, "numba").serial
    assert compiled.py_func is build_update(adam, "python").serial
    assert compiled.py_func.__code__.co_code == adam.__code__.co_code
