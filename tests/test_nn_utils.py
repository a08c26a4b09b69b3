"""Gradient clipping by norm and by value."""

import math

import numpy as np
import pytest

from minigrad import nn
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_


def with_grads(*grads):
    params = [nn.Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.copy()
    return params


def test_clip_grad_norm_scales_all_gradients_together():
    params = with_grads(np.array([3.0, 0.0]), np.array([[0.0], [4.0]]))
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(5.0)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad, [3 * scale, 0])
    np.testing.assert_allclose(params[1].grad, [[0], [4 * scale]])


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    params = with_grads(np.array([0.3, 0.4]))
    params.append(nn.Parameter(np.zeros(2)))  # grad is None: ignored
    assert clip_grad_norm_(params, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad, [0.3, 0.4])
    assert clip_grad_norm_([params[1]], 1.0) == 0.0


def test_clip_grad_norm_other_norms_and_single_tensor():
    params = with_grads(np.array([1.0, -2.0]), np.array([-6.0]))
    assert clip_grad_norm_(params, 100.0, norm_type=1) == pytest.approx(9.0)
    assert clip_grad_norm_(params, 100.0, norm_type=float("inf")) == pytest.approx(6.0)
    clip_grad_norm_(params[1], 3.0, norm_type="inf")
    np.testing.assert_allclose(params[1].grad, [-6.0 * 3 / (6 + 1e-6)])


def test_clip_grad_norm_keeps_float32():
    params = with_grads(np.full(4, 10.0, dtype=np.float32))
    clip_grad_norm_(params, 1.0)
    assert params[0].grad.dtype == np.float32
    assert np.linalg.norm(params[0].grad) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_can_refuse_nonfinite_norms():
    params = with_grads(np.array([np.inf, 1.0]))
    with pytest.raises(ValueError, match="total 2.0-norm of the gradients is inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(params, 1.0))


def test_clip_grad_value_clamps_in_place():
    params = with_grads(np.array([-3.0, 0.5, 2.0]))
    grad = params[0].grad
    clip_grad_value_(params, 1.0)
    assert params[0].grad is grad
    np.testing.assert_array_equal(grad, [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value must be >= 0, got -1.0"):
        clip_grad_value_(params, -1)
