"""Conv1d, max_pool1d and their unfold/fold primitives: finite differences, PyTorch, errors."""

import numpy as np
import pytest

import minigrad
from minigrad import autograd, nn
from minigrad.nn import functional as F
from minigrad.ops import xp_numpy
from minigrad.ops.window import Fold1d, Unfold1d, fold1d, unfold1d
from tests.helpers import apart, leaf

# (kernel_size, stride, padding, dilation, groups, bias): every option, each with others.
CONV_CASES = [
    (3, 1, 0, 1, 1, True), (1, 1, 0, 1, 1, False), (5, 2, 1, 1, 1, True), (3, 3, 2, 2, 1, True),
    (2, 1, "same", 1, 1, True), (4, 1, "same", 3, 1, False), (3, 2, "valid", 1, 1, True),
    (3, 1, 1, 1, 3, True), (2, 2, 0, 2, 3, False), (3, 1, "same", 2, 6, True),
]
CASE_IDS = ["k{}-s{}-p{}-d{}-g{}-b{}".format(*case) for case in CONV_CASES]
IN, OUT, LENGTH = 6, 3, 11


def _conv_inputs(rng, case, batch=(2,)):
    kernel, _, _, _, groups, bias = case
    out_channels = OUT * (2 if groups == 6 else 1)
    x = leaf(rng, *batch, IN, LENGTH)
    w = leaf(rng, out_channels, IN // groups, kernel)
    b = leaf(rng, out_channels) if bias else None
    return x, w, b


def _conv(case):
    _, stride, padding, dilation, groups, _ = case

    def run(x, w, b=None):
        return F.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)
    return run


@pytest.mark.parametrize("case", CONV_CASES, ids=CASE_IDS)
def test_conv1d_gradients_against_finite_differences(rng, case):
    x, w, b = _conv_inputs(rng, case)
    assert minigrad.gradcheck(_conv(case), *[t for t in (x, w, b) if t is not None])


@pytest.mark.parametrize("case", CONV_CASES[:5], ids=CASE_IDS[:5])
def test_conv1d_second_derivatives_against_finite_differences(rng, case):
    """conv is bilinear in (x, w): the gradient of <conv(x, w), r> in w depends on x."""
    x, w, b = _conv_inputs(rng, case)
    run = _conv(case)
    r = minigrad.tensor(rng.standard_normal(run(x, w, b).shape))

    def weight_gradient(x, w):
        (grad_w,) = autograd.grad((run(x, w, b) * r).sum(), [w], create_graph=True)
        return grad_w * grad_w  # a nonlinear function of it, so w's own derivative counts too

    assert minigrad.gradcheck(weight_gradient, x, w)


def test_conv1d_unbatched_is_the_batch_of_one(rng):
    case = CONV_CASES[2]
    x, w, b = _conv_inputs(rng, case, batch=())
    single = _conv(case)(x, w, b)
    batched = _conv(case)(x.unsqueeze(0), w, b)
    assert single.shape == batched.shape[1:]
    np.testing.assert_array_equal(single.data, batched.data[0])
    assert minigrad.gradcheck(_conv(case), x, w, b)


@pytest.mark.parametrize("case", CONV_CASES, ids=CASE_IDS)
def test_conv1d_matches_pytorch_values_and_gradients(rng, case):
    torch = pytest.importorskip("torch")
    _, stride, padding, dilation, groups, _ = case
    x, w, b = _conv_inputs(rng, case)
    out = _conv(case)(x, w, b)
    tensors = [torch.tensor(t.data, requires_grad=True) for t in (x, w, b) if t is not None]
    expected = torch.nn.functional.conv1d(*tensors[:2], tensors[2] if b is not None else None,
                                          stride=stride, padding=padding, dilation=dilation,
                                          groups=groups)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=0, atol=1e-12)
    r = rng.standard_normal(out.shape)
    (out * minigrad.tensor(r)).sum().backward()
    (expected * torch.tensor(r)).sum().backward()
    for ours, theirs in zip([t for t in (x, w, b) if t is not None], tensors):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv1d_module_loads_a_pytorch_state_dict_and_matches_it(rng, mode):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2,
                             padding_mode=mode).double()
    ours = nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, padding_mode=mode,
                     dtype=np.float64)
    state = {name: value.detach().numpy() for name, value in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
    x = leaf(rng, 3, 4, 9)
    x_torch = torch.tensor(x.data, requires_grad=True)
    out, expected = ours(x), theirs(x_torch)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=0, atol=1e-12)
    r = rng.standard_normal(out.shape)
    (out * minigrad.tensor(r)).sum().backward()
    (expected * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(x.grad, x_torch.grad.numpy(), rtol=0, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad, p.grad.numpy(), rtol=0, atol=1e-12)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_gradcheck(rng, mode):
    conv = nn.Conv1d(2, 3, 4, padding="same", padding_mode=mode, dtype=np.float64)
    x = leaf(rng, 2, 2, 6)
    assert conv(x).shape == (2, 3, 6)
    assert minigrad.gradcheck(conv, x)


def test_conv1d_module_parameters_init_and_repr():
    conv = nn.Conv1d(25, 50, 3, stride=2, padding=1, groups=5)
    assert [(n, p.shape) for n, p in conv.named_parameters()] == [
        ("weight", (50, 5, 3)), ("bias", (50,))]
    bound = 1 / np.sqrt(5 * 3)  # PyTorch: fan_in = in_channels / groups * kernel_size
    for p in conv.parameters():
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.9 * bound
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == ((3,), (2,), (1,),
                                                                           (1,))
    assert repr(conv) == "Conv1d(25, 50, kernel_size=(3,), stride=(2,), padding=(1,), groups=5)"
    assert repr(nn.Conv1d(1, 2, 4, padding="same", bias=False)) == \
        "Conv1d(1, 2, kernel_size=(4,), stride=(1,), padding=same, bias=False)"
    assert nn.Conv1d(1, 25, 5, stride=2, padding=1)(minigrad.zeros((100, 1, 40))).shape == \
        (100, 25, 19)


def test_conv1d_refuses_bad_shapes_and_options_naming_them():
    w = minigrad.zeros((4, 3, 3))
    cases = [
        (lambda: F.conv1d(minigrad.zeros((3,)), w), r"input has shape \(3,\), expected"),
        (lambda: F.conv1d(minigrad.zeros((1, 2, 3, 4)), w), r"input has shape \(1, 2, 3, 4\)"),
        (lambda: F.conv1d(minigrad.zeros((2, 5, 8)), w),
         r"input of shape \(2, 5, 8\) has 5 channels, but weight of shape \(4, 3, 3\)"),
        (lambda: F.conv1d(minigrad.zeros((2, 3, 2)), w), r"input of shape \(2, 3, 2\) padded"),
        (lambda: F.conv1d(minigrad.zeros((2, 3, 8)), minigrad.zeros((4, 3))),
         r"weight has shape \(4, 3\)"),
        (lambda: F.conv1d(minigrad.zeros((2, 3, 8)), w, minigrad.zeros(3)),
         r"bias has shape \(3,\), expected \(4,\)"),
        (lambda: F.conv1d(minigrad.zeros((2, 3, 8)), w, stride=2, padding="same"),
         "not supported for strided"),
        (lambda: F.conv1d(minigrad.zeros((2, 3, 8)), w, padding="full"), "'same' or 'valid'"),
        (lambda: F.conv1d(minigrad.zeros((2, 3, 8)), w, stride=0), "stride must be an int >= 1"),
        (lambda: nn.Conv1d(3, 4, 3, groups=2), "divisible by groups=2"),
        (lambda: nn.Conv1d(3, 4, 3, padding_mode="mirror"), "padding_mode must be one of"),
        (lambda: nn.Conv1d(3, 4, 3, padding=3, padding_mode="reflect")(minigrad.zeros((1, 3, 3))),
         r"at most 2 for an input of length 3 \(shape \(1, 3, 3\)\)"),
        (lambda: nn.Conv1d(3, 4, 0), "kernel_size must be an int >= 1"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(TypeError, match="floating-point"):
        F.conv1d(minigrad.tensor(np.zeros((1, 3, 8), dtype=np.int64)), w)


# ------------------------------------------------------------------------- unfold, fold
@pytest.mark.parametrize("kernel, dilation, padding, stride",
                         [(1, 1, 0, 1), (3, 1, 1, 1), (3, 2, (0, 2), 2), (4, 3, (2, 1), 3)])
def test_fold_is_the_adjoint_of_unfold(rng, kernel, dilation, padding, stride):
    """<unfold(x), r> = <x, fold(r)> for every x and r: fold is unfold's backward, and back."""
    x = rng.standard_normal((2, 3, 10))
    cols = unfold1d(minigrad.tensor(x), kernel, dilation, padding, stride).data  # (N, L, K C)
    r = rng.standard_normal(cols.shape)
    folded = fold1d(minigrad.tensor(r), 10, kernel, dilation, padding, stride).data
    assert np.isclose(np.sum(cols * r), np.sum(x * folded), rtol=1e-12)
    # Each entry is what it claims to be: x at l * stride + k * dilation - left, or 0.
    left = padding[0] if isinstance(padding, tuple) else padding
    windows = cols.reshape(2, cols.shape[1], kernel, 3)
    for l in range(cols.shape[1]):
        for k in range(kernel):
            at = l * stride + k * dilation - left
            expected = x[:, :, at] if 0 <= at < 10 else 0
            np.testing.assert_array_equal(windows[:, l, k, :], expected)
    assert minigrad.gradcheck(lambda t: unfold1d(t, kernel, dilation, padding, stride),
                              leaf(rng, 2, 3, 10))
    assert minigrad.gradcheck(lambda t: fold1d(t, 10, kernel, dilation, padding, stride),
                              leaf(rng, *cols.shape))


def test_unfold_and_fold_tangents_are_themselves(rng):
    """Both are linear: the jvp rule applies the operation to the tangent."""
    x, t = rng.standard_normal((2, 3, 9)), rng.standard_normal((2, 3, 9))
    window = dict(kernel_size=3, dilation=2, padding=(1, 1), stride=2)
    unfold = Unfold1d()
    cols = unfold.forward(x, **window)
    tangent = unfold.jvp(xp_numpy, [t], x, out=cols)
    np.testing.assert_array_equal(tangent, xp_numpy.unfold1d(t, 3, 2, (1, 1), 2))
    fold = Fold1d()
    r = rng.standard_normal(cols.shape)
    out = fold.forward(cols, 9, **window)
    np.testing.assert_array_equal(fold.jvp(xp_numpy, [r], cols, out=out),
                                  xp_numpy.fold1d(r, 9, 3, 2, (1, 1), 2))


# ------------------------------------------------------------------------- max pooling
POOL_CASES = [  # kernel_size, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 1, 1, 1, False), (3, 2, 1, 2, True), (4, 3, 2, 1, True),
    (1, 2, 0, 1, False), (3, 2, 0, 1, True),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool1d_gradients_against_finite_differences(rng, case):
    x = apart(rng, 2, 3, 10)  # distinct values: no ties, no kinks nearby
    assert minigrad.gradcheck(lambda t: F.max_pool1d(t, *case), x)


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool1d_matches_pytorch_with_indices_and_ties(rng, case):
    torch = pytest.importorskip("torch")
    values = rng.integers(-2, 3, (2, 3, 10)).astype(np.float64)  # many ties: first max wins
    x = minigrad.tensor(values, requires_grad=True)
    x_torch = torch.tensor(values, requires_grad=True)
    kernel, stride, padding, dilation, ceil_mode = case
    out, indices = F.max_pool1d(x, kernel, stride, padding, dilation, ceil_mode, True)
    expected, expected_indices = torch.nn.functional.max_pool1d(
        x_torch, kernel, stride, padding, dilation, ceil_mode, True)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_array_equal(indices.data, expected_indices.numpy())
    assert indices.dtype == np.int64
    r = rng.standard_normal(out.shape)
    (out * minigrad.tensor(r)).sum().backward()
    (expected * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(x.grad, x_torch.grad.numpy(), rtol=0, atol=1e-12)


def test_max_pool1d_unbatched_module_and_second_derivatives(rng):
    pool = nn.MaxPool1d(3, stride=2, padding=1)
    assert repr(pool) == "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, " \
                         "ceil_mode=False)"
    x = apart(rng, 3, 10)
    single = pool(x)
    np.testing.assert_array_equal(single.data, pool(x.unsqueeze(0)).data[0])
    out, indices = nn.MaxPool1d(3, return_indices=True)(x)
    assert out.shape == indices.shape == (3, 3)

    def squared_grad(t):
        (g,) = autograd.grad((pool(t) ** 2).sum(), [t], create_graph=True)
        return g

    assert minigrad.gradcheck(squared_grad, x)


def test_max_pool1d_refuses_bad_shapes_and_options():
    x = minigrad.zeros((1, 2, 5))
    with pytest.raises(ValueError, match="padding=2 must be at most half of kernel_size=3"):
        F.max_pool1d(x, 3, padding=2)
    with pytest.raises(ValueError, match="input of length 2 padded by 0 is shorter"):
        F.max_pool1d(minigrad.zeros((1, 2, 2)), 3)
    with pytest.raises(ValueError, match=r"input has shape \(5,\)"):
        F.max_pool1d(minigrad.zeros((5,)), 2)
    with pytest.raises(ValueError, match="kernel_size must be an int >= 1"):
        nn.MaxPool1d(0)


@pytest.mark.parametrize("case", [CONV_CASES[2], CONV_CASES[7]], ids=[CASE_IDS[2], CASE_IDS[7]])
def test_conv1d_tangent_against_finite_differences(rng, case):
    """The jvp rule: d out = conv(dx, W) + conv(x, dW) + db, against a central difference."""
    from minigrad.nn.conv import Convolution1d

    _, stride, padding, dilation, groups, _ = case
    x, w, b = (t.data for t in _conv_inputs(rng, case))
    dx, dw, db = (rng.standard_normal(a.shape) for a in (x, w, b))
    pad = (padding, padding)
    fn = Convolution1d()
    out = fn.forward(x, w, b, stride=stride, padding=pad, dilation=dilation, groups=groups)
    tangent = fn.jvp(xp_numpy, [dx, dw, db], x, w, b, out=out)

    def at(eps):
        return Convolution1d().forward(x + eps * dx, w + eps * dw, b + eps * db, stride=stride,
                                       padding=pad, dilation=dilation, groups=groups)

    np.testing.assert_allclose(tangent, (at(1e-6) - at(-1e-6)) / 2e-6, rtol=1e-6, atol=1e-7)
    only_x = fn.jvp(xp_numpy, [dx, None, None], x, w, b, out=out)
    np.testing.assert_allclose(only_x, F.conv1d(minigrad.tensor(dx), minigrad.tensor(w), None,
                                                stride, padding, dilation, groups).data,
                               rtol=1e-12, atol=1e-12)
