"""AdaBelief: Adam whose step size follows the belief in the observed gradient."""

import math

from .optimizer import Optimizer, check_betas, check_flag, check_number, resolve_lr


class AdaBelief(Optimizer):
    """AdaBelief (Zhuang et al., 2020), with decoupled or L2 weight decay and optional AMSGrad.

    Decay first, p *= 1 - lr*wd (decoupled) or g += wd*p; m = b1*m + (1 - b1)*g;
    s = b2*s + (1 - b2)*(g - m)^2 + eps; with amsgrad smax = max(smax, s) replaces s below;
    p -= lr/(1 - b1^t) * m / (sqrt(s/(1 - b2^t)) + eps). ``lr`` defaults to 1e-3.
    """

    def __init__(self, params, lr=None, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                 decoupled_weight_decay=True, amsgrad=False, *, backend=None,
                 learning_rate=None):
        lr = resolve_lr("AdaBelief", lr, learning_rate, 1e-3)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, amsgrad=amsgrad,
                        backend=backend)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_number("AdaBelief", "learning rate", group["lr"], lambda v: v >= 0, "lr >= 0")
        check_number("AdaBelief", "epsilon value", group["eps"], lambda v: v >= 0, "eps >= 0")
        check_betas("AdaBelief", group["betas"])
        check_number("AdaBelief", "weight_decay value", group["weight_decay"],
                     lambda v: v >= 0, "weight_decay >= 0")
        check_flag("AdaBelief", "decoupled_weight_decay", group["decoupled_weight_decay"])
        check_flag("AdaBelief", "amsgrad", group["amsgrad"])

    def _state_names(self, group):
        names = ("exp_avg", "exp_avg_var")
        return names + ("max_exp_avg_var",) if group["amsgrad"] else names

    def _update(self, group, cast, step, params, grads, exp_avgs, exp_avg_vars,
                max_exp_avg_vars=None):
        lr, wd = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        decay, l2 = (1 - lr * wd, 0.0) if group["decoupled_weight_decay"] else (1.0, wd)
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        self._kernel(group, "adabelief")(
            params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars or exp_avg_vars,
            bool(group["amsgrad"]), cast(decay), cast(l2),
            cast(lr * bias_correction2_sqrt / (1 - beta1**step)), cast(beta1), cast(1 - beta1),
            cast(beta2), cast(1 - beta2), cast(group["eps"]),
            cast(group["eps"] * bias_correction2_sqrt))
