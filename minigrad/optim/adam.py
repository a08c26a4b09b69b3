"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

import math

import numpy as np

from .backends import DEFAULT_BACKEND, prange
from .checks import check_betas, check_flag, check_number
from .optimizer import Optimizer


def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, betas, eps, weight_decay,
         decoupled_weight_decay, step):
    """One Adam step on one parameter, in place (1-D arrays; ``max_exp_avg_sq`` for AMSGrad).

    Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1, in PyTorch's
    formulation. Weight decay is L2 (added to the gradient) or, with ``decoupled_weight_decay``
    (AdamW: Loshchilov & Hutter, 2019, "Decoupled Weight Decay Regularization"), applied to the
    parameter itself. AMSGrad (Reddi et al., 2018, "On the Convergence of Adam and Beyond";
    ``max_exp_avg_sq`` is None without it) divides by the largest v seen so far::

        decoupled:  param = param * (1 - lr * weight_decay)
        else:       g = grad + weight_decay * param
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        AMSGrad:    v_max = max(v_max, v), used below in place of v
        param = param - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The last line is computed in the order the paper gives at the end of its section 2, with
    one division per element instead of two: param = param - step_size * m / (sqrt(v) + eps_hat),
    with step_size = lr * sqrt(1 - beta2^t) / (1 - beta1^t) and eps_hat = eps * sqrt(1 - beta2^t).
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
    beta1, beta2, step_size, eps_hat = real(beta1), real(beta2), real(step_size), real(eps_hat)
    decay, l2 = real(decay), real(l2)
    for i in prange(param.size):
        g = grad[i] + l2 * param[i]
        exp_avg[i] = beta1 * exp_avg[i] + one_minus_beta1 * g
        exp_avg_sq[i] = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g
        v = exp_avg_sq[i]
        if max_exp_avg_sq is not None:
            max_exp_avg_sq[i] = np.maximum(max_exp_avg_sq[i], v)
            v = max_exp_avg_sq[i]
        param[i] = decay * param[i] - step_size * exp_avg[i] / (np.sqrt(v) + eps_hat)


class Adam(Optimizer):
    """Adam (optionally AMSGrad, or with decoupled weight decay), as ``torch.optim.Adam``.

    The update is :func:`adam`. ``learning_rate`` is Keras' name for ``lr``; Keras' ``beta_1``
    and ``beta_2`` are ``betas=(beta_1, beta_2)`` here. Keras' ``epsilon`` (default 1e-7) is
    added to sqrt(v) before the bias correction, the paper's epsilon-hat: it equals
    ``eps * sqrt(1 - beta2^t)`` in PyTorch's terms, where ``eps`` (default 1e-8) is added after.
    """

    update = staticmethod(adam)
    _keys_added_later = ("decoupled_weight_decay",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, decoupled_weight_decay=False, backend=DEFAULT_BACKEND,
                 learning_rate=None):
        super().__init__(params, dict(
            lr=lr if learning_rate is None else learning_rate, betas=betas, eps=eps,
            weight_decay=weight_decay, amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay, backend=backend))

    def _check_group(self, group):
        super()._check_group(group)
        name = type(self).__name__
        check_number(name, "learning rate", group["lr"], lambda v: v >= 0, "lr >= 0")
        check_number(name, "epsilon value", group["eps"], lambda v: v >= 0, "eps >= 0")
        check_betas(name, group["betas"])
        check_number(name, "weight_decay value", group["weight_decay"], lambda v: v >= 0,
                     "weight_decay >= 0")
        check_flag(name, "amsgrad", group["amsgrad"])
        check_flag(name, "decoupled_weight_decay", group["decoupled_weight_decay"])

    def _state_names(self, group):
        names = ("exp_avg", "exp_avg_sq")
        return names + ("max_exp_avg_sq",) if group["amsgrad"] else names


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (see :func:`adam`).

    ``param *= 1 - lr * weight_decay``, then the Adam update without an L2 term. Keras' AdamW
    defaults to ``weight_decay=0.004``; PyTorch's (and this) to 0.01.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, backend=DEFAULT_BACKEND, learning_rate=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad,
                         decoupled_weight_decay=True, backend=backend,
                         learning_rate=learning_rate)
