"""Elementwise operations: values against NumPy and gradients against finite differences."""

import numpy as np
import pytest
from helpers import apart, leaf, positive
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import gradcheck

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": minigrad.maximum,
    "minimum": minigrad.minimum,
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1, 4), (5, 4)), ((4,), (2, 3, 1))])
def test_binary_ops_gradcheck_with_broadcasting(rng, name, shapes):
    a, b = positive(rng, *shapes[0]), positive(rng, *shapes[1])
    assert gradcheck(BINARY[name], a, b)


@pytest.mark.parametrize("name", BINARY)
def test_binary_ops_match_numpy(rng, name):
    a, b = positive(rng, 3, 1, 4), positive(rng, 5, 4)
    expected = {
        "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
        "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
    }[name](a.data, b.data)
    np.testing.assert_allclose(BINARY[name](a, b).data, expected, rtol=1e-12)


SCALAR_FORMS = {
    "t + s": lambda t: t + 1.5,
    "s + t": lambda t: 1.5 + t,
    "t - s": lambda t: t - 1.5,
    "s - t": lambda t: 1.5 - t,
    "t * s": lambda t: t * 1.5,
    "s * t": lambda t: 1.5 * t,
    "t / s": lambda t: t / 1.5,
    "s / t": lambda t: 1.5 / t,
    "t ** s": lambda t: t**1.5,
    "t ** int": lambda t: t**3,
    "s ** t": lambda t: 1.5**t,
    "-t": lambda t: -t,
    "array - t": lambda t: np.full(t.shape, 2.0) - t,
}


@pytest.mark.parametrize("name", SCALAR_FORMS)
def test_scalar_and_reflected_forms_gradcheck(rng, name):
    assert gradcheck(SCALAR_FORMS[name], positive(rng, 2, 3))


UNARY = {
    "exp": (minigrad.exp, np.exp, leaf),
    "log": (minigrad.log, np.log, positive),
    "sqrt": (minigrad.sqrt, np.sqrt, positive),
    "abs": (minigrad.abs, np.abs, apart),
    "tanh": (minigrad.tanh, np.tanh, leaf),
    "sigmoid": (minigrad.sigmoid, lambda x: 1 / (1 + np.exp(-x)), leaf),
    "relu": (minigrad.relu, lambda x: np.maximum(x, 0), apart),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_match_numpy_and_gradcheck(rng, name):
    op, reference, make = UNARY[name]
    x = make(rng, 3, 4)
    np.testing.assert_allclose(op(x).data, reference(x.data), rtol=1e-12)
    assert gradcheck(op, x)


def test_methods_match_functions(rng):
    x = positive(rng, 2, 3)
    for method in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu"):
        np.testing.assert_array_equal(getattr(x, method)().data, getattr(minigrad, method)(x).data)


def test_abs_and_relu_derivative_at_zero_is_zero():
    x = minigrad.tensor([0.0], requires_grad=True)
    minigrad.abs(x).sum().backward()
    assert x.grad.tolist() == [0.0]
    x.grad = None
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0]


def test_sigmoid_is_stable_for_huge_inputs():
    x = minigrad.tensor([-1e4, 0.0, 1e4], requires_grad=True)
    y = x.sigmoid()
    assert y.data.tolist() == [0.0, 0.5, 1.0]
    y.sum().backward()
    assert np.all(np.isfinite(x.grad))


def test_clip_values_and_gradient_inside_the_bounds(rng):
    x = apart(rng, 4, 5)
    assert gradcheck(lambda t: t.clip(-0.5, 0.5), x)
    assert gradcheck(lambda t: minigrad.clip(t, min=0.0), x)
    y = minigrad.tensor([-2.0, 0.0, 2.0], requires_grad=True)
    y.clip(-1, 1).sum().backward()
    assert y.grad.tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="at least one"):
        minigrad.clip(y)


def test_maximum_ties_split_the_gradient():
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([1.0, 1.0], requires_grad=True)
    minigrad.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0] and b.grad.tolist() == [0.5, 0.0]


def test_where_routes_the_gradient(rng):
    a, b = leaf(rng, 3, 4), leaf(rng, 4)
    cond = rng.random((3, 4)) > 0.5
    assert gradcheck(lambda x, y: minigrad.where(cond, x, y), a, b)
    out = minigrad.where(minigrad.tensor(cond), a, b)
    np.testing.assert_array_equal(out.data, np.where(cond, a.data, b.data))
    with pytest.raises(TypeError, match="boolean"):
        minigrad.where(np.ones(4), a, b)


def test_pow_with_tensor_exponent_at_zero_base_has_finite_gradient():
    base = minigrad.tensor([0.0, 2.0], dtype="float64", requires_grad=True)
    exponent = minigrad.tensor([2.0, 3.0], dtype="float64", requires_grad=True)
    (base**exponent).sum().backward()
    assert np.all(np.isfinite(exponent.grad)) and exponent.grad[0] == 0.0


def test_broadcasting_error_names_the_operation_and_shapes():
    with pytest.raises(ValueError, match=r"add: cannot broadcast shapes \(3,\) and \(4,\)"):
        minigrad.ones(3) + minigrad.ones(4)
    with pytest.raises(ValueError, match=r"mul: cannot broadcast shapes \(2, 3\) and \(2,\)"):
        minigrad.ones(2, 3) * minigrad.ones(2)


shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=40, deadline=None)
@given(shapes=shapes, op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]))
def test_broadcasting_ops_on_random_shapes(shapes, op):
    rng = np.random.default_rng(0)
    a = positive(rng, *shapes.input_shapes[0])
    b = positive(rng, *shapes.input_shapes[1])
    out = BINARY[op](a, b)
    assert out.shape == shapes.result_shape
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    assert gradcheck(BINARY[op], a, b)
