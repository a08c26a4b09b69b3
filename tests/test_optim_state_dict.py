"""state_dict / load_state_dict: a resumed run continues bit-for-bit."""

import numpy as np
import pytest
from optim_helpers import CASES, SHAPES, build, make_grads, make_params, run

import minigrad
from minigrad import optim


def _plain(obj):
    """A deep copy as plain dicts and lists of arrays (what a checkpoint round trip gives)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj.copy() if isinstance(obj, np.ndarray) else obj


@pytest.mark.parametrize("name, config", CASES)
def test_resume_is_bit_for_bit(name, config, rng):
    grads = make_grads(rng, SHAPES, 20)
    params = make_params(np.random.default_rng(0))
    straight = build(name, params, config)
    run(straight, params, grads)

    params2 = make_params(np.random.default_rng(0))
    first = build(name, params2, config)
    run(first, params2, grads[:10])
    saved = _plain(first.state_dict())
    saved_data = [p.data.copy() for p in params2]
    run(first, params2, grads[10:11])  # the saved dict must not follow the live state

    params3 = [minigrad.Tensor(d, requires_grad=True) for d in saved_data]
    resumed = build(name, params3, {})
    resumed.load_state_dict(saved)
    run(resumed, params3, grads[10:])
    for a, b in zip(params, params3, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_format_and_save_round_trip(tmp_path, rng):
    params = make_params(rng)
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}])
    run(opt, params, make_grads(rng, SHAPES, 2))
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1, 2]]
    assert state["state"][1]["step"] == 2
    assert state["state"][2]["exp_avg"].shape == SHAPES[2]
    minigrad.save(state, tmp_path / "opt.npz")
    loaded = minigrad.load(tmp_path / "opt.npz")
    fresh = optim.Adam([{"params": params[:1]}, {"params": params[1:]}])
    fresh.load_state_dict(loaded)
    assert fresh.param_groups[1]["lr"] == 0.5
    assert fresh.param_groups[1]["betas"] == (0.9, 0.999)
    np.testing.assert_array_equal(fresh.state[params[0]]["exp_avg_sq"],
                                  opt.state[params[0]]["exp_avg_sq"])


def test_load_rejects_mismatched_groups(rng):
    params = make_params(rng)
    opt = optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0]}]})


def _trained(name, config, rng, steps=3):
    """An optimizer over fresh parameters after a few steps."""
    params = make_params(rng)
    opt = build(name, params, config)
    run(opt, params, make_grads(rng, SHAPES, steps))
    return params, opt


def _bad_dicts(name, good):
    """(description, bad state dict, error type, message) for optimizer ``name``."""
    def edited(edit):
        bad = _plain(good)
        edit(bad)
        return bad

    def set_group(key, value):
        return lambda d: d["param_groups"][0].__setitem__(key, value)

    def set_state(index, key, value):
        return lambda d: d["state"][index].__setitem__(key, value)

    def drop_state(index, key):
        return lambda d: d["state"][index].pop(key)

    cases = [
        ("not a dict", [good], TypeError, "a state dict must be a dict"),
        ("no state", {"param_groups": good["param_groups"]}, ValueError, "has no 'state'"),
        ("negative lr", edited(set_group("lr", -0.1)), ValueError, "invalid learning rate: -0.1"),
        ("lr of a wrong type", edited(set_group("lr", "fast")), TypeError,
         "learning rate must be a real number"),
        ("missing step", edited(drop_state(1, "step")), ValueError,
         r"loaded state of parameter 1 has keys .* expected"),
        ("negative step", edited(set_state(1, "step", -2)), ValueError, "invalid 'step': -2"),
        ("fractional step", edited(set_state(1, "step", 2.5)), ValueError, "invalid 'step': 2.5"),
        ("step of a wrong type", edited(set_state(1, "step", "2")), TypeError,
         "'step' must be a number"),
        ("state keyed by name", edited(lambda d: d["state"].__setitem__("w", {})), TypeError,
         "keyed by parameter index"),
        ("state of an unknown parameter", edited(lambda d: d["state"].__setitem__(7, {})),
         ValueError, "entry for parameter 7"),
        ("params as names", edited(set_group("params", ["a", "b", "c"])), TypeError,
         "list its parameters as indices"),
        ("a parameter twice", edited(set_group("params", [0, 1, 1])), ValueError,
         "list parameter 1 twice"),
    ]
    array_keys = [k for k in good["state"][1] if k != "step"]
    if array_keys:
        key = array_keys[0]
        cases += [
            ("array of another shape", edited(set_state(1, key, np.zeros((3, 7)))), ValueError,
             rf"{key!r} has shape \(3, 7\), its parameter \(7,\)"),
            ("array as a list", edited(set_state(1, key, [0.0] * 7)), TypeError,
             f"{key!r} must be an ndarray, got list"),
            ("array of strings", edited(set_state(1, key, np.array(["a"] * 7))), TypeError,
             f"{key!r} must hold numbers"),
            ("missing array", edited(drop_state(2, key)), ValueError,
             r"state of parameter 2 has keys"),
        ]
    if "betas" in good["param_groups"][0]:
        cases += [("betas of length 3", edited(set_group("betas", [0.9, 0.99, 0.999])),
                   ValueError, "betas must be a pair"),
                  ("beta out of range", edited(set_group("betas", [0.9, 1.5])), ValueError,
                   "invalid beta parameter at index 1: 1.5")]
    return cases


@pytest.mark.parametrize("name, config", [("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("Adam", dict(lr=0.01, amsgrad=True)),
                                          ("RMSprop", dict(centered=True))])
def test_a_bad_state_dict_raises_and_changes_nothing(name, config, rng):
    params, opt = _trained(name, config, rng)
    good = opt.state_dict()
    other_params, other = _trained(name, dict(config, lr=0.5), np.random.default_rng(9), 5)
    new = other.state_dict()  # different values everywhere: a half-applied load would show
    for description, bad, error, message in _bad_dicts(name, new):
        with pytest.raises(error, match=message):
            opt.load_state_dict(bad)
        after = opt.state_dict()
        assert after["param_groups"] == good["param_groups"], description
        assert after["state"].keys() == good["state"].keys(), description
        for i, state in good["state"].items():
            for key, value in state.items():
                np.testing.assert_array_equal(after["state"][i][key], value, err_msg=description)
    opt.load_state_dict(new)  # and the good one loads
    assert opt.state_dict()["param_groups"][0]["lr"] == 0.5


@pytest.mark.parametrize("source, target", [
    (("Adam", {}), ("SGD", dict(momentum=0.9))),
    (("SGD", dict(momentum=0.9)), ("Adam", {})),
    (("Adam", {}), ("AdaBelief", {})),
])
def test_another_algorithms_state_is_refused(source, target, rng):
    _, donor = _trained(source[0], dict(source[1], lr=0.1), rng)
    params, opt = _trained(target[0], dict(target[1], lr=0.1), rng)
    good = opt.state_dict()
    with pytest.raises(ValueError, match="another optimizer's"):
        opt.load_state_dict(donor.state_dict())
    assert opt.state_dict()["param_groups"] == good["param_groups"]


def test_an_older_adam_checkpoint_without_decoupled_weight_decay_loads(rng):
    params, opt = _trained("AdamW", dict(lr=0.1), rng)
    saved = opt.state_dict()
    del saved["param_groups"][0]["decoupled_weight_decay"]
    fresh = optim.AdamW(params)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["decoupled_weight_decay"] is True
