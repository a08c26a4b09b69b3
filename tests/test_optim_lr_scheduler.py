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
