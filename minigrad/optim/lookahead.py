"""Lookahead: k fast steps of any optimizer, then one step back toward slow weights."""

import numpy as np

from .backends import get_kernel
from .optimizer import Optimizer, check_number


class Lookahead:
    """Lookahead (Zhang et al., 2019) wrapped around any minigrad optimizer.

    The slow weights start as a copy of the parameters. After every ``k``-th step of the inner
    optimizer, slow += alpha*(fast - slow) and fast = slow. ``param_groups`` and ``state`` are
    the inner optimizer's, so schedulers and gradient clipping work through the wrapper.
    """

    def __init__(self, optimizer, k=5, alpha=0.5):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Lookahead: optimizer must be a minigrad Optimizer, got "
                            f"{type(optimizer).__name__}")
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise TypeError(f"Lookahead: k must be an int, got {type(k).__name__}")
        if k < 1:
            raise ValueError(f"Lookahead: invalid lookahead steps: {k} (expected k >= 1)")
        check_number("Lookahead", "slow update rate alpha", alpha, lambda v: 0 <= v <= 1,
                     "0 <= alpha <= 1")
        self.optimizer = optimizer
        self.k = int(k)
        self.alpha = alpha
        self.step_counter = 0
        self.slow = {p: p.data.copy() for group in self.param_groups for p in group["params"]}

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
        """Add a parameter group to the inner optimizer; its slow weights start as a copy."""
        self.optimizer.add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            self.slow[p] = p.data.copy()

    def step(self, closure=None):
        """One inner step; every k-th, pull the fast weights back toward the slow ones."""
        loss = self.optimizer.step(closure)
        self.step_counter += 1
        if self.step_counter % self.k == 0:
            for group in self.param_groups:
                by_dtype = {}
                for p in group["params"]:
                    pair = by_dtype.setdefault(p.data.dtype, ([], []))
                    pair[0].append(p.data.ravel())
                    pair[1].append(self.slow[p].ravel())
                for dtype, (fast, slow) in by_dtype.items():
                    get_kernel("lookahead", group["backend"])(
                        tuple(fast), tuple(slow), dtype.type(self.alpha))
        return loss

    def state_dict(self):
        """The inner state dict plus the slow weights (in parameter order) and the counter."""
        params = [p for group in self.param_groups for p in group["params"]]
        return {"optimizer": self.optimizer.state_dict(),
                "slow": [self.slow[p].copy() for p in params],
                "step_counter": self.step_counter, "k": self.k, "alpha": self.alpha}

    def load_state_dict(self, state_dict):
        """Restore from ``state_dict()``."""
        params = [p for group in self.param_groups for p in group["params"]]
        if len(state_dict["slow"]) != len(params):
            raise ValueError(f"Lookahead: loaded state dict has {len(state_dict['slow'])} slow "
                             f"weights, the optimizer has {len(params)} parameters")
        self.optimizer.load_state_dict(state_dict["optimizer"])
        for p, slow in zip(params, state_dict["slow"], strict=True):
            if slow.shape != p.data.shape:
                raise ValueError(f"Lookahead: slow weight of shape {slow.shape} for a parameter "
                                 f"of shape {p.data.shape}")
            self.slow[p] = np.array(slow, dtype=p.data.dtype, order="C")
        self.step_counter = int(state_dict["step_counter"])
        self.k = int(state_dict["k"])
        self.alpha = float(state_dict["alpha"])
