"""Losses: values against PyTorch's formulas written out in NumPy, gradients, stability, errors."""

import numpy as np
import pytest
from helpers import leaf

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

REDUCTIONS = ["mean", "sum", "none"]


def reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](loss)


def log_softmax(a):
    shifted = a - a.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def probabilities(rng, *shape):
    """A float64 leaf with values in [0.05, 0.95]: valid, away from the clamped ends."""
    return leaf(rng, *shape, low=0.05, high=0.95)


# ---------------------------------------------------------------------------- regression
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_values_and_gradients(rng, reduction):
    x, y = leaf(rng, 4, 3), leaf(rng, 4, 3)
    diff = x.data - y.data
    np.testing.assert_allclose(F.mse_loss(x, y, reduction).data, reduce(diff**2, reduction))
    np.testing.assert_allclose(F.l1_loss(x, y, reduction).data, reduce(np.abs(diff), reduction))
    assert minigrad.gradcheck(lambda a, b: F.mse_loss(a, b, reduction), x, y)
    assert minigrad.gradcheck(lambda a, b: F.l1_loss(a, b, reduction), x, y)


def test_regression_losses_refuse_broadcasting_and_integer_targets():
    x = minigrad.zeros(4, 1)
    with pytest.raises(ValueError, match=r"target shape \(4,\) differs from input shape \(4, 1\)"):
        F.mse_loss(x, np.zeros(4))
    with pytest.raises(ValueError, match="floating-point, got dtype int"):
        F.l1_loss(x, np.zeros((4, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.mse_loss(x, x, reduction="avg")


# -------------------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_matches_the_formula_and_gradchecks(rng, reduction, smoothing):
    logits, target = leaf(rng, 5, 4, low=-3, high=3), np.array([0, 3, 1, 1, 2])
    logp = log_softmax(logits.data)
    nll = -logp[np.arange(5), target]
    expected = (1 - smoothing) * nll + smoothing * (-logp.mean(1))  # PyTorch's smoothing
    loss = F.cross_entropy(logits, target, label_smoothing=smoothing, reduction=reduction)
    np.testing.assert_allclose(loss.data, reduce(expected, reduction), rtol=1e-12)
    assert minigrad.gradcheck(
        lambda z: F.cross_entropy(z, target, label_smoothing=smoothing, reduction=reduction),
        logits)


def test_cross_entropy_gradient_is_softmax_minus_smoothed_onehot(rng):
    logits, target = leaf(rng, 3, 4), np.array([2, 0, 2])
    F.cross_entropy(logits, target, label_smoothing=0.1, reduction="sum").backward()
    q = np.full((3, 4), 0.1 / 4)
    q[np.arange(3), target] += 0.9
    np.testing.assert_allclose(logits.grad, np.exp(log_softmax(logits.data)) - q, rtol=1e-12)


def test_cross_entropy_equals_nll_of_log_softmax(rng):
    logits, target = leaf(rng, 6, 3), rng.integers(0, 3, 6)
    composed = F.nll_loss(F.log_softmax(logits, axis=1), target)
    np.testing.assert_allclose(F.cross_entropy(logits, target).data, composed.data, rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = minigrad.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1, 2]), reduction="none")
    np.testing.assert_allclose(loss.data, [2e4, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.all(np.isfinite(logits.grad))
    np.testing.assert_allclose(logits.grad, [[1, -1, 0], [0, 0.5, -0.5]], atol=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_of_a_large_float32_batch_matches_the_float64_formula(rng, smoothing):
    logits = minigrad.tensor(rng.normal(0, 4, (700, 37)).astype(np.float32), requires_grad=True)
    target = rng.integers(0, 37, 700)
    F.cross_entropy(logits, target, label_smoothing=smoothing).backward()
    logp = log_softmax(logits.data.astype(np.float64))
    loss = ((1 - smoothing) * -logp[np.arange(700), target] - smoothing * logp.mean(1)).mean()
    q = np.full((700, 37), smoothing / 37)
    q[np.arange(700), target] += 1 - smoothing
    np.testing.assert_allclose(F.cross_entropy(logits, target, smoothing).data, loss, rtol=1e-6)
    np.testing.assert_allclose(logits.grad, (np.exp(logp) - q) / 700, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.int64, np.float16])
def test_cross_entropy_names_logits_of_another_dtype(dtype):
    with pytest.raises(ValueError, match=f"logits must be float32 or float64, got dtype "
                                         f"{np.dtype(dtype)}"):
        F.cross_entropy(minigrad.Tensor(np.zeros((2, 3), dtype)), np.array([0, 1]))


def test_cross_entropy_keeps_float32_and_accepts_tensor_targets():
    logits = minigrad.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(logits, minigrad.tensor([0, 1, 2, 0]))
    assert loss.dtype == np.float32 and loss.shape == ()
    loss.backward()
    assert logits.grad.dtype == np.float32


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_losses_name_bad_targets(loss):
    logits = minigrad.zeros(3, 4)
    with pytest.raises(ValueError, match=r"target values must be in \[0, 4\), got \[4, -1\]"):
        loss(logits, np.array([0, 4, -1]))
    with pytest.raises(ValueError, match="integer class indices, got dtype float64"):
        loss(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"target has shape \(2,\), expected \(3,\)"):
        loss(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"input must have shape \(N, C\), got \(4,\)"):
        loss(minigrad.zeros(4), np.array([0]))


def test_cross_entropy_rejects_bad_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing=1.5"):
        F.cross_entropy(minigrad.zeros(1, 2), np.array([0]), label_smoothing=1.5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_values_and_gradients(rng, reduction):
    log_probs, target = leaf(rng, 4, 3), np.array([2, 2, 0, 1])
    expected = -log_probs.data[np.arange(4), target]
    np.testing.assert_allclose(F.nll_loss(log_probs, target, reduction).data,
                               reduce(expected, reduction))
    assert minigrad.gradcheck(lambda z: F.nll_loss(z, target, reduction), log_probs)


# --------------------------------------------------------------------------------- binary
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_values_and_gradients(rng, reduction):
    x, y = leaf(rng, 3, 4, low=-4, high=4), probabilities(rng, 3, 4)
    p = 1 / (1 + np.exp(-x.data))
    expected = -(y.data * np.log(p) + (1 - y.data) * np.log(1 - p))
    loss = F.binary_cross_entropy_with_logits(x, y, reduction)
    np.testing.assert_allclose(loss.data, reduce(expected, reduction), rtol=1e-10)
    assert minigrad.gradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction), x, y)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = minigrad.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0, 0, 1e4, 1e4])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [0, 0, 1, -1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_values_and_gradients(rng, reduction):
    p, y = probabilities(rng, 3, 4), probabilities(rng, 3, 4)
    expected = -(y.data * np.log(p.data) + (1 - y.data) * np.log(1 - p.data))
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, reduction).data,
                               reduce(expected, reduction), rtol=1e-12)
    assert minigrad.gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction), p, y)


def test_bce_clamps_its_logs_at_minus_100_and_rejects_non_probabilities():
    loss = F.binary_cross_entropy(minigrad.tensor([0.0, 1.0]), np.array([1.0, 0.0], "float32"),
                                  reduction="none")
    np.testing.assert_allclose(loss.data, [100, 100])
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\], got values from -0.5"):
        F.binary_cross_entropy(minigrad.tensor([-0.5, 0.5]), minigrad.tensor([0.0, 1.0]))


# --------------------------------------------------------------------------- loss modules
def test_loss_modules_call_the_functional_forms(rng):
    x, y = leaf(rng, 4, 3), probabilities(rng, 4, 3)
    target = np.array([0, 2, 1, 1])
    cases = [
        (nn.MSELoss(reduction="sum"), F.mse_loss(x, y, "sum"), (x, y)),
        (nn.L1Loss(), F.l1_loss(x, y), (x, y)),
        (nn.CrossEntropyLoss(label_smoothing=0.1, reduction="none"),
         F.cross_entropy(x, target, 0.1, "none"), (x, target)),
        (nn.NLLLoss(), F.nll_loss(x, target), (x, target)),
        (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits(x, y), (x, y)),
        (nn.BCELoss(reduction="sum"), F.binary_cross_entropy(y, y, "sum"), (y, y)),
    ]
    for module, expected, args in cases:
        np.testing.assert_array_equal(module(*args).data, expected.data, err_msg=repr(module))
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss(label_smoothing=0.0, reduction='mean')"
    with pytest.raises(ValueError, match="MSELoss: reduction"):
        nn.MSELoss(reduction="avg")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_compiled_cross_entropy_loops_equal_their_numpy_original(rng, dtype, smoothing):
    from minigrad.nn import loss_numba, loss_ops

    logits = rng.standard_normal((50, 7)).astype(dtype) * 5
    target = rng.integers(0, 7, 50)
    compiled_probs, compiled_loss = loss_numba.softmax_cross_entropy(logits, target, smoothing)
    probs, loss = loss_ops.softmax_cross_entropy(logits, target, smoothing)
    rtol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(compiled_probs, probs, rtol=rtol)
    np.testing.assert_allclose(compiled_loss, loss, rtol=rtol)
    np.testing.assert_allclose(loss_numba.cross_entropy_grad(probs, target, smoothing, 0.5),
                               loss_ops.cross_entropy_grad(probs, target, smoothing, 0.5),
                               rtol=rtol, atol=1e-7 if dtype == "float32" else 0)
    for module in (loss_numba, loss_ops):
        assert module.softmax_cross_entropy(logits, np.full(50, 7), smoothing) is None


def test_cross_entropy_runs_on_the_numpy_original_without_numba(rng, monkeypatch):
    from minigrad import _numba

    logits = minigrad.tensor(rng.standard_normal((6, 4)), dtype="float64", requires_grad=True)
    target = np.array([0, 3, 1, 1, 2, 0])
    compiled = F.cross_entropy(logits, target, label_smoothing=0.1)
    compiled.backward()
    expected_grad = logits.grad.copy()
    monkeypatch.setenv("MINIGRAD_DISABLE_NUMBA", "1")
    monkeypatch.setattr(_numba, "_loaded", {})  # forget the compiled module for this test
    assert _numba.compiled("minigrad.nn.loss_numba") is None
    logits.grad = None
    original = F.cross_entropy(logits, target, label_smoothing=0.1)
    original.backward()
    assert original.item() == pytest.approx(compiled.item(), rel=1e-13)
    np.testing.assert_allclose(logits.grad, expected_grad, rtol=1e-12)
    with pytest.raises(ValueError, match=r"target values must be in \[0, 4\)"):
        F.cross_entropy(logits, np.array([0, 4, 1, 1, 2, 0]))
