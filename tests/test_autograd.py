"""The backward engine: accumulation, retain_grad, no_grad, errors and deep graphs."""

import numpy as np
import pytest

import minigrad


def test_gradients_accumulate_across_backward_calls_until_cleared():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]
    w.grad = None
    (w * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_a_tensor_used_twice_gets_both_contributions():
    x = minigrad.tensor(3.0, requires_grad=True)
    y = x * x + x
    y.backward()
    assert x.grad == pytest.approx(7.0)


def test_a_non_leaf_used_on_two_paths_of_different_depth():
    # Regression: t is reached first as a direct input of the sum and again below t * 2; it must
    # be processed after both users, or one user's gradient is lost.
    x = minigrad.tensor([0.3, -0.7], dtype="float64", requires_grad=True)
    assert minigrad.gradcheck(lambda v: (lambda t: t + t * 2)(v * 1.0), x)
    t = x * 1.0
    (t + t * 2).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_leaf_grads_never_share_memory():
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 100
    assert b.grad.tolist() == [1.0, 1.0]


def test_non_leaf_grad_is_kept_only_with_retain_grad():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    kept = x * 3
    kept.retain_grad()
    (hidden + kept).sum().backward()
    assert hidden.grad is None
    assert kept.grad.tolist() == [1.0, 1.0]


def test_backward_with_explicit_gradient():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 40.0]


def test_non_scalar_backward_without_gradient_is_a_clear_error():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2).backward()


def test_gradient_of_wrong_shape_is_rejected():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_from_a_tensor_that_does_not_require_grad_is_a_clear_error():
    x = minigrad.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_no_grad_builds_no_graph_as_context_and_decorator():
    w = minigrad.tensor([1.0], requires_grad=True)
    with minigrad.no_grad():
        y = w * 2
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @minigrad.no_grad()
    def double(t):
        return t * 2

    assert double(w).grad_fn is None
    with minigrad.no_grad(), minigrad.enable_grad():
        assert (w * 2).requires_grad


def test_no_grad_restores_state_after_an_exception():
    with pytest.raises(KeyError), minigrad.no_grad():
        raise KeyError
    assert minigrad.is_grad_enabled()


def test_deep_chain_backpropagates_without_recursion_error():
    x = minigrad.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0
    del y  # freeing a 200,000-node chain must not overflow the C stack either


def test_constants_in_the_graph_get_no_grad():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    c = minigrad.tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None


def test_cannot_turn_off_requires_grad_on_a_non_leaf():
    y = minigrad.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(ValueError, match="detach"):
        y.requires_grad = False


def test_retain_grad_needs_requires_grad():
    with pytest.raises(ValueError, match="does not require grad"):
        minigrad.tensor([1.0]).retain_grad()
