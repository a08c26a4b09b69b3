"""The two namespaces the derivative rules compute with offer the same functions."""

import types

from minigrad.ops import xp_numpy, xp_tensor


def _public_functions(module):
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and callable(value)
            and not isinstance(value, types.ModuleType | type)}


def test_xp_numpy_and_xp_tensor_name_the_same_functions():
    assert _public_functions(xp_numpy) == _public_functions(xp_tensor)
