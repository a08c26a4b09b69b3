"""Learning-rate schedulers, in PyTorch's chainable form (epoch = number of step() calls).

Each ``step()`` sets ``group['lr']`` of every parameter group of an optimizer (Lookahead
included). As in PyTorch, StepLR, ExponentialLR, CosineAnnealingLR and LinearLR are *chainable*:
each computes the new lr from the group's current one (multiplying it, mostly), so two schedulers
on one optimizer compose, e.g. a LinearLR warm-up times an ExponentialLR decay. A single one gives
its closed form, written in its docstring. LambdaLR sets lr = initial_lr * lr_lambda(epoch)
outright, as PyTorch's does. Groups added after a scheduler was made are scheduled from their lr
at that time.
"""

import math

from .checks import check_int, check_number


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and sets each group's lr to ``get_lr()``."""

    def __init__(self, optimizer, last_epoch=-1):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                               f"resuming an optimizer")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    @property
    def _groups(self):
        return self.optimizer.param_groups

    def get_lr(self):
        """The learning rate of each group at ``self.last_epoch`` (from their current lr)."""
        raise NotImplementedError

    def step(self):
        """Advance one epoch and set the groups' learning rates."""
        self._step_count += 1
        self.last_epoch += 1
        # A group added since the scheduler was made starts from its lr at this step.
        self.base_lrs = [group.setdefault("initial_lr", group["lr"]) for group in self._groups]
        lrs = self.get_lr()
        for group, lr in zip(self._groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self._groups]

    def get_last_lr(self):
        """The learning rates set by the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute except the optimizer (numbers and lists only)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore from ``state_dict()``."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs.

    Closed form: initial_lr * gamma^(epoch // step_size).
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        check_int("StepLR", "step_size", step_size, lambda v: v >= 1, "an int >= 1")
        check_number("StepLR", "gamma", gamma, lambda v: v >= 0, "gamma >= 0")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self._groups]
        return [group["lr"] * self.gamma for group in self._groups]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch.

    Closed form: initial_lr * gamma^epoch.
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_number("ExponentialLR", "gamma", gamma, lambda v: v >= 0, "gamma >= 0")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] for group in self._groups]
        return [group["lr"] * self.gamma for group in self._groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter, 2017, "SGDR"), without restarts.

    Closed form: eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2. The
    chainable form takes each epoch's lr from the previous one's, as PyTorch does.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_number("CosineAnnealingLR", "T_max", T_max, lambda v: v > 0, "T_max > 0")
        check_number("CosineAnnealingLR", "eta_min", eta_min, lambda v: v >= 0, "eta_min >= 0")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epoch, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if epoch == 0:
            return [group["lr"] for group in self._groups]
        if self._step_count == 1:  # resumed at a later epoch: start from the closed form
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
                    for base_lr in self.base_lrs]
        if (epoch - 1 - T_max) % (2 * T_max) == 0:  # leaving the trough: the ratio below is 0/0
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, self._groups, strict=True)]
        ratio = ((1 + math.cos(math.pi * epoch / T_max))
                 / (1 + math.cos(math.pi * (epoch - 1) / T_max)))
        return [eta_min + ratio * (group["lr"] - eta_min) for group in self._groups]


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    Closed form: initial_lr * (start + (end - start) * min(epoch, total_iters) / total_iters);
    the chainable form multiplies each epoch's lr by the ratio of consecutive factors.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        check_number("LinearLR", "start_factor", start_factor, lambda v: 0 < v <= 1,
                     "0 < start_factor <= 1")
        check_number("LinearLR", "end_factor", end_factor, lambda v: 0 <= v <= 1,
                     "0 <= end_factor <= 1")
        check_int("LinearLR", "total_iters", total_iters, lambda v: v >= 1, "an int >= 1")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        start, end, epoch = self.start_factor, self.end_factor, self.last_epoch
        if epoch == 0:
            return [group["lr"] * start for group in self._groups]
        if epoch > self.total_iters:
            return [group["lr"] for group in self._groups]
        factor = 1 + (end - start) / (self.total_iters * start + (epoch - 1) * (end - start))
        return [group["lr"] * factor for group in self._groups]


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); ``lr_lambda`` is one function or one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = len(optimizer.param_groups)
        self._one_for_all = not isinstance(lr_lambda, list | tuple)
        lambdas = [lr_lambda] if self._one_for_all else list(lr_lambda)
        if not all(callable(f) for f in lambdas):
            raise TypeError("LambdaLR: lr_lambda must be callable (or a list of callables)")
        if not self._one_for_all and len(lambdas) != groups:
            raise ValueError(f"LambdaLR: expected {groups} lr_lambdas, got {len(lambdas)}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lambdas = self.lr_lambdas
        if self._one_for_all:  # for every group, those added later included
            lambdas = lambdas * len(self.base_lrs)
        elif len(lambdas) != len(self.base_lrs):
            raise ValueError(f"LambdaLR: {len(lambdas)} lr_lambdas for {len(self.base_lrs)} "
                             f"param groups (a group was added after the scheduler was made; "
                             f"give one function for all groups, or one per group)")
        return [base_lr * f(self.last_epoch)
                for base_lr, f in zip(self.base_lrs, lambdas, strict=True)]

    def state_dict(self):
        """As the base, without the lambdas (functions are not data; PyTorch drops them too)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
