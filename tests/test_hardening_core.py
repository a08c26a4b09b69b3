"""What outside test suites and hostile inputs used to find in the core: each class of silent
wrong answer, now right or a clear error (issue 11).

- gradients checked with random cotangents and axes in both signs (property tests);
- the engine refusing a gradient whose shape broadcasting cannot explain;
- one axis rule: AxisError out of range, never a wrap-around; 0-d tensors as in PyTorch;
- version counters: backward refuses inputs changed in place after the forward pass;
- grad mode per thread and re-entrant;
- numerics at the extremes, against PyTorch when installed.
"""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.exceptions import AxisError

import minigrad
import minigrad.nn.functional as F
from minigrad import autograd, nn, ops
from minigrad.autograd import Function

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def leaf(rng, shape):
    return minigrad.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)


# ------------------------------------------------------- gradients with random cotangents
@settings(max_examples=60, deadline=None)
@given(shape=shapes, data=st.data())
def test_transpose_gradient_is_the_inverse_permutation_for_any_signs(shape, data):
    rng = np.random.default_rng(0)
    perm = data.draw(st.permutations(range(len(shape))))
    signs = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    axes = [ax - len(shape) if negative else ax for ax, negative in zip(perm, signs)]
    x = leaf(rng, shape)
    out = x.transpose(axes)
    np.testing.assert_array_equal(out.data, x.data.transpose(perm))
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    np.testing.assert_array_equal(x.grad, cotangent.transpose(np.argsort(perm)))


REDUCTIONS = {
    "sum": (lambda t, ax, k: t.sum(axis=ax, keepdims=k), np.sum),
    "mean": (lambda t, ax, k: t.mean(axis=ax, keepdims=k), np.mean),
    "max": (lambda t, ax, k: t.max(axis=ax, keepdims=k), np.max),
    "logsumexp": (lambda t, ax, k: t.logsumexp(axis=ax, keepdims=k),
                  lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis,
                                                          keepdims=keepdims))),
}


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data(), name=st.sampled_from(sorted(REDUCTIONS)),
       keepdims=st.booleans())
def test_reductions_take_negative_axes_and_pass_gradcheck_with_random_cotangents(
        shape, data, name, keepdims):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1))
    ours, numpys = REDUCTIONS[name]
    rng = np.random.default_rng(1)
    values = rng.permutation(np.prod(shape)).reshape(shape) / 7.0  # distinct: no ties in max
    x = minigrad.tensor(values, dtype="float64", requires_grad=True)
    np.testing.assert_allclose(ours(x, axis, keepdims).data,
                               numpys(values, axis=axis, keepdims=keepdims), rtol=1e-12)
    assert minigrad.gradcheck(lambda t: ours(t, axis, keepdims), x)


class TransposedGradient(Function):
    """An identity whose backward returns the gradient in the wrong (permuted) shape."""

    saves_inputs = False

    def forward(self, a):
        return a.copy()

    def backward(self, xp, grad, a, out):
        return (grad.transpose(2, 3, 0, 1),)


def test_the_engine_refuses_a_gradient_broadcasting_cannot_explain(rng):
    x = leaf(rng, (3, 4, 5, 6))
    with pytest.raises(RuntimeError, match=r"TransposedGradient.*\(5, 6, 3, 4\).*\(3, 4, 5, 6\)"):
        TransposedGradient.apply(x).sum().backward()


# ----------------------------------------------------------------------------- axes
AXIS_OPS = {
    "sum": lambda t, ax: t.sum(axis=ax),
    "mean": lambda t, ax: t.mean(axis=ax),
    "max": lambda t, ax: t.max(axis=ax),
    "min": lambda t, ax: t.min(axis=ax),
    "var": lambda t, ax: t.var(axis=ax),
    "logsumexp": lambda t, ax: t.logsumexp(axis=ax),
    "softmax": lambda t, ax: t.softmax(axis=ax),
    "log_softmax": lambda t, ax: t.log_softmax(axis=ax),
    "squeeze": lambda t, ax: t.squeeze(ax),
    "unsqueeze": lambda t, ax: t.unsqueeze(ax + (1 if ax >= 0 else -1)),
    "expand_dims": lambda t, ax: ops.expand_dims(t, ax + (1 if ax >= 0 else -1)),
    "stack": lambda t, ax: ops.stack([t, t], axis=ax + (1 if ax >= 0 else -1)),
    "concatenate": lambda t, ax: ops.concatenate([t, t], axis=ax),
    "split": lambda t, ax: ops.split(t, 1, axis=ax),
    "transpose": lambda t, ax: t.transpose((ax, 0)),
    "swapaxes": lambda t, ax: ops.swapaxes(t, ax, 0),
}


@pytest.mark.parametrize("name", sorted(AXIS_OPS))
@pytest.mark.parametrize("axis", [2, 5, -3, 77])
def test_an_axis_out_of_range_raises_axis_error_and_never_wraps(name, axis):
    x = minigrad.ones(1, 1)
    with pytest.raises(AxisError) as info:
        AXIS_OPS[name](x, axis)
    assert isinstance(info.value, ValueError) and isinstance(info.value, IndexError)


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "logsumexp", "softmax", "log_softmax",
                                  "squeeze"])
def test_zero_d_tensors_accept_axis_0_and_minus_1_as_pytorch(name, axis):
    x = minigrad.tensor(1.5, dtype="float64", requires_grad=True)
    out = AXIS_OPS[name](x, axis)
    expected = {"softmax": 1.0, "log_softmax": 0.0}.get(name, 1.5)
    assert out.shape == () and out.item() == expected
    assert minigrad.gradcheck(lambda t: AXIS_OPS[name](t, axis), x)


def test_unsqueeze_and_stack_of_a_zero_d_tensor():
    x = minigrad.tensor(2.0)
    assert x.unsqueeze(0).shape == (1,) and x.unsqueeze(-1).shape == (1,)
    assert ops.stack([x, x], axis=-1).shape == (2,)
    with pytest.raises(AxisError):
        x.unsqueeze(1)


# ------------------------------------------------------------------- version counters
def test_backward_refuses_a_weight_changed_in_place_after_the_forward_pass():
    layer = nn.Linear(3, 2)
    loss = layer(minigrad.ones(4, 3)).sum()
    nn.init.zeros_(layer.weight)
    with pytest.raises(RuntimeError, match="Linear: one of the variables needed for gradient "
                                           "computation has been modified by an inplace"):
        loss.backward()


def test_an_input_the_backward_does_not_read_may_change():
    x = minigrad.ones(2, requires_grad=True)
    y = (x + 1).sum()  # Add's backward reads no input
    nn.init.constant_(x, 5.0)
    y.backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_create_graph_backward_also_checks_versions():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    nn.init.ones_(x)
    with pytest.raises(RuntimeError, match="Mul: one of the variables"):
        autograd.grad(y, x, create_graph=True)


# ---------------------------------------------------------------------------- grad mode
def test_grad_mode_is_per_thread():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    inside, started, results = threading.Event(), threading.Event(), {}

    def evaluate():
        with minigrad.no_grad():
            started.set()
            inside.wait(5)
            results["evaluated"] = (w * 2).requires_grad

    thread = threading.Thread(target=evaluate)
    thread.start()
    started.wait(5)
    results["trained"] = (w * 2).requires_grad  # this thread is not under no_grad
    inside.set()
    thread.join()
    assert results == {"evaluated": False, "trained": True}


def test_two_threads_train_and_evaluate_concurrently_with_results_equal_to_alone():
    def train(seed):
        minigrad_rng = np.random.default_rng(seed)
        w = minigrad.tensor(minigrad_rng.standard_normal((3, 2)), dtype="float64",
                            requires_grad=True)
        x = minigrad.tensor(minigrad_rng.standard_normal((8, 3)), dtype="float64")
        for _ in range(200):
            loss = ((x @ w).tanh() ** 2).mean()
            w.grad = None
            loss.backward()
            w.data -= 0.1 * w.grad
        return w.data.copy()

    def evaluate(seed):
        rng = np.random.default_rng(seed)
        w = minigrad.tensor(rng.standard_normal((3, 2)), dtype="float64", requires_grad=True)
        outs = []
        for _ in range(200):
            with minigrad.no_grad():
                out = (w * 3).sum()
                outs.append((out.item(), out.requires_grad))
        return outs

    alone = (train(1), evaluate(2))
    results = {}
    threads = [threading.Thread(target=lambda: results.__setitem__("train", train(1))),
               threading.Thread(target=lambda: results.__setitem__("eval", evaluate(2)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(results["train"], alone[0])
    assert results["eval"] == alone[1]


def test_no_grad_decorator_is_reentrant_under_recursion():
    @minigrad.no_grad()
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    depth(5)
    assert minigrad.is_grad_enabled()

    @minigrad.no_grad
    def bare():
        return minigrad.is_grad_enabled()

    assert bare() is False and minigrad.is_grad_enabled()


def test_set_grad_enabled_as_call_context_and_decorator_and_inference_mode():
    minigrad.set_grad_enabled(False)
    assert not minigrad.is_grad_enabled()
    minigrad.set_grad_enabled(True)
    with minigrad.set_grad_enabled(False):
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()

    @minigrad.set_grad_enabled(False)
    def off():
        return minigrad.is_grad_enabled()

    assert minigrad.is_grad_enabled() and off() is False and minigrad.is_grad_enabled()
    with minigrad.inference_mode():
        assert not minigrad.is_grad_enabled()
        with minigrad.inference_mode(False):
            assert minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()


# --------------------------------------------------------------- numerics at the extremes
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_keeps_its_lower_tail(dtype):
    x = np.array([-20.0, -17.0, -88.0, 0.0, 17.0, 40.0], dtype=dtype)
    expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    got = minigrad.tensor(x).sigmoid().data
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=2e-7 if dtype == "float32" else 1e-15)


def test_relu_of_minus_infinity_is_zero_with_zero_gradient():
    x = minigrad.tensor([-np.inf, -1.0, 2.0, np.inf], requires_grad=True)
    y = x.relu()
    assert y.tolist() == [0.0, 0.0, 2.0, np.inf]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_float32_log_softmax_of_large_logits_is_exact_to_rounding():
    logits = np.array([[1e4, 1e4 + 1, 1e4 - 2.5]], dtype=np.float32)
    got = minigrad.tensor(logits).log_softmax(axis=-1).data
    shifted = logits.astype(np.float64) - logits.max()
    expected = shifted - np.log(np.exp(shifted).sum())
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_max_routes_the_gradient_to_nans_as_torch_max():
    x = minigrad.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
    out = x.max()
    assert np.isnan(out.item())
    out.backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.0, 0.5]
    y = minigrad.tensor([[1.0, np.nan], [3.0, 2.0]], requires_grad=True)
    y.max(axis=1).sum().backward()
    assert y.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_powers_at_zero_have_pytorchs_gradients():
    x = minigrad.tensor([0.0], requires_grad=True)
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0]
    a = minigrad.tensor([0.0, 0.0, 0.0], requires_grad=True)
    b = minigrad.tensor([-1.0, 2.0, 0.0], requires_grad=True)
    (a ** b).sum().backward()
    assert a.grad.tolist() == [-np.inf, 0.0, 0.0]
    assert b.grad.tolist() == [-np.inf, 0.0, 0.0]


def test_float16_mean_does_not_overflow():
    x = minigrad.tensor(np.full(100_000, 1000.0, dtype=np.float16))
    assert x.mean().item() == 1000.0 and x.mean().dtype == np.float16


def test_logsumexp_over_an_empty_axis_is_minus_infinity():
    out = minigrad.zeros(3, 0).logsumexp(axis=1)
    assert out.shape == (3,) and out.tolist() == [-np.inf] * 3


def test_bce_refuses_nan_probabilities():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(minigrad.tensor([0.5, np.nan]), minigrad.tensor([1.0, 0.0]))


def test_big_endian_targets_and_data_work_as_native():
    logits = minigrad.tensor(np.array([[0.1, 2.0], [1.0, -1.0]], dtype=">f4"))
    assert logits.dtype.byteorder in "=|" and logits.dtype == np.float32
    targets = np.array([1, 0], dtype=">i8")
    expected = F.cross_entropy(logits, targets.astype(np.int64)).item()
    assert F.cross_entropy(logits, targets).item() == expected
    assert F.nll_loss(logits.log_softmax(axis=1), targets).item() == pytest.approx(expected)


def test_extremes_match_torch():
    torch = pytest.importorskip("torch")
    for dtype, tdtype in (("float32", torch.float32), ("float64", torch.float64)):
        x = np.array([-100.0, -20.0, -17.0, 0.0, 30.0], dtype=dtype)
        # atol: at -100, float32 is subnormal; torch flushes it to 0, minigrad keeps e^-100.
        np.testing.assert_allclose(minigrad.tensor(x).sigmoid().data,
                                   torch.sigmoid(torch.tensor(x, dtype=tdtype)).numpy(),
                                   rtol=1e-6 if dtype == "float32" else 1e-15, atol=1e-38)
        logits = np.array([[1e4, 1e4 + 1.5, 1e4 - 3]], dtype=dtype)
        np.testing.assert_allclose(
            minigrad.tensor(logits).log_softmax(axis=1).data,
            torch.log_softmax(torch.tensor(logits, dtype=tdtype), dim=1).numpy(), rtol=1e-6)
    x = torch.tensor([1.0, float("nan"), 3.0, float("nan")], requires_grad=True)
    x.max().backward()
    ours = minigrad.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
    ours.max().backward()
    np.testing.assert_array_equal(ours.grad, x.grad.numpy())
