"""Matrix multiplication with NumPy's matmul semantics."""

import numpy as np
import pytest
from helpers import leaf

import minigrad
from minigrad import gradcheck

SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
]


@pytest.mark.parametrize("shape_a,shape_b", SHAPES, ids=str)
def test_matmul_matches_numpy_and_gradchecks(rng, shape_a, shape_b):
    a, b = leaf(rng, *shape_a), leaf(rng, *shape_b)
    np.testing.assert_allclose((a @ b).data, np.matmul(a.data, b.data), rtol=1e-12)
    assert gradcheck(lambda x, y: x @ y, a, b)


def test_matmul_with_a_constant_array_on_either_side(rng):
    a = leaf(rng, 3, 4)
    m = rng.standard_normal((4, 2))
    assert gradcheck(lambda x: x @ m, a)
    assert gradcheck(lambda x: m.T @ x.T, a)


def test_matmul_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 6\) are not aligned "
                                         r"\(4 != 5\)"):
        minigrad.ones(3, 4) @ minigrad.ones(5, 6)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        minigrad.ones(3) @ minigrad.tensor(2.0)
    with pytest.raises(ValueError, match="batch shapes"):
        minigrad.ones(2, 3, 4) @ minigrad.ones(3, 4, 5)
