"""DataLoader batching and seeding; the built-in data sets' shapes, dtypes and contents."""

import numpy as np
import pytest

import minigrad
from minigrad import data


def test_batches_in_order_cover_everything_once():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    loader = data.DataLoader(X, y, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert all(isinstance(t, minigrad.Tensor) and not t.requires_grad for b in batches for t in b)
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    np.testing.assert_array_equal(batches[1][0].data, X[4:8])


def test_drop_last_and_single_array():
    loader = data.DataLoader(np.zeros(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [b[0].shape for b in loader] == [(4,), (4,)]
    assert len(data.DataLoader(np.zeros(8), batch_size=4, drop_last=True)) == 2


def test_shuffle_keeps_pairs_together_and_changes_order_between_passes():
    X = np.arange(100)
    loader = data.DataLoader(X, X * 10, batch_size=32, shuffle=True, seed=0)
    first = [b for b in loader]
    xs = np.concatenate([b[0].data for b in first])
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in first]), xs * 10)
    assert sorted(xs.tolist()) == list(range(100)) and not np.array_equal(xs, X)
    second = np.concatenate([b[0].data for b in loader])
    assert not np.array_equal(xs, second)


def test_shuffling_is_repeatable_with_a_seed_or_manual_seed():
    def orders(loader):
        return [np.concatenate([b[0].data for b in loader]) for _ in range(2)]

    X = np.arange(50)
    a = orders(data.DataLoader(X, batch_size=8, shuffle=True, seed=3))
    b = orders(data.DataLoader(X, batch_size=8, shuffle=True, seed=3))
    np.testing.assert_array_equal(a, b)
    minigrad.manual_seed(9)
    c = orders(data.DataLoader(X, batch_size=8, shuffle=True))
    minigrad.manual_seed(9)
    np.testing.assert_array_equal(c, orders(data.DataLoader(X, batch_size=8, shuffle=True)))


def test_loader_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"different lengths \[3, 4\]"):
        data.DataLoader(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        data.DataLoader(np.zeros(3), batch_size=0)


@pytest.mark.parametrize("make", [lambda: data.spirals(301, classes=3),
                                  lambda: data.moons(301)])
def test_classification_sets_have_documented_shapes_and_balanced_classes(make):
    X, y = make()
    assert X.shape == (301, 2) and X.dtype == np.float32
    assert y.shape == (301,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1


def test_spirals_without_noise_lie_on_their_arms():
    X, y = data.spirals(200, classes=2, noise=0.0, turns=1.0)
    radius = np.hypot(X[:, 0], X[:, 1])
    angle = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * (radius + y / 2)
    np.testing.assert_allclose(np.cos(angle), np.cos(expected), atol=1e-5)
    assert radius.max() == pytest.approx(1.0)


def test_moons_without_noise():
    X, y = data.moons(100, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, rtol=1e-6)


def test_data_sets_are_seeded():
    np.testing.assert_array_equal(data.moons(50, seed=1)[0], data.moons(50, seed=1)[0])
    assert not np.array_equal(data.moons(50, seed=1)[0], data.moons(50, seed=2)[0])
    minigrad.manual_seed(4)
    a = data.spirals(30)[0]
    minigrad.manual_seed(4)
    np.testing.assert_array_equal(a, data.spirals(30)[0])


def test_sine_sequences_targets_are_the_next_step():
    X, Y = data.sine_sequences(8, 25, seed=0)
    assert X.shape == Y.shape == (8, 25, 1) and X.dtype == Y.dtype == np.float32
    np.testing.assert_array_equal(X[:, 1:], Y[:, :-1])
    assert 0.4 < np.abs(X).max() <= 1.5
