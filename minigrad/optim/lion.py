"""Lion: the sign of an interpolated momentum, found by program search (Chen et al., 2023)."""

import numpy as np

from .backends import DEFAULT_BACKEND, prange
from .checks import check_betas, check_number
from .optimizer import Optimizer


def lion(param, grad, exp_avg, *, lr, betas, weight_decay):
    """One Lion step on one parameter, in place (1-D arrays).

    Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms", Program 1 (sign(0) = 0)::

        param = param * (1 - lr * weight_decay) - lr * sign(beta1 * m + (1 - beta1) * grad)
        m = beta2 * m + (1 - beta2) * grad
    """
    beta1, beta2 = betas
    # Python floats are float64: in the arrays' dtype a float32 loop stays float32 (and SIMD).
    real = param.dtype.type
    decay = real(1 - lr * weight_decay)
    one_minus_beta1, one_minus_beta2 = real(1 - beta1), real(1 - beta2)
    lr, beta1, beta2 = real(lr), real(beta1), real(beta2)
    for i in prange(param.size):
        update = np.sign(beta1 * exp_avg[i] + one_minus_beta1 * grad[i])
        param[i] = decay * param[i] - lr * update
        exp_avg[i] = beta2 * exp_avg[i] + one_minus_beta2 * grad[i]


class Lion(Optimizer):
    """Lion (EvoLved Sign Momentum): one state array per parameter, where Adam keeps two.

    The update is :func:`lion`. ``lr`` defaults to 1e-4, the paper's advice being 3-10x below
    AdamW's (Keras defaults to 1e-3); ``learning_rate`` is Keras' name for ``lr``, and Keras'
    ``beta_1`` and ``beta_2`` are ``betas=(beta_1, beta_2)`` here.
    """

    update = staticmethod(lion)

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *,
                 backend=DEFAULT_BACKEND, learning_rate=None):
        super().__init__(params, dict(
            lr=lr if learning_rate is None else learning_rate, betas=betas,
            weight_decay=weight_decay, backend=backend))

    def _check_group(self, group):
        super()._check_group(group)
        check_number("Lion", "learning rate", group["lr"], lambda v: v >= 0, "lr >= 0")
        check_betas("Lion", group["betas"])
        check_number("Lion", "weight_decay value", group["weight_decay"], lambda v: v >= 0,
                     "weight_decay >= 0")
