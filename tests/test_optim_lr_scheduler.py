"""Schedulers against their formulas, on a plain optimizer and on Lookahead."""

import math

import numpy as np
import pytest
from optim_helpers import make_params

from minigrad import optim
from minigrad.optim import lr_scheduler

BASE = 0.1
FORMULAS = [
    (lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), lambda e: BASE * 0.5 ** (e // 3)),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), lambda e: BASE * 0.9**e),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
     lambda e: 0.01 + (BASE - 0.01) * (1 + math.cos(math.pi * e / 10)) / 2),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
     lambda e: BASE * (0.25 + 0.75 * min(e, 4) / 4)),
    (lambda o: lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e)), lambda e: BASE / (1 + e)),
]


@pytest.mark.parametrize("lookahead", [False, True])
@pytest.mark.parametrize("make, formula", FORMULAS)
def test_scheduler_follows_formula(make, formula, lookahead, rng):
    params = make_params(rng)
    opt = optim.SGD(params, lr=BASE)
    if lookahead:
        opt = optim.Lookahead(opt)
    scheduler = make(opt)
    for epoch in range(15):
        assert scheduler.get_last_lr() == pytest.approx([formula(epoch)], rel=1e-12)
        assert opt.param_groups[0]["lr"] == pytest.approx(formula(epoch), rel=1e-12)
        for p in params:
            p.grad = np.ones(p.shape)
        opt.step()
        scheduler.step()


def test_scheduler_changes_the_update_and_resumes(rng):
    params = make_params(rng)
    opt = optim.SGD(params, lr=1.0)
    scheduler = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    start = params[0].data.copy()
    for _ in range(2):
        params[0].grad = np.ones(params[0].shape)
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(params[0].data, start - 1.5)
    fresh = lr_scheduler.StepLR(optim.SGD(make_params(rng), lr=1.0), step_size=1, gamma=0.5)
    fresh.load_state_dict(scheduler.state_dict())
    assert fresh.last_epoch == 2 and fresh.get_last_lr() == [0.25]


def test_scheduler_validation(rng):
    opt = optim.SGD(make_params(rng), lr=0.1)
    with pytest.raises(ValueError, match="invalid step_size: 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="invalid T_max: 0"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="invalid start_factor: 0"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(TypeError, match="must be callable"):
        lr_scheduler.LambdaLR(opt, 3)


def _lrs(optimizer, schedulers, epochs):
    """The first group's lr at each epoch while ``schedulers`` all step once per epoch."""
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_two_schedulers_chain_as_in_pytorch(rng):
    """Each multiplies the current lr: a linear warm-up times an exponential decay."""
    opt = optim.SGD(make_params(rng), lr=BASE)
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=4)
    decay = lr_scheduler.ExponentialLR(opt, gamma=0.9)
    lrs = _lrs(opt, [warmup, decay], 12)
    expected = [BASE * (0.25 + 0.75 * min(e, 4) / 4) * 0.9**e for e in range(12)]
    assert lrs == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
@pytest.mark.parametrize("make", [
    lambda o, s: [s.StepLR(o, step_size=3, gamma=0.5),
                  s.CosineAnnealingLR(o, T_max=7, eta_min=0.001)],
    lambda o, s: [s.CosineAnnealingLR(o, T_max=5),
                  s.LinearLR(o, start_factor=0.5, end_factor=0.9, total_iters=6)],
    lambda o, s: [s.ExponentialLR(o, gamma=0.8), s.StepLR(o, step_size=2)],
])
def test_chained_schedulers_match_pytorch(make, rng):
    torch = pytest.importorskip("torch")
    opt = optim.SGD(make_params(rng), lr=BASE)
    t_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=BASE)
    lrs = _lrs(opt, make(opt, lr_scheduler), 20)
    t_lrs = _lrs(t_opt, make(t_opt, torch.optim.lr_scheduler), 20)
    assert lrs == pytest.approx(t_lrs, rel=1e-12)


def test_a_group_added_after_a_chainable_scheduler_is_scheduled(rng):
    params = make_params(rng)
    opt = optim.SGD(params[:2], lr=BASE)
    scheduler = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    scheduler.step()
    opt.add_param_group({"params": params[2:], "lr": 1.0})
    lrs = []
    for _ in range(4):
        scheduler.step()
        lrs.append([group["lr"] for group in opt.param_groups])
    np.testing.assert_allclose(lrs, [[0.05, 0.5], [0.05, 0.5], [0.025, 0.25], [0.025, 0.25]],
                               rtol=1e-12)


def test_a_group_added_after_lambda_lr_is_scheduled_from_its_lr(rng):
    params = make_params(rng)
    opt = optim.SGD(params[:2], lr=BASE)
    scheduler = lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)  # one function, for every group
    scheduler.step()
    opt.add_param_group({"params": params[2:], "lr": 1.0})
    scheduler.step()
    scheduler.step()
    assert [group["lr"] for group in opt.param_groups] == pytest.approx([0.0125, 0.125])
    assert opt.param_groups[1]["initial_lr"] == 1.0


def test_one_lambda_per_group_refuses_a_group_added_later(rng):
    params = make_params(rng)
    opt = optim.SGD(params[:2], lr=BASE)
    scheduler = lr_scheduler.LambdaLR(opt, [lambda e: 0.5**e])
    opt.add_param_group({"params": params[2:]})
    with pytest.raises(ValueError, match="1 lr_lambdas for 2 param groups"):
        scheduler.step()
