"""Lookahead: k fast steps of any optimizer, then one step back toward slow weights."""

import numbers

from .backends import build, prange, update_in_place
from .checks import check_int, check_number
from .optimizer import Optimizer
from .state_dict import loaded_array, plain_number


def lookahead(param, slow_param, *, alpha):
    """Lookahead's synchronisation of one parameter's fast and slow weights, in place (1-D).

    Zhang et al., 2019, "Lookahead Optimizer: k steps forward, 1 step back", Algorithm 1::

        slow = slow + alpha * (fast - slow)
        fast = slow
    """
    # Python floats are float64: in the arrays' dtype a float32 loop stays float32 (and SIMD).
    alpha = param.dtype.type(alpha)
    for i in prange(param.size):
        slow_param[i] += alpha * (param[i] - slow_param[i])
        param[i] = slow_param[i]


class Lookahead:
    """Lookahead (Zhang et al., 2019) wrapped around any minigrad optimizer.

    A parameter's slow weights are a copy of its weights as they are when the wrapper first
    steps (or as loaded from a state dict), so weights loaded after the optimizer was made are
    the starting point. After every ``k``-th step of the inner optimizer, :func:`lookahead`
    moves the slow weights toward the fast ones and the fast weights onto them.
    ``param_groups`` and ``state`` are the inner optimizer's, so schedulers and gradient
    clipping work through the wrapper.
    """

    def __init__(self, optimizer, k=5, alpha=0.5):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Lookahead: optimizer must be a minigrad Optimizer, got "
                            f"{type(optimizer).__name__}")
        _check_settings(k, alpha)
        self.optimizer = optimizer
        self.k = int(k)
        self.alpha = alpha
        self.step_counter = 0
        self.slow = {}  # parameter -> its slow weights, from its first step on

    @property
    def param_groups(self):
        """The inner optimizer's parameter groups."""
        return self.optimizer.param_groups

    @property
    def state(self):
        """The inner optimizer's per-parameter state."""
        return self.optimizer.state

    @property
    def defaults(self):
        """The inner optimizer's defaults."""
        return self.optimizer.defaults

    def __repr__(self):
        return f"Lookahead(k={self.k}, alpha={self.alpha}, optimizer={self.optimizer!r})"

    def zero_grad(self, set_to_none=True):
        """Clear the gradients, as the inner optimizer does."""
        self.optimizer.zero_grad(set_to_none)

    def add_param_group(self, param_group):
        """Add a parameter group to the inner optimizer (slow weights start at its next step)."""
        self.optimizer.add_param_group(param_group)

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def step(self, closure=None):
        """One inner step; every k-th, pull the fast weights back toward the slow ones."""
        starting = {p: p.data.copy() for p in self._params() if p not in self.slow}
        synchronise = (self.step_counter + 1) % self.k == 0
        if synchronise:
            self._check_slow_weights(starting)
        loss = self.optimizer.step(closure)
        self.slow.update(starting)  # only now: a step that raised leaves no slow weights behind
        self.step_counter += 1
        if synchronise:
            for group in self.param_groups:
                run = build(lookahead, group["backend"])
                for p in group["params"]:
                    update_in_place(run, p.data, self.slow[p].reshape(-1), float(self.alpha))
                    p._version += 1
        return loss

    def _check_slow_weights(self, starting):
        """Raise before the step if a parameter's slow weights no longer fit its array."""
        for index, p in enumerate(self._params()):
            slow = starting.get(p, self.slow.get(p))
            if slow.shape != p.data.shape or slow.dtype != p.data.dtype:
                raise ValueError(f"Lookahead: parameter {index} is a {p.data.dtype} array of "
                                 f"shape {p.data.shape} but its slow weights are {slow.dtype} "
                                 f"of shape {slow.shape} (did its array change after the first "
                                 f"step?)")
            if not p.data.flags.writeable:
                raise ValueError(f"Lookahead: parameter {index}'s array is read-only")

    def state_dict(self):
        """The inner state dict, the slow weights (by parameter index) and the counter."""
        slow = {i: self.slow[p].copy() for i, p in enumerate(self._params()) if p in self.slow}
        return {"optimizer": self.optimizer.state_dict(), "slow": slow,
                "step_counter": self.step_counter, "k": self.k, "alpha": self.alpha}

    def load_state_dict(self, state_dict):
        """Restore from ``state_dict()``; a bad one raises and changes nothing.

        Everything is checked first (the inner optimizer's state dict included), then applied.
        ``slow`` may also be a list with one array per parameter (older checkpoints).
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"Lookahead: a state dict must be a dict, got "
                            f"{type(state_dict).__name__}")
        for key in ("optimizer", "slow", "step_counter", "k", "alpha"):
            if key not in state_dict:
                raise ValueError(f"Lookahead: the loaded state dict has no {key!r}")
        k, alpha = state_dict["k"], state_dict["alpha"]
        _check_settings(k, alpha)
        step_counter = plain_number(state_dict["step_counter"])
        check_int("Lookahead", "step_counter", step_counter, lambda v: v >= 0,
                  "step_counter >= 0")
        slow = self._loaded_slow_weights(state_dict["slow"])
        groups, state = self.optimizer._loaded(state_dict["optimizer"])
        self.optimizer._apply_loaded(groups, state)
        self.slow = slow
        self.step_counter = int(step_counter)
        self.k = int(k)
        self.alpha = float(alpha)

    def _loaded_slow_weights(self, saved):
        """Parameter -> slow weights from a state dict's ``slow``, checked and copied."""
        params = self._params()
        if isinstance(saved, list | tuple):
            saved = dict(enumerate(saved))
        if not isinstance(saved, dict):
            raise TypeError(f"Lookahead: the loaded slow weights must be a dict, got "
                            f"{type(saved).__name__}")
        slow = {}
        for index, weights in saved.items():
            if isinstance(index, bool) or not isinstance(index, numbers.Integral):
                raise TypeError(f"Lookahead: the slow weights are keyed by parameter index; got "
                                f"key {index!r}")
            if not 0 <= index < len(params):
                raise ValueError(f"Lookahead: loaded slow weights for parameter {index}, the "
                                 f"optimizer has {len(params)} parameters")
            p = params[index]
            slow[p] = loaded_array(f"Lookahead: slow weights {index}", weights, p.data)
        return slow


def _check_settings(k, alpha):
    """Check Lookahead's k (an int >= 1) and alpha (in [0, 1])."""
    k = plain_number(k)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"Lookahead: k must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"Lookahead: invalid lookahead steps: {k} (expected k >= 1)")
    check_number("Lookahead", "slow update rate alpha", alpha, lambda v: 0 <= v <= 1,
                 "0 <= alpha <= 1")

