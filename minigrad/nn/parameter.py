"""Parameter: a Tensor that a Module registers as one of its learnable weights."""

from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad; assigning one to a Module attribute registers it.

    ``data`` may be an ndarray, a Tensor, a list or a number. Like ``minigrad.tensor`` the array
    is copied (so the parameter never aliases the caller's array) and keeps its floating dtype;
    Python floats take the default dtype. Integer data is rejected: it cannot carry a gradient.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=False)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Parameter: expected floating-point data, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
