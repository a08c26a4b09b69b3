"""minigrad.func: torch.func's transforms, against closed forms and (when installed) torch.func."""

import numpy as np
import pytest

import minigrad
from minigrad import func, nn


def t64(values):
    return minigrad.tensor(values, dtype="float64")


def cubic(x):
    return (x ** 3).sum()


def test_grad_and_grad_and_value_of_a_closed_form():
    x = t64([1.0, -2.0])
    np.testing.assert_allclose(func.grad(cubic)(x).data, [3.0, 12.0])
    g, value = func.grad_and_value(cubic)(x)
    assert value.item() == -7.0 and g.tolist() == [3.0, 12.0]
    assert not x.requires_grad and x.grad is None  # the caller's tensor is untouched


def test_grad_argnums_and_has_aux():
    def f(a, b):
        return (a * b).sum(), "aux"

    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (ga, gb), aux = func.grad(f, argnums=(0, 1), has_aux=True)(a, b)
    assert ga.tolist() == [3.0, 4.0] and gb.tolist() == [1.0, 2.0] and aux == "aux"
    assert func.grad(lambda a, b: (a * b).sum(), argnums=-1)(a, b).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        func.grad(lambda a, b: (a * b).sum(), argnums=2)(a, b)
    with pytest.raises(ValueError, match="one-element Tensor"):
        func.grad(lambda a: a * 2)(a)


def test_grad_of_grad_and_a_gradient_of_an_unused_argument_is_zero():
    x = t64(2.0)
    assert func.grad(func.grad(cubic))(x).item() == 12.0  # 6x
    assert func.grad(lambda a, b: (a * 2).sum(), argnums=1)(x, t64([5.0])).tolist() == [0.0]


def test_grad_stays_differentiable_with_respect_to_closed_over_parameters():
    w = minigrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    g = func.grad(lambda x: ((x * w).sum()) ** 2)(t64([3.0, 4.0]))  # 2 (x.w) w
    g.sum().backward()
    np.testing.assert_allclose(w.grad, [2 * 3 * 3 + 2 * 11, 2 * 4 * 3 + 2 * 11])
    with minigrad.no_grad():
        assert func.grad(lambda x: ((x * w).sum()) ** 2)(t64([3.0, 4.0])).grad_fn is None


def test_vjp_gives_one_gradient_per_primal_and_can_be_called_again():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    out, vjp_fn = func.vjp(lambda a, b: a * b, a, b)
    assert out.tolist() == [3.0, 8.0]
    ga, gb = vjp_fn(t64([1.0, 10.0]))
    assert ga.tolist() == [3.0, 40.0] and gb.tolist() == [1.0, 20.0]
    assert vjp_fn(t64([1.0, 0.0]))[0].tolist() == [3.0, 0.0]
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(3,\), expected \(2,\)"):
        vjp_fn(t64([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="vjp: cotangent 0 must be floating-point"):
        vjp_fn(minigrad.tensor([1, 2]))


def test_hvp_refuses_tangents_that_do_not_match_its_primals():
    x = t64([1.0, 2.0])
    with pytest.raises(ValueError, match=r"hvp: tangent 0 has shape \(3,\), expected \(2,\)"):
        func.hvp(lambda x: (x * x).sum(), x, t64([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="hvp: expected 1 tangents, got 2"):
        func.hvp(lambda x: (x * x).sum(), x, (x, x))
    with pytest.raises(TypeError, match="hvp: primal 0 must be a Tensor, got list"):
        func.hvp(lambda x: (x * x).sum(), [1.0, 2.0], x)


def test_jvp_is_one_forward_pass_with_tangents():
    x = t64([0.5, -1.0])
    out, tangent = func.jvp(lambda t: t.tanh() * 3, (x,), (t64([1.0, 2.0]),))
    np.testing.assert_allclose(out.data, 3 * np.tanh(x.data))
    np.testing.assert_allclose(tangent.data, 3 * (1 - np.tanh(x.data) ** 2) * [1.0, 2.0])
    _, zero = func.jvp(lambda t: t64([1.0]), (x,), (t64([1.0, 1.0]),))
    assert zero.tolist() == [0.0]  # an output that does not depend on the primal
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(1,\), expected \(2,\)"):
        func.jvp(lambda t: t, (x,), (t64([1.0]),))
    with pytest.raises(ValueError, match="jvp: expected 1 tangents, got 2"):
        func.jvp(lambda t: t, (x,), (x, x))
    with pytest.raises(RuntimeError, match="does not nest"):
        func.jvp(lambda t: func.jvp(lambda u: u, (t,), (t,))[1], (x,), (x,))


def test_jacobians_by_both_modes_agree_with_the_closed_form(rng):
    a = t64(rng.standard_normal((3, 4)))
    x = t64(rng.standard_normal(4))
    expected = a.data * (1 - np.tanh(a.data @ x.data) ** 2)[:, None]
    for jacobian in (func.jacrev, func.jacfwd):
        got = jacobian(lambda v: (a @ v).tanh())(x)
        assert got.shape == (3, 4)
        np.testing.assert_allclose(got.data, expected, rtol=1e-12)


def test_hessian_and_hvp_of_a_quadratic_form(rng):
    m = rng.standard_normal((3, 3))
    matrix = t64(m)
    x = t64(rng.standard_normal(3))
    v = t64(rng.standard_normal(3))

    def f(x):
        return x @ (matrix @ x)

    np.testing.assert_allclose(func.hessian(f)(x).data, m + m.T, rtol=1e-12)
    out, hv = func.hvp(f, x, v)
    assert out.item() == pytest.approx(x.data @ m @ x.data)
    np.testing.assert_allclose(hv.data, (m + m.T) @ v.data, rtol=1e-12)


def test_hvp_is_zero_along_primals_whose_gradient_is_constant(rng):
    a, b = t64(rng.standard_normal(3)), t64(rng.standard_normal(2))
    va, vb = t64(rng.standard_normal(3)), t64(rng.standard_normal(2))

    def f(a, b):  # linear in b: the b-b block of the Hessian is zero, the cross blocks 2a
        return (a * a).sum() * b.sum()

    _, (ha, hb) = func.hvp(f, (a, b), (va, vb))
    np.testing.assert_allclose(ha.data, 2 * b.data.sum() * va.data + 2 * a.data * vb.data.sum(),
                               rtol=1e-12)
    np.testing.assert_allclose(hb.data, np.full(2, 2 * a.data @ va.data), rtol=1e-12)
    _, (ha, hb) = func.hvp(lambda a, b: (a * 3.0).sum() + b.sum(), (a, b), (va, vb))
    assert ha.tolist() == [0.0] * 3 and hb.tolist() == [0.0] * 2  # linear: no curvature


def test_hvp_matches_finite_differences_of_gradients_on_an_mlp(rng):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = t64(rng.standard_normal((5, 3)))
    y = np.array([0, 1, 1, 0, 1])
    w = t64(model[0].weight.data)

    def loss(weight):
        hidden = (x @ weight.T + t64(model[0].bias.data)).tanh()
        return minigrad.nn.functional.cross_entropy(
            hidden @ t64(model[2].weight.data).T + t64(model[2].bias.data), y)

    v = t64(rng.standard_normal(w.shape))
    _, hv = func.hvp(loss, w, v)
    eps = 1e-6
    plus = func.grad(loss)(t64(w.data + eps * v.data)).data
    minus = func.grad(loss)(t64(w.data - eps * v.data)).data
    np.testing.assert_allclose(hv.data, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-9)


def test_transforms_match_torch_func(rng):
    torch = pytest.importorskip("torch")
    m = rng.standard_normal((4, 4))

    def ours(x):
        return ((t64(m) @ x).tanh() * x).sum()

    def theirs(x):
        return ((torch.as_tensor(m) @ x).tanh() * x).sum()

    x = rng.standard_normal(4)
    v = rng.standard_normal(4)
    pairs = [
        (func.grad(ours)(t64(x)), torch.func.grad(theirs)(torch.as_tensor(x))),
        (func.hessian(ours)(t64(x)), torch.func.hessian(theirs)(torch.as_tensor(x))),
        (func.jacfwd(func.grad(ours))(t64(x)),
         torch.func.jacfwd(torch.func.grad(theirs))(torch.as_tensor(x))),
        (func.hvp(ours, t64(x), t64(v))[1],
         torch.autograd.functional.hvp(theirs, torch.as_tensor(x), torch.as_tensor(v))[1]),
        (func.jvp(ours, (t64(x),), (t64(v),))[1],
         torch.func.jvp(theirs, (torch.as_tensor(x),), (torch.as_tensor(v),))[1]),
    ]
    for mine, reference in pairs:
        np.testing.assert_allclose(mine.data, reference.numpy(), rtol=1e-9, atol=1e-12)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(TypeError, match="argument 0 must be a Tensor"):
        func.grad(cubic)(np.ones(2))
    with pytest.raises(TypeError, match="floating-point"):
        func.grad(cubic)(minigrad.tensor([1, 2]))
    with pytest.raises(TypeError, match="primals and tangents must be tuples"):
        func.jvp(cubic, t64([1.0]), t64([1.0]))


def test_functional_call_swaps_parameters_for_one_call_only(rng):
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = minigrad.tensor(rng.standard_normal((4, 2)))
    before = model(x).data.copy()
    zeros = {name: minigrad.zeros(*p.shape) for name, p in model.named_parameters()}
    assert np.all(func.functional_call(model, zeros, (x,)).data == 0)
    np.testing.assert_array_equal(model(x).data, before)
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    with pytest.raises(KeyError, match="no parameter '9.weight'"):
        func.functional_call(model, {"9.weight": minigrad.zeros(1)}, (x,))


def test_functional_call_reaches_the_recurrent_layers_registry(rng):
    lstm = nn.LSTM(2, 3)
    x = minigrad.tensor(rng.standard_normal((5, 1, 2)))
    zeros = {name: minigrad.zeros(*p.shape) for name, p in lstm.named_parameters()}
    out, _ = func.functional_call(lstm, zeros, (x,))
    assert np.all(out.data == 0)
