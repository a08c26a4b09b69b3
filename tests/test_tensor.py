"""Tensor construction, dtype rules, properties and factories."""

import numpy as np
import pytest

import minigrad
from minigrad import Tensor


def test_lists_and_scalars_take_the_default_float_dtype():
    assert minigrad.tensor([1.0, 2.0]).dtype == np.float32
    assert minigrad.tensor(3.5).dtype == np.float32
    minigrad.set_default_dtype("float64")
    assert minigrad.tensor([1.0, 2.0]).dtype == np.float64
    assert minigrad.zeros(2).dtype == np.float64


def test_arrays_keep_their_floating_dtype_and_are_copied():
    array = np.arange(3, dtype=np.float64)
    t = minigrad.tensor(array)
    assert t.dtype == np.float64
    t.data[0] = 10
    assert array[0] == 0


def test_explicit_dtype_accepts_strings_and_numpy_dtypes():
    assert minigrad.tensor([1, 2], dtype="float32").dtype == np.float32
    assert minigrad.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_data_is_contiguous_even_from_a_strided_view():
    view = np.arange(12.0).reshape(3, 4).T
    assert minigrad.tensor(view).data.flags.c_contiguous


def test_integer_and_boolean_tensors_exist_but_cannot_require_grad():
    labels = minigrad.tensor([0, 2, 1])
    assert labels.dtype == np.int64
    assert minigrad.tensor([True, False]).dtype == np.bool_
    with pytest.raises(TypeError, match="int64"):
        minigrad.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        labels.requires_grad_()


def test_unknown_dtype_and_unsupported_data_raise_type_error():
    with pytest.raises(TypeError, match="dtype"):
        minigrad.tensor([1.0], dtype="not-a-dtype")
    with pytest.raises(TypeError, match="str"):
        minigrad.tensor("hello")


def test_set_default_dtype_rejects_non_float():
    with pytest.raises(ValueError, match="int32"):
        minigrad.set_default_dtype(np.int32)


def test_properties():
    t = minigrad.zeros(2, 3, requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.is_leaf and t.requires_grad and t.grad is None and t.grad_fn is None
    y = t * 2
    assert not y.is_leaf and y.grad_fn.name == "Mul"
    assert np.asarray(y).shape == (2, 3)
    assert minigrad.tensor([[1.5]]).item() == 1.5
    with pytest.raises(ValueError, match="6 elements"):
        t.item()


def test_detach_and_numpy_share_data_but_leave_the_graph():
    w = minigrad.ones(3, requires_grad=True)
    d = (w * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    assert w.numpy() is w.data


def test_repr_shows_data_dtype_and_grad_fn():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    assert repr(w) == "tensor([1., 2.], dtype=float32, requires_grad=True)"
    assert "grad_fn=<Mul>" in repr(w * 3)


def test_grad_is_assignable():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == (2,)
    w.grad = None
    assert w.grad is None


def test_factories_shapes_dtypes_and_flags():
    assert minigrad.zeros(2, 3).shape == (2, 3)
    assert minigrad.ones((4,)).data.sum() == 4
    assert minigrad.full((2, 2), 7.0).data.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert minigrad.randn(5, dtype="float64").dtype == np.float64
    r = minigrad.rand(1000)
    assert 0 <= r.data.min() and r.data.max() < 1
    assert minigrad.arange(5).dtype == np.int64
    assert minigrad.arange(0.0, 1.0, 0.25).data.tolist() == [0.0, 0.25, 0.5, 0.75]
    like = minigrad.zeros_like(minigrad.randn(2, dtype="float64"), requires_grad=True)
    assert like.dtype == np.float64 and like.requires_grad
    assert minigrad.ones_like(like).data.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="non-negative"):
        minigrad.zeros(-1)


def test_manual_seed_makes_random_factories_repeatable():
    minigrad.manual_seed(7)
    a = minigrad.randn(4).data
    minigrad.manual_seed(7)
    assert np.array_equal(a, minigrad.randn(4).data)
    assert not np.array_equal(a, minigrad.randn(4).data)


def test_comparisons_return_boolean_tensors_without_grad():
    a = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (a > 2, a >= 2, a < 2, a <= 2, a == 2, a != 2):
        assert result.dtype == np.bool_ and not result.requires_grad
    assert (a > 1.5).data.tolist() == [False, True, True]


def test_numpy_arrays_on_the_left_defer_to_tensor():
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    out = np.array([10.0, 20.0], dtype=np.float32) - a
    assert isinstance(out, Tensor) and out.data.tolist() == [9.0, 18.0]


def test_python_scalars_keep_float32():
    a = minigrad.tensor([1.0, 2.0])
    for out in (a + 1, 2.0 * a, a / 3, 1 - a, a**2, 2**a):
        assert out.dtype == np.float32


def test_numpy_promotion_between_tensors():
    a = minigrad.tensor([1.0], dtype="float32")
    b = minigrad.tensor([1.0], dtype="float64", requires_grad=True)
    assert (a * b).dtype == np.float64


def test_leaf_grad_keeps_the_leaf_dtype_when_mixed_with_float64():
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([3.0, 4.0], dtype="float64")
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and a.grad.tolist() == [3.0, 4.0]
