"""Loss modules: the functional losses with their options fixed at construction.

``loss_fn = CrossEntropyLoss(label_smoothing=0.1); loss = loss_fn(logits, targets)``.
"""

from minigrad.nn import loss_ops
from minigrad.nn.module import Module


class _Loss(Module):
    """A loss module: holds ``reduction`` ('mean', 'sum' or 'none') and calls a functional loss."""

    def __init__(self, reduction="mean"):
        super().__init__()
        loss_ops.check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error; see ``F.mse_loss``."""

    def forward(self, input, target):
        """The loss of ``input`` against ``target`` (same shape)."""
        return loss_ops.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error; see ``F.l1_loss``."""

    def forward(self, input, target):
        """The loss of ``input`` against ``target`` (same shape)."""
        return loss_ops.l1_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, C) and class indices (N,); see ``F.cross_entropy``."""

    def __init__(self, label_smoothing=0.0, reduction="mean"):
        super().__init__(reduction)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing={label_smoothing} is outside [0, 1]"
            )
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        """The loss of logits ``input`` against integer ``target``."""
        return loss_ops.cross_entropy(input, target, self.label_smoothing, self.reduction)

    def extra_repr(self):
        return f"label_smoothing={self.label_smoothing}, reduction={self.reduction!r}"


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C); see ``F.nll_loss``."""

    def forward(self, input, target):
        """The loss of log-probabilities ``input`` against integer ``target``."""
        return loss_ops.nll_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, stable for any logit (F.binary_cross_entropy_with_logits)."""

    def forward(self, input, target):
        """The loss of logits ``input`` against ``target`` in [0, 1] (same shape)."""
        return loss_ops.binary_cross_entropy_with_logits(input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities; see ``F.binary_cross_entropy``."""

    def forward(self, input, target):
        """The loss of probabilities ``input`` against ``target`` in [0, 1] (same shape)."""
        return loss_ops.binary_cross_entropy(input, target, self.reduction)
