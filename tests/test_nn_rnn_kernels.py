"""The recurrent step kernels: compiled (Numba) against their NumPy originals, and the switch.

The layers themselves are tested against a loop over the cells in test_nn_recurrent.py; here
the two implementations of each step kernel must agree on random inputs, and the layers must
give the same results whichever one runs: Numba present, absent or turned off.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import _numba
from minigrad.nn import rnn_kernels, rnn_numba, rnn_steps
from minigrad.nn.recurrent import GRU, LSTM

DTYPES = [np.float32, np.float64]


def _uniform(rng, shape, dtype, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape).astype(dtype)


def _gates(rng, batch, width, dtype):
    """Activated gates as the forward pass leaves them: values in (0, 1) and (-1, 1)."""
    return _uniform(rng, (batch, width), dtype, 0.01, 0.99)


def _both(kernel, *arrays):
    """Run the compiled and the NumPy ``kernel`` on copies of ``arrays``; return both results."""
    results = []
    for module in (rnn_numba, rnn_steps):
        copies = [a.copy() for a in arrays]
        getattr(module, kernel)(*copies)
        results.append(copies)
    return results


def _assert_same(compiled, original, dtype):
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    for got, expected in zip(compiled, original):
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch, hidden", [(1, 1), (3, 5), (4, 70)])
def test_lstm_kernels_match_numpy_originals(rng, dtype, batch, hidden):
    tanh_half = _uniform(rng, (batch, 4 * hidden), dtype)
    c_prev = _uniform(rng, (batch, hidden), dtype)
    _assert_same(*_both("lstm_step_forward", tanh_half, c_prev, np.empty_like(c_prev)), dtype)

    gates = _gates(rng, batch, 4 * hidden, dtype)
    others = [_uniform(rng, (batch, hidden), dtype) for _ in range(6)]  # c_prev .. dc
    arrays = [gates, *others, np.empty_like(gates)]
    _assert_same(*_both("lstm_step_backward", *arrays), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch, hidden", [(1, 1), (3, 5), (4, 70)])
def test_gru_kernels_match_numpy_originals(rng, dtype, batch, hidden):
    rec = _uniform(rng, (batch, 3 * hidden), dtype)
    _assert_same(*_both("gru_step_candidate", _uniform(rng, rec.shape, dtype), rec), dtype)

    gates = _gates(rng, batch, 3 * hidden, dtype)
    h_prev = _uniform(rng, (batch, hidden), dtype)
    _assert_same(*_both("gru_step_output", gates, h_prev, np.empty_like(h_prev)), dtype)

    arrays = [gates, rec, h_prev, _uniform(rng, h_prev.shape, dtype),
              _uniform(rng, h_prev.shape, dtype), np.empty_like(gates), np.empty_like(gates)]
    _assert_same(*_both("gru_step_backward", *arrays), dtype)


def test_kernels_write_only_their_outputs(rng):
    """A kernel given strided row blocks (as the layers pass) leaves the rest untouched."""
    gates = _gates(rng, 3, 8, np.float32)
    block = _uniform(rng, (3, 12), np.float32)
    before = block.copy()
    h_prev = _uniform(rng, (3, 2), np.float32)
    rnn_numba.gru_step_output(gates[:, :6], h_prev, block[:, 4:6])
    rnn_steps.gru_step_output(gates[:, :6], h_prev, before[:, 4:6])
    np.testing.assert_array_equal(block, before)


def _layer_results(cls, rng, dtype):
    """Output, final state and every gradient of a 2-layer ``cls`` on fixed random data."""
    minigrad.manual_seed(3)
    layer = cls(3, 5, num_layers=2, dtype=dtype)
    x = minigrad.tensor(rng.standard_normal((6, 4, 3)), dtype=dtype, requires_grad=True)
    output, state = layer(x)
    h_n = state[0] if cls is LSTM else state
    weights = np.random.default_rng(7)
    ((output * minigrad.tensor(weights.standard_normal(output.shape), dtype=dtype)).sum()
     + (h_n * minigrad.tensor(weights.standard_normal(h_n.shape), dtype=dtype)).sum()).backward()
    return [output.data, h_n.data, x.grad] + [p.grad for p in layer.parameters()]


@pytest.fixture
def numpy_kernels(monkeypatch):
    """Make the layers choose their step kernels again, then restore the usual choice."""
    _numba.forget()
    yield monkeypatch
    _numba.forget()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("how", ["numba missing", "MINIGRAD_DISABLE_NUMBA", "NUMBA_DISABLE_JIT"])
def test_layers_give_the_same_results_without_numba(numpy_kernels, rng, cls, dtype, how):
    compiled = _layer_results(cls, np.random.default_rng(0), dtype)
    assert rnn_kernels._kernels() is rnn_numba
    _numba.forget()
    if how == "numba missing":
        numpy_kernels.setitem(sys.modules, "numba", None)  # `import numba` now raises
        numpy_kernels.delitem(sys.modules, "minigrad.nn.rnn_numba")  # so it is imported again
    else:
        numpy_kernels.setenv(how, "1")
    original = _layer_results(cls, np.random.default_rng(0), dtype)
    assert rnn_kernels._kernels() is rnn_steps
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for got, expected in zip(original, compiled):
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_switches_read_as_off_when_zero_or_empty(monkeypatch):
    for name in ("MINIGRAD_DISABLE_NUMBA", "NUMBA_DISABLE_JIT"):
        for value in ("0", ""):
            monkeypatch.setenv(name, value)
            assert not _numba.numba_disabled()
        monkeypatch.setenv(name, "1")
        assert _numba.numba_disabled()
        monkeypatch.delenv(name)


def test_recurrent_layers_run_where_numba_cannot_be_imported():
    """In a fresh process whose import of numba fails, every recurrent layer trains."""
    code = """
import sys
class NoNumba:
    def find_spec(self, name, path=None, target=None):
        if name == "numba" or name.startswith("numba."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoNumba())
import numpy as np, minigrad
from minigrad import nn
from minigrad.nn import rnn_kernels
x = minigrad.tensor(np.ones((4, 2, 3)), requires_grad=True)
for layer in (nn.RNN(3, 5), nn.LSTM(3, 5), nn.GRU(3, 5)):
    out, _ = layer(x)
    out.sum().backward()
    assert np.isfinite(x.grad).all() and layer.weight_hh_l0.grad is not None
assert rnn_kernels._kernels().__name__ == "minigrad.nn.rnn_steps"
assert "numba" not in sys.modules
"""
    env = {key: value for key, value in os.environ.items()
           if key not in ("MINIGRAD_DISABLE_NUMBA", "NUMBA_DISABLE_JIT")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_retain_graph_gives_the_same_gradients_again(rng, cls):
    """The saved activations survive backward: a second pass adds the same gradients."""
    layer = cls(2, 3, dtype=np.float64)
    x = minigrad.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    loss = (layer(x)[0] * minigrad.tensor(rng.standard_normal((4, 2, 3)))).sum()
    loss.backward(retain_graph=True)
    first = [x.grad.copy()] + [p.grad.copy() for p in layer.parameters()]
    loss.backward()
    second = [x.grad] + [p.grad for p in layer.parameters()]
    for once, twice in zip(first, second):
        np.testing.assert_allclose(twice, 2 * once, rtol=1e-12)
