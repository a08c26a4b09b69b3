"""Lion: the sign of an interpolated momentum, found by program search (Chen et al., 2023)."""

from .optimizer import Optimizer, check_betas, check_number, resolve_lr


class Lion(Optimizer):
    """Lion (EvoLved Sign Momentum), from "Symbolic Discovery of Optimization Algorithms".

    p *= 1 - lr*wd; p -= lr*sign(b1*m + (1 - b1)*g); m = b2*m + (1 - b2)*g (sign(0) = 0).
    One state array per parameter, where Adam keeps two. ``lr`` defaults to 1e-4.
    """

    def __init__(self, params, lr=None, betas=(0.9, 0.99), weight_decay=0.0, *, backend=None,
                 learning_rate=None):
        lr = resolve_lr("Lion", lr, learning_rate, 1e-4)
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, backend=backend)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_number("Lion", "learning rate", group["lr"], lambda v: v >= 0, "lr >= 0")
        check_betas("Lion", group["betas"])
        check_number("Lion", "weight_decay value", group["weight_decay"], lambda v: v >= 0,
                     "weight_decay >= 0")

    def _state_names(self, group):
        return ("exp_avg",)

    def _update(self, group, cast, step, params, grads, exp_avgs):
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        self._kernel(group, "lion")(
            params, grads, exp_avgs, cast(1 - lr * group["weight_decay"]), cast(lr), cast(beta1),
            cast(1 - beta1), cast(beta2), cast(1 - beta2))
