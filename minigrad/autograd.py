"""The autograd engine: grad mode, Function (one operation's rules), and backpropagation.

A forward pass builds a graph: every Tensor produced by an operation keeps, as ``grad_fn``, the
Function instance that made it, and that Function keeps its input Tensors. ``backward`` walks the
graph from the output back to the leaves in reverse topological order, applying the chain rule at
each node: the gradient flowing into a node's output is mapped by the node's ``backward`` rule to
one gradient per input.

Each Function has three rules side by side: ``forward`` (the value), ``backward`` (the
vector-Jacobian product) and ``jvp`` (the Jacobian-vector product, for forward mode). The
derivative rules are written once with an array namespace ``xp``: on the fast path they run on
ndarrays with ``xp = xp_numpy``; under ``create_graph=True`` they run on Tensors with
``xp = xp_tensor``, whose functions are minigrad's own differentiable operations, so the gradient
computation is itself recorded and can be differentiated again.

Grad mode is per thread, as in PyTorch: ``no_grad`` in one thread leaves the others recording.
"""

import contextlib
import functools
import threading

import numpy as np


# -------------------------------------------------------------------------------- grad mode
class _ThreadState(threading.local):
    """What the engine needs to know about the current thread (each thread sees its own)."""

    def __init__(self):
        self.grad_enabled = True     # operations record the graph
        self.saved_modes = []        # grad modes to restore, one per open no_grad/enable_grad
        # Functions told about every operation as it runs, after its output exists: forward
        # mode's tangent propagation (minigrad.func.jvp), minigrad.compile's recorder.
        self.watchers = ()
        # minigrad.compile's recorder also needs to know what no operation shows: each
        # backward() (told before the engine runs it and after) and each value read into
        # Python.
        self.backward_watchers = ()
        self.read_watchers = ()


_state = _ThreadState()


def is_grad_enabled():
    """Return True when operations record the graph in this thread (outside ``no_grad``)."""
    return _state.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Set grad mode for the duration of a ``with`` block or a decorated call, then restore it.

    The mode to restore is kept on a per-thread stack, so one instance may be entered from several
    threads, and a recursive function decorated with ``@no_grad()`` restores the right mode at
    every level.
    """

    mode = True

    def __new__(cls, *args):
        # ``@no_grad`` without parentheses, as PyTorch allows: decorate the function directly.
        if len(args) == 1 and callable(args[0]) and cls is not set_grad_enabled:
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        _state.saved_modes.append(_state.grad_enabled)
        _state.grad_enabled = self.mode

    def __exit__(self, *exc):
        _state.grad_enabled = _state.saved_modes.pop()
        return False


class no_grad(_GradMode):
    """Context manager and decorator under which operations build no graph.

    >>> with minigrad.no_grad():
    ...     y = w * 2        # y.requires_grad is False
    """

    mode = False


class enable_grad(_GradMode):
    """Context manager and decorator that turns graph building back on inside ``no_grad``."""

    mode = True


class inference_mode(_GradMode):
    """``no_grad`` under PyTorch's name for inference (``inference_mode(False)`` records again).

    PyTorch's inference mode also marks the tensors it makes as unusable by autograd later; in
    minigrad they are ordinary tensors that require no grad.
    """

    def __init__(self, mode=True):
        self.mode = not mode


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: as a call, a context manager or a decorator.

    ``set_grad_enabled(False)`` switches recording off for this thread at once (as PyTorch's);
    used in a ``with`` block it switches back when the block ends.
    """

    def __init__(self, mode):
        self.mode = bool(mode)
        self._previous = _state.grad_enabled
        _state.grad_enabled = self.mode

    def __enter__(self):
        # The mode was set in __init__; what the block must restore is the mode before that.
        _state.saved_modes.append(self._previous)

    def __call__(self, function):
        _state.grad_enabled = self._previous  # decorating must not change the current mode

        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with _GradModeFor(self.mode):
                return function(*args, **kwargs)

        return decorated


class _GradModeFor(_GradMode):
    """Grad mode ``mode`` for one block (the engine's and set_grad_enabled's own use)."""

    def __init__(self, mode):
        self.mode = mode


# --------------------------------------------------------------------------------- Function
class Function:
    """One differentiable operation, with its three rules side by side.

    Subclasses implement:

    ``forward(self, *arrays, **params) -> ndarray``
        The value, on ndarrays. It may keep on ``self`` what is constant for differentiation
        (masks, shapes, axes, indices), but not the input or output arrays: the engine hands
        those to the rules below.
    ``backward(self, xp, grad, *inputs, out) -> tuple``
        The vector-Jacobian product: given the gradient ``grad`` of the loss with respect to
        ``out``, one gradient per input (None for "no gradient"). A gradient may have the
        broadcast shape of the output; the engine sums it back to the input's shape.
        ``self.needs_input_grad`` says which inputs want one, so the rule can skip needless work.
    ``jvp(self, xp, tangents, *inputs, out) -> tangent``
        The Jacobian-vector product (forward mode): the tangent of ``out`` given one tangent per
        input, where None means zero.

    ``xp`` is the array namespace the rules compute with: ``xp_numpy`` (NumPy) on the fast path,
    where ``grad``, ``inputs`` and ``out`` are ndarrays, and ``xp_tensor`` (minigrad's own ops,
    same names) when the derivative must itself be differentiable, where they are Tensors.

    ``saves_inputs`` says whether ``backward`` reads the inputs' values. When it does, changing an
    input in place (an optimizer step, say) between the forward pass and backward is detected.

    Call an operation through ``apply``, which wraps the arrays and records the node.
    """

    inputs = ()
    needs_input_grad = ()
    saves_inputs = True
    freed = False  # set once a backward pass without retain_graph went through this node

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
        arrays = [t.data for t in inputs]
        out = fn.forward(*arrays, **params)
        state = _state
        recorded = False
        if state.grad_enabled:
            needs = tuple([t._requires_grad for t in inputs])
            if True in needs:
                recorded = True
                fn.inputs, fn.arrays, fn.needs_input_grad = inputs, arrays, needs
                if fn.saves_inputs:
                    fn.versions = [t._version for t in inputs]
        result = tensor_module.Tensor._from_op(out, fn if recorded else None)
        for watch in state.watchers:
            watch(fn, inputs, arrays, result, params)
        return result

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, xp, grad, *inputs, out):
        raise NotImplementedError(f"{self.name} has no backward rule")

    def jvp(self, xp, tangents, *inputs, out):
        raise NotImplementedError(f"{self.name} has no jvp rule (forward mode)")


def propagate_tangent(fn, inputs, arrays, out, params):
    """Give ``out`` its tangent from its inputs' tangents, by ``fn``'s jvp rule (forward mode).

    The watcher ``minigrad.func.jvp`` installs while its function runs.

    The tangent is computed on arrays, unless grad mode is on and something involved requires
    grad: then on Tensors, so that reverse mode can differentiate the tangent as well.
    """
    tangents = [t._tangent for t in inputs]
    if not any(t is not None for t in tangents):
        return
    Tensor = tensor_module.Tensor
    graph = _state.grad_enabled and (
        out._requires_grad or any(t is not None and t._requires_grad for t in tangents))
    watchers, _state.watchers = _state.watchers, ()  # the rule's own operations carry none
    try:
        if graph:
            tangent = fn.jvp(_xp_tensor, tangents, *inputs, out=out)
        else:
            tangent = fn.jvp(_xp_numpy, [None if t is None else t.data for t in tangents],
                             *arrays, out=out.data)
    finally:
        _state.watchers = watchers
    if tangent is None:
        return
    if not isinstance(tangent, Tensor):
        tangent = Tensor._constant(np.asarray(tangent, dtype=out.data.dtype))
    if tangent.shape != out.shape:  # a tangent of a broadcast input only
        tangent = _xp_tensor.broadcast_to(tangent, out.shape)
    out._tangent = tangent


def value_read(tensor, how):
    """Tell the read watchers that ``tensor``'s value is leaving minigrad (``how``: 'item()'...).

    A traced step (minigrad.compile) must not steer Python by tensor values, which a replay
    would not see change; Tensor's item(), bool(), tolist(), numpy() and __array__ call this.
    """
    for watch in _state.read_watchers:
        watch(tensor, how)


# ------------------------------------------------------------------------ graph traversal
def topological_order(roots, constants=False):
    """The tensors of the graph below ``roots`` that require grad, every input before its users.

    With ``constants=True`` the inputs that need no grad are listed too (for drawing the graph).
    An iterative depth-first search, so a chain of 100,000 operations needs no deep recursion:
    the stack holds each tensor on the current path with an iterator over its inputs, and a
    tensor is listed once all of its inputs are (a leaf at once: it has none).
    """
    order = []
    visited = set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, _inputs(root))]
        while stack:
            tensor, inputs = stack[-1]
            for inp in inputs:
                if inp not in visited and (constants or inp._requires_grad):
                    visited.add(inp)
                    if inp.grad_fn is None:
                        order.append(inp)
                    else:
                        stack.append((inp, _inputs(inp)))
                        break
            else:  # every input is listed: so can this tensor be
                stack.pop()
                order.append(tensor)
    return order


def _inputs(tensor):
    """An iterator over the inputs of the operation that made ``tensor`` (none for a leaf)."""
    return iter(tensor.grad_fn.inputs if tensor.grad_fn is not None else ())


# -------------------------------------------------------------------------------- backward
def backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Backpropagate ``root_grads`` (d out / d root) from ``roots`` into the leaves' ``.grad``.

    The textbook algorithm: list the graph's tensors in topological order (every input before its
    users) and visit them in reverse, so that when a tensor is visited every user has already sent
    it its share of the gradient. A visited tensor's summed gradient goes into ``.grad`` if it is
    a leaf (or ``retain_grad()`` was called on it), and through its operation's backward rule to
    its inputs otherwise.

    Leaves accumulate: an existing ``.grad`` is added to, so gradients sum across calls until
    cleared. With ``inputs``, only those tensors accumulate. Without ``retain_graph`` the nodes are
    marked freed, and a second backward through them raises, as in PyTorch. With
    ``create_graph`` the gradients are Tensors recorded in a graph of their own (``.grad`` then
    holds a Tensor), so they can be differentiated again.
    """
    watchers = _state.backward_watchers
    for watch in watchers:
        watch(roots, root_grads, retain_graph, create_graph, inputs, finished=False)
    only = None if inputs is None else set(inputs)
    for tensor, grad in _backpropagate(roots, root_grads, retain_graph, create_graph, only):
        if tensor.grad_fn is None or tensor._retains_grad:
            if only is None or tensor in only:
                _accumulate(tensor, grad)
    for watch in watchers:
        watch(roots, root_grads, retain_graph, create_graph, inputs, finished=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as Tensors (``.grad`` untouched).

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or sequences of them;
    ``grad_outputs`` gives d loss / d output for each output (may be left out for single-element
    outputs); with ``create_graph=True`` the results are themselves differentiable. An input that
    the outputs do not depend on raises, unless ``allow_unused=True`` (then its gradient is None).
    """
    outputs = _as_tensor_list(outputs, "outputs")
    inputs = _as_tensor_list(inputs, "inputs")
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, list | tuple):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    roots, root_grads = [], []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs, strict=True)):
        if not out._requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad and has no grad_fn")
        roots.append(out)
        root_grads.append(seed_gradient(out, g, create_graph, f"grad: output {i}"))
    if retain_graph is None:
        retain_graph = create_graph
    wanted = set(inputs)
    found = {}
    for tensor, g in _backpropagate(roots, root_grads, retain_graph, create_graph, wanted):
        if tensor in wanted:
            found[tensor] = g if tensor not in found else found[tensor] + g
    results = []
    Tensor = tensor_module.Tensor
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} was not used in computing the outputs "
                               "(pass allow_unused=True to get None for it)")
        if g is not None and not isinstance(g, Tensor):
            g = Tensor._constant(np.asarray(g, dtype=t.data.dtype))
        results.append(g)
    return tuple(results)


def seed_gradient(out, gradient, as_tensor, context):
    """The starting gradient d out / d out for a backward pass from ``out``, checked.

    ``gradient`` may be None for a single-element ``out`` (then it is 1). Returns an ndarray, or a
    Tensor when ``as_tensor`` (for ``create_graph``).
    """
    Tensor = tensor_module.Tensor
    if gradient is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"{context}: the output has shape {out.data.shape}; pass a gradient of that shape, "
                "or reduce it to a scalar first (e.g. .sum())")
        gradient = np.ones(out.data.shape, out.data.dtype)
    elif not (as_tensor and isinstance(gradient, Tensor)):
        gradient = tensor_module.as_array(gradient, out.data.dtype)
    if gradient.shape != out.data.shape:
        raise ValueError(f"{context}: gradient has shape {gradient.shape}, expected "
                         f"{out.data.shape}")
    if as_tensor and not isinstance(gradient, Tensor):
        gradient = Tensor._constant(gradient)
    return gradient


def _as_tensor_list(tensors, what):
    """``tensors`` (one Tensor or a sequence) as a list of Tensors, or TypeError."""
    Tensor = tensor_module.Tensor
    if isinstance(tensors, Tensor):
        return [tensors]
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: {what}[{i}] must be a Tensor, got {type(t).__name__}")
    return tensors


def _backpropagate(roots, root_grads, retain_graph, create_graph, targets):
    """Run the chain rule from ``roots``; yield each leaf or retained tensor with its gradient.

    Yields ``(tensor, gradient)`` for every leaf reached, every tensor with ``retain_grad()``,
    and every tensor in ``targets`` (a set, or None for no pruning). With ``targets`` the walk
    skips the nodes from which no target can be reached. Grad mode is ``create_graph`` meanwhile.
    """
    order = topological_order(roots)
    if targets is not None:
        order = _prune(order, targets)
    xp = _xp_tensor if create_graph else _xp_numpy
    pending = {}  # tensor -> the gradient sent to it so far
    for root, g in zip(roots, root_grads, strict=True):
        pending[root] = g if root not in pending else pending[root] + g
    state = _state
    grad_mode, state.grad_enabled = state.grad_enabled, create_graph
    try:
        for tensor in reversed(order):
            grad = pending.pop(tensor, None)
            if grad is None:
                continue
            if tensor._hooks:
                grad = _run_hooks(tensor, grad, create_graph)
            fn = tensor.grad_fn
            if fn is None:
                yield tensor, grad
                continue
            if tensor._retains_grad or (targets is not None and tensor in targets):
                yield tensor, grad
            if fn.freed:
                raise _freed_error(fn)
            if create_graph:
                if fn.saves_inputs:
                    _check_saved_inputs(fn)
                input_grads = fn.backward(xp, grad, *fn.inputs, out=tensor)
            else:
                if fn.saves_inputs and [t._version for t in fn.inputs] != fn.versions:
                    _check_saved_inputs(fn)
                input_grads = fn.backward(xp, grad, *fn.arrays, out=tensor.data)
            for inp, inp_grad in zip(fn.inputs, input_grads):
                if inp_grad is None or not inp._requires_grad:
                    continue
                if inp_grad.shape != inp.data.shape:
                    inp_grad = _sum_to_input(fn, xp, inp_grad, inp)
                previous = pending.get(inp)
                pending[inp] = inp_grad if previous is None else previous + inp_grad
            if not retain_graph:
                fn.freed = True
    finally:
        state.grad_enabled = grad_mode


def _prune(order, targets):
    """The tensors of ``order`` (inputs before users) from which some target can be reached."""
    reaches = set()
    for tensor in order:
        fn = tensor.grad_fn
        if tensor in targets or (fn is not None and any(i in reaches for i in fn.inputs)):
            reaches.add(tensor)
    return [tensor for tensor in order if tensor in reaches]


def _freed_error(fn):
    """PyTorch's error for a second backward through a freed graph, naming the node."""
    return RuntimeError(
        f"{fn.name}: trying to backward through the graph a second time (or directly access "
        "saved tensors after they have already been freed). Saved intermediate values of the "
        "graph are freed when you call .backward() or autograd.grad(). Specify "
        "retain_graph=True if you need to backward through the graph a second time or if you "
        "need to access saved tensors after calling backward.")


def _check_saved_inputs(fn):
    """Raise if an input the backward rule reads was changed in place after the forward pass."""
    for i, (inp, version) in enumerate(zip(fn.inputs, fn.versions, strict=True)):
        if inp._version != version or inp.data is not fn.arrays[i]:
            raise RuntimeError(
                f"{fn.name}: one of the variables needed for gradient computation has been "
                f"modified by an inplace operation: input {i} (shape {inp.data.shape}, dtype "
                f"{inp.data.dtype}) is at version {inp._version}; expected version {version} "
                "instead (an optimizer step, or another in-place change, happened between the "
                "forward pass and backward)")


def _sum_to_input(fn, xp, grad, inp):
    """Sum a broadcast gradient back to ``inp``'s shape; refuse one broadcasting cannot explain.

    A backward rule may return the gradient in the output's broadcast shape (the gradient of an
    input of shape (5, 1) broadcast to (3, 5, 4) arrives as (3, 5, 4) and is summed over axes 0
    and 2). A gradient of any other shape is a bug in the rule, and reshaping it would hide it.
    """
    shape = inp.data.shape
    try:
        broadcastable = np.broadcast_shapes(shape, grad.shape) == grad.shape
    except ValueError:
        broadcastable = False
    if not broadcastable:
        raise RuntimeError(f"{fn.name}: backward returned a gradient of shape {grad.shape} for "
                           f"an input of shape {shape}, which broadcasting cannot explain")
    return xp.sum_to(grad, shape)


def _run_hooks(tensor, grad, create_graph):
    """Call ``tensor``'s hooks in order on its gradient; a hook may return a replacement."""
    Tensor = tensor_module.Tensor
    for hook in list(tensor._hooks.values()):
        as_tensor = grad if isinstance(grad, Tensor) else Tensor._constant(grad)
        result = hook(as_tensor)
        if result is None:
            continue
        if not isinstance(result, Tensor):
            result = Tensor._constant(tensor_module.as_array(result))
        if result.shape != tensor.data.shape:
            raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of "
                               f"shape {result.shape}, expected {tensor.data.shape}")
        grad = result if create_graph else result.data
    return grad


def _accumulate(tensor, grad):
    """Add ``grad`` into ``tensor.grad``, always making a new array the tensor owns alone.

    A backward rule may hand one array, or views of it, to several inputs, so the first gradient
    is copied; a later one is added into a new array rather than in place, so that an array the
    user (or an optimizer) holds is never written to by the engine. A Tensor gradient (from
    ``create_graph=True``) is stored as is, and stays differentiable.
    """
    Tensor = tensor_module.Tensor
    dtype = tensor.data.dtype
    old = tensor.grad
    if isinstance(grad, Tensor):
        if old is None:
            tensor.grad = grad
        else:
            tensor.grad = (old if isinstance(old, Tensor) else Tensor._constant(old)) + grad
    elif old is None:
        tensor.grad = np.array(grad, dtype=dtype)
    elif isinstance(old, Tensor):
        tensor.grad = old + Tensor._constant(grad)
    else:
        tensor.grad = np.add(old, grad, dtype=dtype)


# The rules' two namespaces; the ops they name import this module, so tensor.py sets these
# once the ops exist (see the end of tensor.py).
_xp_numpy = _xp_tensor = None

# Function.apply makes Tensors and tensor.py needs this module's engine: import it last, once
# everything above exists, and look Tensor up at call time.
from minigrad import tensor as tensor_module  # noqa: E402
