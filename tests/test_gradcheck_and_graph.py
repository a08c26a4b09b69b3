"""gradcheck itself, and the graph inspection helpers for students."""

import numpy as np
import pytest
from helpers import leaf

import minigrad
from minigrad.autograd import Function


class WrongSquare(Function):
    """x**2 with a deliberately wrong derivative (3x instead of 2x)."""

    def forward(self, x):
        return x * x

    def backward(self, xp, grad, x, out):
        return (grad * 3 * x,)


def test_gradcheck_catches_a_wrong_derivative_and_names_the_input(rng):
    good, x = leaf(rng, 3), leaf(rng, 2, 2)
    with pytest.raises(minigrad.GradcheckError, match=r"input 1 \(shape \(2, 2\)\), element"):
        minigrad.gradcheck(lambda a, b: a.sum() + WrongSquare.apply(b).sum(), good, x)


def test_gradcheck_works_in_float64_even_for_float32_inputs(rng):
    x = minigrad.tensor(rng.standard_normal(4), dtype="float32", requires_grad=True)
    assert x.dtype == np.float32
    assert minigrad.gradcheck(lambda t: (t * t).tanh(), x)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        minigrad.gradcheck(lambda t: t * 2, minigrad.ones(2))


def test_to_dot_lists_operations_shapes_and_gradients():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    w = minigrad.tensor([3.0, 4.0], requires_grad=True)
    loss = (x * w).sum()
    loss.backward()
    dot = minigrad.graph.to_dot(loss, names={x: "x", w: "w"})
    assert dot.startswith("digraph minigrad {") and dot.rstrip().endswith("}")
    assert "Mul" in dot and "Sum" in dot and "x: leaf" in dot and "w: leaf" in dot
    assert "grad [3., 4.]" in dot  # x's gradient is w
    assert dot.count("->") == 3  # x -> mul, w -> mul, mul -> sum


def test_describe_lists_nodes_inputs_first():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    text = minigrad.graph.describe((x.exp() * 2).sum())
    lines = text.splitlines()
    assert lines[0].startswith("t0 = leaf")
    assert "Exp(t0)" in lines[1] and "Mul(t1, const)" in lines[2] and "Sum(t2)" in lines[3]


def test_render_without_graphviz_explains_what_to_install(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    with pytest.raises(ImportError, match="pip install graphviz"):
        minigrad.graph.render(minigrad.ones(1, requires_grad=True) * 2, tmp_path / "g")
