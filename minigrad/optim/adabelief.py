"""AdaBelief: Adam whose step size follows the belief in the observed gradient."""

import math

import numpy as np

from .backends import DEFAULT_BACKEND, prange
from .checks import check_betas, check_flag, check_number
from .optimizer import Optimizer


def adabelief(param, grad, exp_avg, exp_avg_var, max_exp_avg_var, *, lr, betas, eps,
              weight_decay, decoupled_weight_decay, step):
    """One AdaBelief step on one parameter, in place (1-D arrays; ``max_exp_avg_var``: AMSGrad).

    Zhuang et al., 2020, "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
    Gradients", Algorithm 2, as its reference implementation: Adam with v, the mean square of
    the gradient, replaced by s, the mean square of its deviation from the momentum m (how far
    the gradient is from what m predicted), plus eps. Weight decay is decoupled (the default)
    or L2; with AMSGrad (``max_exp_avg_var`` is None without it) the largest s so far is used::

        decoupled:  param = param * (1 - lr * weight_decay)
        else:       g = grad + weight_decay * param
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * (g - m)^2 + eps
        AMSGrad:    s_max = max(s_max, s), used below in place of s
        param = param - lr / (1 - beta1^t) * m / (sqrt(s) / sqrt(1 - beta2^t) + eps)

    The last line is computed as Adam's is (see :func:`minigrad.optim.adam.adam`), with one
    division per element: param = param - step_size * m / (sqrt(s) + eps_hat).
    """
    beta1, beta2 = betas
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    step_size = lr * bias_correction2_sqrt / bias_correction1
    eps_hat = eps * bias_correction2_sqrt
    decay, l2 = (1 - lr * weight_decay, 0.0) if decoupled_weight_decay else (1.0, weight_decay)
    # Python floats are float64: in the arrays' dtype a float32 loop stays float32 (and SIMD).
    real = param.dtype.type
    one_minus_beta1, one_minus_beta2 = real(1 - beta1), real(1 - beta2)
    beta1, beta2, eps = real(beta1), real(beta2), real(eps)
    step_size, eps_hat, decay, l2 = real(step_size), real(eps_hat), real(decay), real(l2)
    for i in prange(param.size):
        g = grad[i] + l2 * param[i]
        exp_avg[i] = beta1 * exp_avg[i] + one_minus_beta1 * g
        belief = g - exp_avg[i]
        exp_avg_var[i] = beta2 * exp_avg_var[i] + one_minus_beta2 * belief * belief + eps
        s = exp_avg_var[i]
        if max_exp_avg_var is not None:
            max_exp_avg_var[i] = np.maximum(max_exp_avg_var[i], s)
            s = max_exp_avg_var[i]
        param[i] = decay * param[i] - step_size * exp_avg[i] / (np.sqrt(s) + eps_hat)


class AdaBelief(Optimizer):
    """AdaBelief, with decoupled or L2 weight decay and optional AMSGrad (see :func:`adabelief`).

    Defaults are the reference implementation's (``adabelief-pytorch`` 0.2: eps=1e-16,
    decoupled weight decay). ``learning_rate`` is Keras' name for ``lr``.
    """

    update = staticmethod(adabelief)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                 decoupled_weight_decay=True, amsgrad=False, *, backend=DEFAULT_BACKEND,
                 learning_rate=None):
        super().__init__(params, dict(
            lr=lr if learning_rate is None else learning_rate, betas=betas, eps=eps,
            weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
            amsgrad=amsgrad, backend=backend))

    def _check_group(self, group):
        super()._check_group(group)
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
