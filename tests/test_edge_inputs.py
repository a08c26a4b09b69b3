"""Every operation on the inputs outside test suites try first: 0-d, empty and non-contiguous."""

import numpy as np
import pytest
from op_cases import CASES

import minigrad
from minigrad import ops

UNARY = {
    "neg": lambda t: -t, "exp": lambda t: t.exp(), "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(), "relu": lambda t: t.relu(), "abs": lambda t: t.abs(),
    "square": lambda t: t ** 2, "sum": lambda t: t.sum(), "mean_axis": lambda t: t.mean(axis=-1),
    "softmax": lambda t: t.softmax(axis=-1), "log_softmax": lambda t: t.log_softmax(axis=-1),
    "logsumexp": lambda t: t.logsumexp(axis=-1), "reshape": lambda t: t.reshape(-1),
    "transpose": lambda t: t.T, "getitem": lambda t: t[..., :1],
    "clip": lambda t: t.clip(-0.5, 0.5),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_empty_tensors_give_empty_results_and_gradients(name):
    x = minigrad.zeros(0, 3, dtype="float64", requires_grad=True)
    out = UNARY[name](x)
    assert out.size == 0 or name in ("sum",)
    (out.sum() if out.ndim else out).backward()
    assert x.grad.shape == (0, 3) and x.grad.size == 0


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"getitem", "transpose"}))
def test_zero_d_tensors_work_and_gradcheck(name):
    x = minigrad.tensor(0.3, dtype="float64", requires_grad=True)
    assert minigrad.gradcheck(UNARY[name], x)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_non_contiguous_arrays_give_the_same_values_and_gradients(case, rng):
    arrays = case.make(rng)
    contiguous = [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    strided = []
    for a in arrays:
        # The same values, in an array with other strides (a transposed copy, transposed back).
        view = np.asfortranarray(a) if a.ndim > 1 else np.repeat(a, 2)[::2]
        t = minigrad.Tensor._constant(view)
        t.requires_grad = True
        strided.append(t)
    out_c, out_s = case.fn(*contiguous), case.fn(*strided)
    np.testing.assert_allclose(out_s.data, out_c.data, rtol=1e-14)  # sums may round apart
    cotangent = rng.standard_normal(out_c.shape)
    out_c.backward(cotangent)
    out_s.backward(cotangent)
    for c, s in zip(contiguous, strided):
        np.testing.assert_allclose(s.grad, c.grad, rtol=1e-14, atol=1e-15)


def test_reductions_over_an_empty_axis_follow_numpy_or_refuse_clearly():
    x = minigrad.zeros(2, 0)
    assert x.sum(axis=1).tolist() == [0.0, 0.0]
    assert x.logsumexp(axis=1).tolist() == [-np.inf, -np.inf]
    with pytest.raises(ValueError, match="max: cannot reduce an empty axis"):
        x.max(axis=1)
    assert ops.concatenate([x, minigrad.zeros(2, 3)], axis=1).shape == (2, 3)
