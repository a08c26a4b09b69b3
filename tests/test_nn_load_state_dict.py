"""Module.load_state_dict: everything is checked before anything is written.

A failed load must leave every parameter bit for bit as it was (same array object, same bytes,
same version), whichever entry is bad and wherever it sits in the dict.
"""

import numpy as np
import pytest

import minigrad
from minigrad import nn


def _model():
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3), nn.Linear(3, 2))
    model[0].weight.data[0, 0] = np.nan  # bit-level comparison, not ==
    return model


def _snapshot(model):
    return {name: (p.data, p.data.tobytes(), p.data.dtype, p._version)
            for name, p in model.named_parameters()}


def _assert_unchanged(model, snapshot):
    now = _snapshot(model)
    assert list(now) == list(snapshot)
    for name, (array, data, dtype, version) in snapshot.items():
        assert now[name][0] is array, f"{name}: array replaced"
        assert now[name][1] == data, f"{name}: values changed"
        assert now[name][2:] == (dtype, version), name


def _last(state):
    return list(state)[-1]


BAD_STATES = {
    "wrong shape": lambda s: s.update({_last(s): np.zeros((5, 5), np.float32)}),
    "integer dtype": lambda s: s.update({_last(s): np.zeros(2, np.int32)}),
    "float64 dtype": lambda s: s.update({_last(s): np.zeros(2, np.float64)}),
    "complex dtype": lambda s: s.update({_last(s): np.zeros(2, np.complex64)}),
    "object dtype": lambda s: s.update({_last(s): np.array([None, None])}),
    "list value": lambda s: s.update({_last(s): [0.0, 0.0]}),
    "None value": lambda s: s.update({_last(s): None}),
    "numpy scalar": lambda s: s.update({_last(s): np.float32(0)}),
    "tensor of wrong shape": lambda s: s.update({_last(s): minigrad.zeros(3)}),
    "missing key": lambda s: s.pop(_last(s)),
    "unexpected key": lambda s: s.update({"3.extra": np.zeros(2, np.float32)}),
}


@pytest.mark.parametrize("kind", BAD_STATES)
def test_a_failed_load_changes_nothing(kind):
    model = _model()
    state = {name: array + 1 for name, array in _model().state_dict().items()}
    BAD_STATES[kind](state)
    snapshot = _snapshot(model)
    with pytest.raises((ValueError, TypeError), match="load_state_dict"):
        model.load_state_dict(state)
    _assert_unchanged(model, snapshot)


def test_a_read_only_parameter_fails_the_load_before_anything_is_written():
    model = _model()
    model[3].bias.data.setflags(write=False)
    snapshot = _snapshot(model)
    state = {name: array + 1 for name, array in model.state_dict().items()}
    with pytest.raises(ValueError, match="'3.bias'.*read-only"):
        model.load_state_dict(state)
    _assert_unchanged(model, snapshot)


def test_values_that_are_views_of_the_parameters_load_as_they_were_before_the_load():
    model = _model()
    first, second = model[0].weight.data.copy(), model[2].weight.data.copy()
    state = model.state_dict()
    state["0.weight"], state["2.weight"] = model[2].weight.data, model[0].weight.data  # swap
    model.load_state_dict(state)
    np.testing.assert_array_equal(model[0].weight.data, second)
    np.testing.assert_array_equal(model[2].weight.data, first)


def test_a_load_bumps_the_version_of_every_parameter_it_writes():
    model = _model()
    before = {name: p._version for name, p in model.named_parameters()}
    state = _model().state_dict()
    del state["3.bias"]
    model.load_state_dict(state, strict=False)
    after = {name: p._version for name, p in model.named_parameters()}
    assert after == {name: v + (name != "3.bias") for name, v in before.items()}


def test_non_strict_load_applies_the_good_entries_and_returns_the_incompatible_keys():
    model = _model()
    state = {name: array + 1 for name, array in _model().state_dict().items()}
    expected = {name: array.copy() for name, array in state.items()}
    del state["3.bias"]
    state["extra"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result == nn.module.IncompatibleKeys(["3.bias"], ["extra"])
    assert result.missing_keys == ["3.bias"] and result.unexpected_keys == ["extra"]
    for name, param in model.named_parameters():
        if name != "3.bias":
            assert param.data.tobytes() == expected[name].tobytes(), name
