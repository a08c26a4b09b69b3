"""Non-recurrent layers with PyTorch's names, shapes and default initialisation.

Parameters are created in ``minigrad.get_default_dtype()`` (float32 unless changed) or the
``dtype`` given to the constructor.
"""

import math

import numpy as np

from minigrad import ops
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.axes import normalize_axis
from minigrad.tensor import get_default_dtype


def empty_parameter(shape, dtype):
    """An uninitialised Parameter in ``dtype`` (None: the default dtype), for an initialiser."""
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"parameters must be floating-point, got dtype {dtype}")
    return Parameter(np.empty(shape, dtype=dtype))


def uniform_parameter(shape, bound, dtype):
    """A new Parameter drawn from U(-bound, bound): PyTorch's default for Linear, Conv and RNNs."""
    return init.uniform_(empty_parameter(shape, dtype), -bound, bound)


def check_size(owner, name, value, minimum=0):
    """Raise ValueError unless ``value`` is an int >= ``minimum`` (a bool is not a size)."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")


class Linear(Module):
    """y = x W^T + b, with weight (out_features, in_features) and bias (out_features,).

    Both start as U(-1/sqrt(in_features), 1/sqrt(in_features)), as in PyTorch. ``x`` may have any
    number of leading axes.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        check_size("Linear", "in_features", in_features)
        check_size("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        self.weight = uniform_parameter((out_features, in_features), bound, dtype)
        if bias:
            self.bias = uniform_parameter((out_features,), bound, dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        """Apply the affine map to ``x`` of shape (..., in_features)."""
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table: integer indices of any shape -> rows of ``weight`` (num_embeddings, dim).

    The weight starts as N(0, 1), as in PyTorch; a row looked up several times in one batch gets
    the sum of the gradients.
    """

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        check_size("Embedding", "num_embeddings", num_embeddings, 1)
        check_size("Embedding", "embedding_dim", embedding_dim, 1)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = init.normal_(empty_parameter((num_embeddings, embedding_dim), dtype))

    def forward(self, indices):
        """Return the rows of the table for ``indices``: shape (*indices.shape, embedding_dim)."""
        return F.embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """Inverted dropout: in training zero elements with probability p, scale the rest by 1/(1-p).

    In evaluation mode (``model.eval()``) it is the identity.
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability p={p} is outside [0, 1]")
        self.p = p

    def forward(self, x):
        """Apply dropout when training, else return ``x``."""
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class ReLU(Module):
    """Elementwise max(x, 0)."""

    def forward(self, x):
        """Apply ReLU."""
        return ops.relu(x)


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, x):
        """Apply tanh."""
        return ops.tanh(x)


class Sigmoid(Module):
    """Elementwise logistic sigmoid 1 / (1 + e^-x)."""

    def forward(self, x):
        """Apply the sigmoid."""
        return ops.sigmoid(x)


class Softmax(Module):
    """Softmax along ``axis`` (PyTorch's ``dim``), computed without overflow."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        """Apply softmax along the axis."""
        return ops.softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """Log-softmax along ``axis`` (PyTorch's ``dim``), computed without overflow."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        """Apply log-softmax along the axis."""
        return ops.log_softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class Flatten(Module):
    """Merge axes ``start_dim`` .. ``end_dim`` (inclusive) into one: (N, 3, 4) -> (N, 12).

    As ``torch.nn.Flatten``: negative axes count from the end, an axis out of range raises
    (numpy's AxisError, both an IndexError and a ValueError), and a 0-d input becomes (1,) when
    both axes name its no-axis (0 or -1).
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        """Return ``x`` reshaped with the chosen axes merged."""
        shape = x.shape
        start = normalize_axis(self.start_dim, len(shape), "Flatten")
        end = normalize_axis(self.end_dim, len(shape), "Flatten")
        if start > end:
            raise ValueError(
                f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} "
                f"for an input of shape {shape}"
            )
        merged = math.prod(shape[start:end + 1])
        return ops.reshape(x, shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
