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
