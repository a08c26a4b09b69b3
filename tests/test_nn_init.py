"""Initialisers: bounds and moments from PyTorch's formulas, dtype kept, repeatable seeding."""

import math

import numpy as np
import pytest

import minigrad
from minigrad.nn import init


def test_uniform_fills_in_place_within_bounds_in_the_tensor_dtype():
    t = minigrad.zeros(100, 100)
    array = t.data
    assert init.uniform_(t, -0.5, 2.0) is t and t.data is array
    assert t.dtype == np.float32
    assert t.data.min() >= -0.5 and t.data.max() <= 2.0
    assert abs(t.data.mean() - 0.75) < 0.02


def test_normal_has_the_requested_moments():
    t = init.normal_(minigrad.zeros(200, 100, dtype=np.float64), mean=3.0, std=0.5)
    assert t.dtype == np.float64
    assert abs(t.data.mean() - 3.0) < 0.01 and abs(t.data.std() - 0.5) < 0.01


def test_constant_fills():
    t = minigrad.randn(3, 2)
    np.testing.assert_array_equal(init.zeros_(t).data, 0)
    np.testing.assert_array_equal(init.ones_(t).data, 1)
    np.testing.assert_array_equal(init.constant_(t, 0.25).data, 0.25)


@pytest.mark.parametrize(
    "fill, bound",
    [
        (lambda t: init.kaiming_uniform_(t), math.sqrt(2.0 / (1 + 0.01**2)) * math.sqrt(3 / 50)),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(50)),
        (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
         math.sqrt(2) * math.sqrt(3 / 80)),
        (lambda t: init.xavier_uniform_(t), math.sqrt(6 / (50 + 80))),
        (lambda t: init.xavier_uniform_(t, gain=init.calculate_gain("tanh")),
         5 / 3 * math.sqrt(6 / (50 + 80))),
    ],
)
def test_fan_based_bounds(fill, bound):
    t = fill(minigrad.zeros(80, 50))
    assert np.abs(t.data).max() <= bound
    assert np.abs(t.data).max() > 0.95 * bound  # 4000 draws reach close to the bound


def test_seeded_initialisation_repeats():
    minigrad.manual_seed(5)
    a = init.normal_(minigrad.zeros(10))
    minigrad.manual_seed(5)
    np.testing.assert_array_equal(a.data, init.normal_(minigrad.zeros(10)).data)


def test_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="at least 2 dimensions, got shape \\(3,\\)"):
        init.xavier_uniform_(minigrad.zeros(3))
    with pytest.raises(ValueError, match="'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="a=1, b=0"):
        init.uniform_(minigrad.zeros(2), 1, 0)
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(minigrad.zeros(2, 2), mode="fan")
