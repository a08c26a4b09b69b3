"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from .optimizer import Optimizer, check_flag, check_number, resolve_lr


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    g += weight_decay*p; with momentum b = g on the first step, then
    b = momentum*b + (1 - dampening)*g, and g = g + momentum*b (nesterov) or b; p -= lr*g.
    ``lr`` defaults to 1e-3 (``learning_rate`` is an alias).
    """

    def __init__(self, params, lr=None, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, backend=None, learning_rate=None):
        lr = resolve_lr("SGD", lr, learning_rate, 1e-3)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, backend=backend)
        super().__init__(params, defaults)

    def _check_group(self, group):
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

    def _update(self, group, cast, step, params, grads, *states):
        buffers = states[0] if states else grads  # unused by the kernel without momentum
        self._kernel(group, "sgd")(
            params, grads, buffers, step == 1, cast(group["lr"]), cast(group["weight_decay"]),
            cast(group["momentum"]), cast(1 - group["dampening"]), bool(group["nesterov"]))
