"""minigrad.data.mnist1d: shapes and dtypes, determinism, side effects, and the missing package."""

import random
import sys

import numpy as np
import pytest

from minigrad import data

SMALL = {"num_samples": 500}  # 400 training and 100 test series: quick to generate


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d", None)  # `import mnist1d` now raises
    with pytest.raises(ImportError) as caught:
        data.mnist1d()
    message = str(caught.value)
    assert "\n" not in message
    assert "pip install mnist1d" in message and ".[datasets]" in message


@pytest.fixture(scope="module")
def reference():
    pytest.importorskip("mnist1d")
    return data.mnist1d()


def test_default_split_shapes_and_dtypes(reference):
    (x, y), (x_test, y_test) = reference
    assert x.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert y.shape == (4000,) and y_test.shape == (1000,)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10)) == set(np.unique(y_test))
    everything = np.concatenate([x, x_test])
    assert abs(everything.mean()) < 1e-3 and abs(everything.std() - 1) < 1e-2  # standardised


def test_the_data_is_the_packages_own_for_its_default_seed():
    """Seed 42 is the package's default: the result is make_dataset's, cast to float32."""
    package = pytest.importorskip("mnist1d")
    from mnist1d.data import make_dataset

    args = package.get_dataset_args()
    args.num_samples = SMALL["num_samples"]
    expected = make_dataset(args)
    (x, y), (x_test, y_test) = data.mnist1d(**SMALL)
    np.testing.assert_array_equal(x, expected["x"].astype(np.float32))
    np.testing.assert_array_equal(y, expected["y"])
    np.testing.assert_array_equal(x_test, expected["x_test"].astype(np.float32))
    np.testing.assert_array_equal(y_test, expected["y_test"])


def test_deterministic_for_a_seed_and_different_across_seeds():
    pytest.importorskip("mnist1d")
    (a, a_y), (a_test, _) = data.mnist1d(seed=3, **SMALL)
    (b, b_y), (b_test, _) = data.mnist1d(seed=3, **SMALL)
    (c, _), _ = data.mnist1d(seed=4, **SMALL)
    assert a.shape == (400, 40) and a_test.shape == (100, 40)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a_y, b_y)
    np.testing.assert_array_equal(a_test, b_test)
    assert not np.allclose(a, c)


def test_the_callers_global_generators_are_left_alone():
    pytest.importorskip("mnist1d")
    np.random.seed(7)
    random.seed(7)
    expected = (np.random.rand(), random.random())
    np.random.seed(7)
    random.seed(7)
    data.mnist1d(**SMALL)
    assert (np.random.rand(), random.random()) == expected


def test_bad_options_and_seeds_are_refused():
    pytest.importorskip("mnist1d")
    with pytest.raises(ValueError, match=r"unknown options \['samples'\].*num_samples"):
        data.mnist1d(samples=10)
    for seed in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed must be an int >= 0"):
            data.mnist1d(seed=seed, **SMALL)
