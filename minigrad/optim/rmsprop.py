"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

import numpy as np

from .backends import DEFAULT_BACKEND, prange
from .checks import check_flag, check_number
from .optimizer import Optimizer


def rmsprop(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps, weight_decay,
            momentum):
    """One RMSprop step on one parameter, in place (1-D arrays).

    Tieleman & Hinton, 2012, "Lecture 6.5 - rmsprop"; the centered form (a ``grad_avg`` array,
    None otherwise) from Graves, 2013, "Generating Sequences With Recurrent Neural Networks"; in
    PyTorch's formulation (a ``momentum_buffer`` array when momentum > 0, else None)::

        g = grad + weight_decay * param
        v = alpha * v + (1 - alpha) * g^2
        centered:  a = alpha * a + (1 - alpha) * g,  denom = sqrt(v - a^2) + eps
        else:      denom = sqrt(v) + eps
        with momentum:  b = momentum * b + g / denom,  param = param - lr * b
        else:           param = param - lr * g / denom
    """
    # Python floats are float64: in the arrays' dtype a float32 loop stays float32 (and SIMD).
    real = param.dtype.type
    one_minus_alpha = real(1 - alpha)
    lr, alpha, eps = real(lr), real(alpha), real(eps)
    weight_decay, momentum = real(weight_decay), real(momentum)
    for i in prange(param.size):
        g = grad[i] + weight_decay * param[i]
        square_avg[i] = alpha * square_avg[i] + one_minus_alpha * g * g
        if grad_avg is not None:
            grad_avg[i] = alpha * grad_avg[i] + one_minus_alpha * g
            denom = np.sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps
        else:
            denom = np.sqrt(square_avg[i]) + eps
        if momentum_buffer is not None:
            momentum_buffer[i] = momentum * momentum_buffer[i] + g / denom
            param[i] -= lr * momentum_buffer[i]
        else:
            param[i] -= lr * g / denom


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum, as ``torch.optim.RMSprop``.

    The update is :func:`rmsprop`. ``learning_rate`` is Keras' name for ``lr``. Where Keras
    differs: its ``rho`` is ``alpha`` here (Keras' default 0.9, PyTorch's 0.99), its learning
    rate defaults to 1e-3 (1e-2 here), and it adds its ``epsilon`` (1e-7) inside the square root,
    where PyTorch adds ``eps`` (1e-8) outside.
    """

    update = staticmethod(rmsprop)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, backend=DEFAULT_BACKEND, learning_rate=None):
        super().__init__(params, dict(
            lr=lr if learning_rate is None else learning_rate, alpha=alpha, eps=eps,
            weight_decay=weight_decay, momentum=momentum, centered=centered, backend=backend))

    def _check_group(self, group):
        super()._check_group(group)
        check_number("RMSprop", "learning rate", group["lr"], lambda v: v >= 0, "lr >= 0")
        check_number("RMSprop", "alpha value", group["alpha"], lambda v: 0 <= v <= 1,
                     "0 <= alpha <= 1")
        check_number("RMSprop", "epsilon value", group["eps"], lambda v: v >= 0, "eps >= 0")
        check_number("RMSprop", "weight_decay value", group["weight_decay"], lambda v: v >= 0,
                     "weight_decay >= 0")
        check_number("RMSprop", "momentum value", group["momentum"], lambda v: v >= 0,
                     "momentum >= 0")
        check_flag("RMSprop", "centered", group["centered"])

    def _state_names(self, group):
        names = ("square_avg",)
        if group["centered"]:
            names += ("grad_avg",)
        if group["momentum"] != 0:
            names += ("momentum_buffer",)
        return names
