"""Shared fixtures: every test starts from the same seed and the default dtype."""

import numpy as np
import pytest

import minigrad


@pytest.fixture(autouse=True)
def _seed_and_default_dtype():
    minigrad.manual_seed(0)
    minigrad.set_default_dtype(np.float32)
    yield
    minigrad.set_default_dtype(np.float32)


@pytest.fixture
def rng():
    """A NumPy generator for test data, independent of minigrad's own."""
    return np.random.default_rng(1234)
