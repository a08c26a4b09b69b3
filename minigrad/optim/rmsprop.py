"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from .optimizer import Optimizer, check_flag, check_number, resolve_lr


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum, as ``torch.optim.RMSprop``.

    g += weight_decay*p; v = alpha*v + (1 - alpha)*g^2; centered: a = alpha*a + (1 - alpha)*g and
    denom = sqrt(v - a^2) + eps, else denom = sqrt(v) + eps; with momentum b = momentum*b +
    g/denom and p -= lr*b, without p -= lr*g/denom. ``lr`` defaults to 1e-2.
    """

    def __init__(self, params, lr=None, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, backend=None, learning_rate=None):
        lr = resolve_lr("RMSprop", lr, learning_rate, 1e-2)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, backend=backend)
        super().__init__(params, defaults)

    def _check_group(self, group):
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

    def _update(self, group, cast, step, params, grads, *states):
        states = dict(zip(self._state_names(group), states, strict=True))
        square_avgs = states["square_avg"]
        self._kernel(group, "rmsprop")(
            params, grads, square_avgs, states.get("grad_avg", square_avgs),
            states.get("momentum_buffer", square_avgs), bool(group["centered"]),
            cast(group["lr"]), cast(group["alpha"]), cast(1 - group["alpha"]), cast(group["eps"]),
            cast(group["weight_decay"]), cast(group["momentum"]))
