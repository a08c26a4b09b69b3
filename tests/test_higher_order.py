"""Second derivatives and forward mode for every operation, layer and loss (tests/op_cases.py).

Each is held to central differences in float64 (gradgradcheck, jvpcheck) and, when PyTorch is
installed, to torch.autograd / torch.func to 1e-9 relative.
"""

import numpy as np
import pytest
from op_cases import CASES, as_tensors

import minigrad
from minigrad import autograd, nn

IDS = [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_first_derivatives_match_finite_differences(case, rng):
    assert minigrad.gradcheck(case.fn, *as_tensors(case.make(rng)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_derivatives_match_finite_differences(case, rng):
    assert minigrad.gradgradcheck(case.fn, *as_tensors(case.make(rng)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_mode_matches_finite_differences(case, rng):
    assert minigrad.jvpcheck(case.fn, *as_tensors(case.make(rng)))


def _second_order(fn, tensors, w, v, grad):
    """d/dx [ (d/dx sum(fn(x) * w)) . v ] for every x, by the given grad function."""
    out = fn(*tensors)
    firsts = grad(out, tensors, w)
    along = sum((g * d).sum() for g, d in zip(firsts, v) if g is not None)
    if not along.requires_grad:  # the first derivatives are constant: the second ones are 0
        return [None] * len(tensors)
    return grad(along, tensors, None)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_derivatives_and_jvp_match_torch(case, rng):
    torch = pytest.importorskip("torch")
    arrays = case.make(rng)
    out_shape = case.fn(*as_tensors(arrays)).shape
    w = rng.standard_normal(out_shape)
    v = [rng.standard_normal(a.shape) for a in arrays]

    def ours(out, xs, cotangent):
        cot = None if cotangent is None else minigrad.tensor(cotangent, dtype="float64")
        return autograd.grad(out, xs, cot, create_graph=True, allow_unused=True)

    def theirs(out, xs, cotangent):
        cot = None if cotangent is None else torch.as_tensor(cotangent)
        return torch.autograd.grad(out, xs, cot, create_graph=True, allow_unused=True)

    mine = _second_order(case.fn, as_tensors(arrays), w, [minigrad.tensor(d) for d in v], ours)
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    reference = _second_order(case.torch_fn, torch_inputs, w, [torch.as_tensor(d) for d in v],
                              theirs)
    for m, r in zip(mine, reference):
        expected = np.zeros_like(arrays[0]) if r is None else r.detach().numpy(force=True)
        got = 0 * expected if m is None else m.data
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)

    primals = tuple(minigrad.tensor(a, dtype="float64") for a in arrays)
    _, tangent = minigrad.func.jvp(case.fn, primals, tuple(minigrad.tensor(d) for d in v))
    _, expected = torch.func.jvp(case.torch_fn, tuple(torch.as_tensor(a) for a in arrays),
                                 tuple(torch.as_tensor(d) for d in v))
    np.testing.assert_allclose(tangent.data, expected.numpy(), rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------ layers
def _float64(module):
    for p in module.parameters():
        p.data = p.data.astype(np.float64)
    return module


@pytest.mark.parametrize("make", [
    lambda: nn.Linear(3, 2),
    lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid()),
    lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Softmax()),
    lambda: nn.RNNCell(3, 2),
    lambda: nn.GRUCell(3, 2),
], ids=["linear", "tanh_mlp", "relu_softmax_mlp", "rnn_cell", "gru_cell"])
def test_layers_have_second_derivatives_and_forward_mode(make, rng):
    minigrad.manual_seed(3)
    module = _float64(make())
    x = minigrad.tensor(rng.uniform(-1, 1, (2, 3)), dtype="float64", requires_grad=True)
    weights = [minigrad.tensor(p.data, requires_grad=True) for p in module.parameters()]
    assert minigrad.gradgradcheck(lambda x, *ws: _functional(module, x, ws), x, *weights)
    assert minigrad.jvpcheck(lambda x, *ws: _functional(module, x, ws), x, *weights)


def _functional(module, x, weights):
    """Run ``module`` with its parameters replaced by ``weights`` (Tensors)."""
    names = [name for name, _ in module.named_parameters()]
    return minigrad.func.functional_call(module, dict(zip(names, weights)), (x,))


def test_lstm_cell_has_second_derivatives(rng):
    cell = _float64(nn.LSTMCell(3, 2))
    x = minigrad.tensor(rng.uniform(-1, 1, (2, 3)), dtype="float64", requires_grad=True)
    weights = [minigrad.tensor(p.data, requires_grad=True) for p in cell.parameters()]
    assert minigrad.gradgradcheck(lambda x, *ws: _functional(cell, x, ws)[1], x, *weights)
    assert minigrad.jvpcheck(lambda x, *ws: _functional(cell, x, ws)[0], x, *weights)


@pytest.mark.parametrize("layer,cell", [(nn.RNN, "RNNCell"), (nn.LSTM, "LSTMCell"),
                                        (nn.GRU, "GRUCell")])
def test_fused_recurrent_layers_refuse_second_derivatives_naming_the_cell(layer, cell, rng):
    module = layer(3, 2)
    x = minigrad.tensor(rng.standard_normal((4, 1, 3)), requires_grad=True)
    loss = module(x)[0].sum()
    with pytest.raises(RuntimeError, match=f"create_graph=True.*nn.{cell}"):
        autograd.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError, match=f"forward mode.*nn.{cell}"):
        minigrad.func.jvp(lambda t: module(t)[0], (x.detach(),), (minigrad.ones(4, 1, 3),))


# ------------------------------------------------------------------- graph lifetime
def test_a_second_backward_through_a_freed_graph_raises_as_pytorch():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_grad_leaves_dot_grad_alone_and_checks_its_arguments():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    unused = minigrad.tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    (g,) = autograd.grad(y, x, retain_graph=True)
    assert g.tolist() == [2.0, 4.0] and x.grad is None
    with pytest.raises(RuntimeError, match="input 1 was not used"):
        autograd.grad(y, [x, unused], retain_graph=True)
    assert autograd.grad(y, [x, unused], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        autograd.grad(y, minigrad.tensor([1.0]))


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = minigrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    assert isinstance(first, minigrad.Tensor) and first.tolist() == [3.0, 12.0]
    x.grad = None
    first.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]  # d/dx 3x^2


def test_backward_inputs_limits_which_leaves_accumulate():
    a = minigrad.tensor([1.0], requires_grad=True)
    b = minigrad.tensor([2.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [2.0] and b.grad is None


def test_create_graph_through_a_whole_mlp_loss(rng):
    minigrad.manual_seed(0)
    model = _float64(nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4)))
    x = minigrad.tensor(rng.standard_normal((6, 3)), dtype="float64")
    y = np.array([0, 1, 3, 2, 1, 0])
    params = list(model.parameters())
    weights = [minigrad.tensor(p.data, requires_grad=True) for p in params]

    def loss(*ws):
        return minigrad.nn.functional.cross_entropy(_functional(model, x, ws), y)

    assert minigrad.gradgradcheck(loss, *weights)


# ------------------------------------------------------------------------------ hooks
def test_tensor_hooks_see_each_gradient_and_can_replace_it():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    handle = h.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: seen.append(("leaf", g.tolist())))
    (h * h).sum().backward()
    assert seen == [[6.0, 12.0], ("leaf", [180.0, 360.0])]
    assert x.grad.tolist() == [180.0, 360.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_a_hook_returning_a_wrong_shape_is_refused():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: minigrad.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\), expected \(2,\)"):
        (x * 2).sum().backward()


def test_module_hooks_fire_with_pytorch_signatures_and_can_replace_values():
    layer = nn.Linear(3, 2)
    events = []
    layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    layer.register_forward_hook(lambda m, args, out: events.append(("forward", out.shape)))
    layer.register_full_backward_pre_hook(
        lambda m, grad_output: events.append(("pre", grad_output[0].shape)))
    handle = layer.register_full_backward_hook(
        lambda m, grad_input, grad_output: (grad_input[0] * 0,))
    x = minigrad.ones(4, 3, requires_grad=True)
    layer(x).sum().backward()
    assert events == [("forward", (4, 2)), ("pre", (4, 2))]
    assert np.all(x.grad == 0)  # the backward hook replaced the input's gradient
    handle.remove()
    x.grad = None
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.tile(2 * layer.weight.data.sum(axis=0), (4, 1)),
                               rtol=1e-6)


def test_module_backward_hook_gets_all_input_gradients_at_once():
    class Product(nn.Module):
        def forward(self, a, b):
            return a * b

    module = Product()
    got = []
    module.register_full_backward_hook(
        lambda m, gi, go: got.append([g.tolist() for g in gi] + [go[0].tolist()]))
    a = minigrad.tensor([2.0], requires_grad=True)
    b = minigrad.tensor([5.0], requires_grad=True)
    (module(a, b) * 3).sum().backward()
    assert got == [[[15.0], [6.0], [3.0]]]


# ---------------------------------------------------------------------- a use of them
def test_a_newton_step_on_a_quadratic_lands_on_the_minimum(rng):
    a = rng.standard_normal((4, 4))
    matrix = minigrad.tensor(a @ a.T + 4 * np.eye(4), dtype="float64")
    b = minigrad.tensor(rng.standard_normal(4), dtype="float64")

    def f(x):
        return 0.5 * (x @ (matrix @ x)) - b @ x

    x = minigrad.tensor(np.zeros(4), dtype="float64")
    step = np.linalg.solve(minigrad.func.hessian(f)(x).data, minigrad.func.grad(f)(x).data)
    x_new = x.data - step
    np.testing.assert_allclose(x_new, np.linalg.solve(matrix.data, b.data), rtol=1e-12)
    np.testing.assert_allclose(minigrad.func.grad(f)(minigrad.tensor(x_new)).data, 0,
                               atol=1e-12)


def test_optimizers_and_clipping_accept_the_tensor_grads_create_graph_leaves():
    for make in (lambda ps: minigrad.optim.SGD(ps, lr=0.1),
                 lambda ps: minigrad.optim.Adam(ps, lr=0.1)):
        w = minigrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
        plain = minigrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
        for param in (w, plain):
            optimizer = make([param])
            for _ in range(3):
                (param ** 3).sum().backward(create_graph=param is w)
                nn.utils.clip_grad_norm_([param], 5.0)
                optimizer.step()
                param.grad = None
        np.testing.assert_array_equal(w.data, plain.data)
