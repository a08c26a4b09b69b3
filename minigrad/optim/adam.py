"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

import math

from .optimizer import Optimizer, check_betas, check_flag, check_number, resolve_lr


class Adam(Optimizer):
    """Adam (optionally AMSGrad), as ``torch.optim.Adam``.

    g += weight_decay*p; m = b1*m + (1 - b1)*g; v = b2*v + (1 - b2)*g^2; with amsgrad
    vmax = max(vmax, v) replaces v below; p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps).
    ``lr`` defaults to 1e-3 (``learning_rate`` is an alias).
    """

    decoupled = False  # AdamW: decay p itself rather than adding weight_decay*p to g
    default_weight_decay = 0.0

    def __init__(self, params, lr=None, betas=(0.9, 0.999), eps=1e-8, weight_decay=None,
                 amsgrad=False, *, backend=None, learning_rate=None):
        name = type(self).__name__
        lr = resolve_lr(name, lr, learning_rate, 1e-3)
        if weight_decay is None:
            weight_decay = self.default_weight_decay
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, backend=backend)
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        check_number(name, "learning rate", group["lr"], lambda v: v >= 0, "lr >= 0")
        check_number(name, "epsilon value", group["eps"], lambda v: v >= 0, "eps >= 0")
        check_betas(name, group["betas"])
        check_number(name, "weight_decay value", group["weight_decay"], lambda v: v >= 0,
                     "weight_decay >= 0")
        check_flag(name, "amsgrad", group["amsgrad"])

    def _state_names(self, group):
        names = ("exp_avg", "exp_avg_sq")
        return names + ("max_exp_avg_sq",) if group["amsgrad"] else names

    def _update(self, group, cast, step, params, grads, exp_avgs, exp_avg_sqs,
                max_exp_avg_sqs=None):
        lr, wd = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        decay, l2 = (1 - lr * wd, 0.0) if self.decoupled else (1.0, wd)
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        self._kernel(group, "adam")(
            params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs or exp_avg_sqs,
            bool(group["amsgrad"]), cast(decay), cast(l2),
            cast(lr * bias_correction2_sqrt / (1 - beta1**step)), cast(beta1), cast(1 - beta1),
            cast(beta2), cast(1 - beta2), cast(group["eps"] * bias_correction2_sqrt))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    p *= 1 - lr*weight_decay, then the Adam update without the L2 term. ``weight_decay``
    defaults to 1e-2.
    """

    decoupled = True
    default_weight_decay = 1e-2
