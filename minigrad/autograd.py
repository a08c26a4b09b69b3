"""The autograd engine: Function (a forward/backward pair), graph traversal, and no_grad.

A forward pass builds a graph: every Tensor produced by an operation keeps, as ``grad_fn``, the
Function instance that made it, and that Function keeps its input Tensors. ``backward`` walks the
graph from the output back to the leaves in reverse topological order, applying the chain rule at
each node: the gradient flowing into a node's output is mapped by the node's ``backward`` to one
gradient per input.
"""

import contextlib
import heapq
import itertools

import numpy as np

_grad_enabled = True
_sequence_numbers = itertools.count(1)  # numbers the recorded operations, oldest first


def is_grad_enabled():
    """Return True when operations record the graph (outside ``no_grad``)."""
    return _grad_enabled


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator under which operations build no graph.

    >>> with minigrad.no_grad():
    ...     y = w * 2        # y.requires_grad is False
    """

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous
        return False


class enable_grad(contextlib.ContextDecorator):
    """Context manager and decorator that turns graph building back on inside ``no_grad``."""

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = True

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous
        return False


class Function:
    """One differentiable operation: ``forward`` on arrays, ``backward`` from output to inputs.

    Subclasses implement ``forward(self, *arrays, **params) -> ndarray``, saving on ``self``
    whatever the derivative needs, and ``backward(self, grad) -> tuple`` giving one gradient (an
    ndarray, or None for "no gradient") per input. A gradient may have the broadcast shape of the
    output; the engine sums it back to the input's shape. ``self.needs_input_grad`` tells
    ``backward`` which inputs want a gradient, so it can skip needless work.

    Call an operation through ``apply``, which wraps the arrays and records the node.
    """

    inputs = ()
    needs_input_grad = ()
    sequence_number = 0  # recorded nodes are numbered in creation order (see ``backward``)

    @property
    def name(self):
        """The operation's readable name, e.g. 'Mul'."""
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name}>"

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the operation on Tensors ``inputs`` and return the output Tensor.

        The output records this node as its ``grad_fn`` only when grad mode is on and some input
        requires grad, so inference under ``no_grad`` keeps no graph alive.
        """
        fn = cls()
        out = fn.forward(*[t.data for t in inputs], **params)
        if _grad_enabled:
            needs = tuple([t._requires_grad for t in inputs])
            if True in needs:
                fn.inputs = inputs
                fn.needs_input_grad = needs
                fn.sequence_number = next(_sequence_numbers)
                return tensor_module.Tensor._from_op(out, fn)
        return tensor_module.Tensor._from_op(out, None)

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes broadcasting added or stretched, so that it has ``shape``.

    This is the one place where the gradient of a broadcast input is folded back: if ``x`` of shape
    (5, 1) was broadcast to (3, 5, 4), its gradient is the sum over axis 0 and axis 2.
    """
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    stretched = tuple(
        leading + i for i, n in enumerate(shape) if n == 1 and grad.shape[leading + i] != 1
    )
    axes = tuple(range(leading)) + stretched
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def backward(root, gradient):
    """Backpropagate ``gradient`` (d out / d root) from ``root`` into every leaf's ``.grad``.

    Nodes are processed newest first. An operation is always recorded after the operations that
    made its inputs, so when a node comes off the queue every node that uses its output has
    already been processed, and the gradient waiting for it is complete (this is how PyTorch's
    engine orders its work, by sequence number). A leaf's gradient is added to its ``.grad`` as
    soon as it arrives.

    Leaves accumulate: an existing ``.grad`` is added to, so gradients sum across calls until
    cleared. Non-leaf tensors keep a ``.grad`` only when ``retain_grad()`` was called on them.
    """
    if root.grad_fn is None:
        _accumulate(root, gradient)
        return
    grads = {root: gradient}  # the gradient waiting for each queued tensor, summed so far
    queue = [(-root.grad_fn.sequence_number, root)]  # heapq pops the newest node first
    while queue:
        tensor = heapq.heappop(queue)[1]
        grad = grads.pop(tensor)
        if tensor._retains_grad:
            _accumulate(tensor, grad)
        fn = tensor.grad_fn
        for inp, inp_grad in zip(fn.inputs, fn.backward(grad)):
            if inp_grad is None or not inp._requires_grad:
                continue
            if inp_grad.shape != inp.data.shape:
                inp_grad = unbroadcast(inp_grad, inp.data.shape)
            if inp.grad_fn is None:
                _accumulate(inp, inp_grad)
            elif inp in grads:
                grads[inp] = grads[inp] + inp_grad
            else:
                grads[inp] = inp_grad
                heapq.heappush(queue, (-inp.grad_fn.sequence_number, inp))


def _accumulate(tensor, grad):
    """Add ``grad`` into ``tensor.grad``, which is always an array the tensor owns alone.

    The first gradient is copied (backward may hand one array, or views of it, to several
    inputs): into the tensor's gradient home when an optimizer gave it one, else a new array.
    """
    if tensor.grad is not None:
        tensor.grad += grad
        return
    home = tensor._grad_home
    if home is not None and home.shape == grad.shape:
        np.copyto(home, grad)
        tensor.grad = home
    else:
        tensor.grad = np.array(grad, dtype=tensor.data.dtype)


# Function.apply makes Tensors and tensor.py needs this module's engine: import it last, once
# everything above exists, and look Tensor up at call time.
from minigrad import tensor as tensor_module  # noqa: E402
