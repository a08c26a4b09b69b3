"""Non-recurrent layers: shapes, equations against NumPy, gradients, initialisation, modes."""

import math

import numpy as np
import pytest
from helpers import leaf

import minigrad
import minigrad.nn.functional as F
from minigrad import nn


# ---------------------------------------------------------------------------------- Linear
@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)])
def test_linear_matches_numpy_and_gradchecks_for_any_leading_axes(rng, shape):
    x, w, b = leaf(rng, *shape), leaf(rng, 4, 3), leaf(rng, 4)
    out = F.linear(x, w, b)
    np.testing.assert_allclose(out.data, x.data @ w.data.T + b.data, rtol=1e-12)
    assert minigrad.gradcheck(F.linear, x, w, b)
    assert minigrad.gradcheck(F.linear, x, w)


def test_linear_is_one_graph_node_and_skips_unneeded_gradients(rng):
    x = minigrad.tensor(rng.standard_normal((5, 3)))  # no grad wanted for the input
    w, b = leaf(rng, 4, 3), leaf(rng, 4)
    out = F.linear(x, w, b)
    assert out.grad_fn.inputs == (x, w, b)
    out.sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(b.grad, np.full(4, 5.0))
    np.testing.assert_allclose(w.grad, np.tile(x.data.sum(0), (4, 1)))


def test_linear_layer_shapes_dtype_and_init_bounds():
    layer = nn.Linear(16, 200)
    assert layer.weight.shape == (200, 16) and layer.bias.shape == (200,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    bound = 1 / math.sqrt(16)
    for p in (layer.weight, layer.bias):
        assert np.all(np.abs(p.data) <= bound)
    # the draws fill the interval: not all squeezed into a smaller one
    assert layer.weight.data.max() > 0.9 * bound and layer.weight.data.min() < -0.9 * bound
    assert nn.Linear(2, 3, bias=False).bias is None
    assert nn.Linear(2, 3, dtype=np.float64).weight.dtype == np.float64
    minigrad.set_default_dtype(np.float64)
    assert nn.Linear(2, 3).weight.dtype == np.float64


def test_linear_init_is_repeatable_under_manual_seed():
    minigrad.manual_seed(7)
    a = nn.Linear(3, 3)
    minigrad.manual_seed(7)
    b = nn.Linear(3, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, nn.Linear(3, 3).weight.data)


def test_linear_rejects_a_wrong_input_width():
    with pytest.raises(ValueError, match=r"input has shape \(2, 5\), expected last axis 3"):
        nn.Linear(3, 1)(minigrad.zeros(2, 5))
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 2)


# ------------------------------------------------------------------------------- Embedding
def test_embedding_looks_up_rows_and_accumulates_repeated_indices():
    table = nn.Embedding(5, 3)
    indices = np.array([[1, 4], [1, 1]])
    out = table(indices)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data, table.weight.data[indices])
    out.sum().backward()
    np.testing.assert_array_equal(table.weight.grad[:, 0], [0, 3, 0, 0, 1])


def test_embedding_gradchecks_and_has_normal_init(rng):
    weight = leaf(rng, 6, 2)
    assert minigrad.gradcheck(lambda w: F.embedding(np.array([0, 5, 5, 2]), w), weight)
    big = nn.Embedding(1000, 50)
    assert abs(big.weight.data.mean()) < 0.02 and abs(big.weight.data.std() - 1) < 0.02


def test_embedding_rejects_bad_indices():
    table = nn.Embedding(4, 2)
    with pytest.raises(ValueError, match=r"in \[0, 4\), got values from 0 to 4"):
        table(np.array([0, 4]))
    with pytest.raises(ValueError, match="integers, got dtype float"):
        table(np.array([0.0, 1.0]))


# --------------------------------------------------------------------------------- Dropout
def test_dropout_is_inverted_in_training_and_identity_in_eval():
    layer = nn.Dropout(0.25)
    x = minigrad.ones(200, 100, requires_grad=True)
    out = layer(x)
    kept = out.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out.data[kept], 1 / 0.75, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # gradient uses the same mask and scale
    layer.eval()
    assert layer(x) is x
    assert nn.Dropout(1.0)(x).data.max() == 0
    assert F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="p=1.5"):
        nn.Dropout(1.5)


def test_dropout_mask_follows_manual_seed():
    x = minigrad.ones(50)
    minigrad.manual_seed(3)
    a = F.dropout(x, 0.5)
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(a.data, F.dropout(x, 0.5).data)


def test_dropout_gradchecks(rng):
    x = leaf(rng, 4, 5)

    def fn(t):
        minigrad.manual_seed(11)  # the same mask on every evaluation
        return F.dropout(t, 0.3)

    assert minigrad.gradcheck(fn, x)


# ------------------------------------------------------------------- activations, Flatten
@pytest.mark.parametrize(
    "module, reference",
    [
        (nn.ReLU(), lambda a: np.maximum(a, 0)),
        (nn.Tanh(), np.tanh),
        (nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
        (nn.Softmax(axis=1), lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True)),
        (nn.LogSoftmax(axis=0), lambda a: a - np.log(np.exp(a).sum(0, keepdims=True))),
        (nn.Flatten(), lambda a: a.reshape(3, -1)),
    ],
)
def test_activation_modules_match_numpy_and_gradcheck(rng, module, reference):
    x = leaf(rng, 3, 4)
    x.data[np.abs(x.data) < 0.05] = 0.5  # keep ReLU away from its kink
    np.testing.assert_allclose(module(x).data, reference(x.data), rtol=1e-12, atol=1e-15)
    assert minigrad.gradcheck(module, x)


def test_flatten_merges_the_chosen_axes(rng):
    x = leaf(rng, 2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert minigrad.gradcheck(nn.Flatten(1, 2), x)
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        nn.Flatten(2, 1)(x)
    assert nn.Flatten(start_dim=-3, end_dim=-2)(x).shape == (2, 12, 5)
    with pytest.raises(IndexError):  # out of range, as PyTorch's IndexError: never wraps around
        nn.Flatten()(minigrad.tensor([1.0, 2.0]))
    assert nn.Flatten(0)(minigrad.tensor(3.0)).shape == (1,)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_functional_activations_are_the_core_ops(rng):
    x = leaf(rng, 2, 3)
    np.testing.assert_allclose(F.softmax(x).data.sum(-1), 1.0)
    np.testing.assert_allclose(F.log_softmax(x, axis=0).data,
                               np.log(F.softmax(x, axis=0).data))
    np.testing.assert_allclose(F.relu(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x.data))
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x.data)))


def test_linear_module_gradchecks_through_its_input(rng):
    layer = nn.Linear(3, 2).double()
    assert minigrad.gradcheck(layer, leaf(rng, 4, 3))
    assert minigrad.gradcheck(nn.Linear(3, 2, bias=False).double(), leaf(rng, 2, 5, 3))
