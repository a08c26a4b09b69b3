"""Shape operations, indexing, joining and splitting."""

import numpy as np
import pytest
from helpers import leaf

import minigrad
from minigrad import gradcheck


def test_reshape_transpose_flatten(rng):
    x = leaf(rng, 2, 3, 4)
    assert gradcheck(lambda t: t.reshape(6, 4), x)
    assert gradcheck(lambda t: t.reshape((4, -1)), x)
    assert gradcheck(lambda t: t.transpose(2, 0, 1), x)
    assert gradcheck(lambda t: t.T, x)
    assert gradcheck(lambda t: t.flatten(), x)
    np.testing.assert_array_equal(x.transpose(1, 2, 0).data, x.data.transpose(1, 2, 0))
    assert x.T.data.flags.c_contiguous and x.T.shape == (4, 3, 2)
    with pytest.raises(ValueError, match=r"cannot reshape \(2, 3, 4\) \(24 elements\) into"):
        x.reshape(5, 5)
    with pytest.raises(ValueError, match="permutation"):
        x.transpose(0, 0, 1)


def test_squeeze_unsqueeze_broadcast_to(rng):
    x = leaf(rng, 3, 1, 2)
    assert x.squeeze().shape == (3, 2) and x.squeeze(1).shape == (3, 2)
    assert x.unsqueeze(0).shape == (1, 3, 1, 2) and x.unsqueeze(-1).shape == (3, 1, 2, 1)
    assert gradcheck(lambda t: t.squeeze(1).unsqueeze(0), x)
    assert gradcheck(lambda t: t.broadcast_to((4, 3, 5, 2)), x)
    with pytest.raises(ValueError, match="length 3"):
        x.squeeze(0)
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(3, 1, 2\)"):
        x.broadcast_to((4, 4))


@pytest.mark.parametrize(
    "index",
    [1, -1, slice(1, 3), (slice(None), 2), (Ellipsis, 0), (None, 1), (1, slice(None, None, -1))],
    ids=str,
)
def test_basic_indexing(rng, index):
    x = leaf(rng, 4, 3)
    np.testing.assert_array_equal(x[index].data, x.data[index])
    assert gradcheck(lambda t: t[index], x)


def test_integer_array_indexing_accumulates_repeats(rng):
    x = leaf(rng, 5, 2)
    picks = np.array([0, 3, 3, 1, 3])
    assert gradcheck(lambda t: t[picks], x)
    x[picks].sum().backward()
    np.testing.assert_array_equal(x.grad[:, 0], [1, 1, 0, 3, 0])


def test_tensor_and_boolean_indices(rng):
    x = leaf(rng, 4, 3)
    rows = minigrad.tensor([2, 2, 0])
    cols = minigrad.tensor([1, 1, 0])
    assert gradcheck(lambda t: t[rows, cols], x)
    mask = x.data > 0
    assert gradcheck(lambda t: t[mask], x)


def test_concatenate_stack_split(rng):
    a, b = leaf(rng, 2, 3), leaf(rng, 4, 3)
    assert gradcheck(lambda p, q: minigrad.concatenate([p, q], axis=0), a, b)
    c, d = leaf(rng, 2, 3), leaf(rng, 2, 3)
    assert gradcheck(lambda p, q: minigrad.stack([p, q], axis=1), c, d)
    assert minigrad.stack([c, d], axis=-1).shape == (2, 3, 2)
    x = leaf(rng, 6, 4)
    pieces = minigrad.split(x, 3)
    assert [p.shape for p in pieces] == [(2, 4)] * 3
    assert gradcheck(lambda t: minigrad.split(t, [1, 3], axis=1)[1] * 2, x)
    with pytest.raises(ValueError, match="equal pieces"):
        minigrad.split(x, 4)
    with pytest.raises(ValueError, match=r"concatenate: shapes \(2, 3\), \(2, 4\)"):
        minigrad.concatenate([a[:2], leaf(rng, 2, 4)], axis=0)
    with pytest.raises(ValueError, match="same shape"):
        minigrad.stack([a, b])
