"""SGD: stochastic gradient descent, with momentum, dampening, Nesterov momentum, weight decay."""

from .backends import DEFAULT_BACKEND, prange
from .checks import check_flag, check_number
from .optimizer import Optimizer


def sgd(param, grad, momentum_buffer, *, lr, momentum, dampening, weight_decay, nesterov, step):
    """One SGD step on one parameter, in place (1-D arrays; no momentum buffer without momentum).

    Robbins & Monro, 1951, "A Stochastic Approximation Method"; momentum and Nesterov momentum
    as in Sutskever et al., 2013, "On the importance of initialization and momentum in deep
    learning", in PyTorch's formulation::

        g = grad + weight_decay * param
        with momentum:  b = g on the first step, then b = momentum * b + (1 - dampening) * g
                        g = g + momentum * b  (Nesterov)  or  g = b
        param = param - lr * g
    """
    # Python floats are float64: in the arrays' dtype a float32 loop stays float32 (and SIMD).
    real = param.dtype.type
    one_minus_dampening = real(1 - dampening)
    lr, momentum, weight_decay = real(lr), real(momentum), real(weight_decay)
    for i in prange(param.size):
        g = grad[i] + weight_decay * param[i]
        if momentum_buffer is not None:
            if step == 1:
                momentum_buffer[i] = g
            else:
                momentum_buffer[i] = momentum * momentum_buffer[i] + one_minus_dampening * g
            if nesterov:
                g = g + momentum * momentum_buffer[i]
            else:
                g = momentum_buffer[i]
        param[i] -= lr * g


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, as ``torch.optim.SGD``.

    The update is :func:`sgd`. ``learning_rate`` is Keras' name for ``lr``. Keras' SGD defaults to
    a learning rate of 0.01, and its momentum buffer holds ``-lr * b`` (the same steps while lr
    is constant).
    """

    update = staticmethod(sgd)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, backend=DEFAULT_BACKEND, learning_rate=None):
        super().__init__(params, dict(
            lr=lr if learning_rate is None else learning_rate, momentum=momentum,
            dampening=dampening, weight_decay=weight_decay, nesterov=nesterov, backend=backend))

    def _check_group(self, group):
        super()._check_group(group)
        check_number("SGD", "learning rate", group["lr"], lambda v: v >= 0, "lr >= 0")
        check_number("SGD", "momentum value", group["momentum"], lambda v: v >= 0,
                     "momentum >= 0")
        check_number("SGD", "dampening value", group["dampening"], lambda v: True, "a number")
        check_number("SGD", "weight_decay value", group["weight_decay"], lambda v: v >= 0,
                     "weight_decay >= 0")
        check_flag("SGD", "nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={group['momentum']}, "
                             f"dampening={group['dampening']})")

    def _state_names(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0 else ()
