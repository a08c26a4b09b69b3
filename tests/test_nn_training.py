"""End to end: small MLPs trained with minigrad's layers and losses fit toy problems."""

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import data, nn
from minigrad.optim import Adam


def fit(model, X, y, steps, lr):
    """Full-batch training with cross-entropy; returns the training accuracy."""
    optimizer = Adam(model.parameters(), lr=lr)
    x = minigrad.tensor(X)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    with minigrad.no_grad():
        return float((model(x).data.argmax(axis=1) == y).mean())


def test_mlp_fits_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    assert fit(model, X, y, steps=200, lr=0.05) == 1.0


def test_mlp_fits_two_spirals_which_a_linear_model_cannot():
    X, y = data.spirals(400, classes=2, noise=0.05, seed=0)
    assert fit(nn.Linear(2, 2), X, y, steps=300, lr=0.02) < 0.8
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 2))
    assert fit(model, X, y, steps=600, lr=0.02) >= 0.95


@pytest.mark.parametrize("seed", [0, 1])
def test_training_from_the_same_seed_is_repeatable(seed):
    X, y = data.moons(64, seed=0)

    def run():
        minigrad.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
        fit(model, X, y, steps=20, lr=0.01)
        return model.state_dict()

    first, second = run(), run()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
