"""Module hooks, as PyTorch's: watch, and change, a module's inputs, outputs and gradients.

- forward pre-hook ``hook(module, args)``: before ``forward``; may return new args.
- forward hook ``hook(module, args, output)``: after ``forward``; may return a new output.
- backward pre-hook ``hook(module, grad_output)``: once the gradients of all of the module's
  outputs are known; may return new ones.
- backward hook ``hook(module, grad_input, grad_output)``: once the gradients of the module's
  positional Tensor inputs are known too; may return new ones for the inputs.

The engine delivers gradients one node at a time, while a backward hook wants all of a module's
input (or output) gradients together. So the module's tensors pass through one ``Pack`` node,
which joins them into one flat vector, and are sliced out of it again: the gradient reaching the
pack is then the concatenation of all of theirs, in one place, where the hooks run.
"""

import numpy as np

from minigrad.autograd import Function, is_grad_enabled
from minigrad.tensor import Tensor


class Pack(Function):
    """The given tensors joined into one flat vector; its backward calls ``on_gradients``.

    ``on_gradients(grads)`` receives the gradient of each tensor (shaped like it) and returns
    the gradients to pass on (the same, or replacements).
    """

    saves_inputs = False

    def forward(self, *arrays, on_gradients):
        self.shapes = [a.shape for a in arrays]
        self.bounds = [int(b) for b in np.cumsum([a.size for a in arrays])[:-1]]
        self.on_gradients = on_gradients
        return np.concatenate([a.reshape(-1) for a in arrays])

    def backward(self, xp, grad, *inputs, out):
        pieces = xp.split(grad, self.bounds)
        grads = [xp.reshape(piece, shape) for piece, shape in zip(pieces, self.shapes)]
        return tuple(self.on_gradients(grads))

    def jvp(self, xp, tangents, *inputs, out):
        pieces = [xp.zeros_like(a) if t is None else t for t, a in zip(tangents, inputs)]
        return xp.concatenate([xp.reshape(p, (-1,)) for p in pieces])


def _pack(tensors, on_gradients):
    """``tensors`` through one Pack node: new tensors equal to them, whose gradients meet there."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1:
        raise TypeError(f"backward hooks: the module's tensors have different dtypes "
                        f"{sorted(map(str, dtypes))}; one dtype is needed to gather their "
                        "gradients")
    packed = Pack.apply(*tensors, on_gradients=on_gradients)
    unpacked, start = [], 0
    for t in tensors:
        unpacked.append(packed[start:start + t.size].reshape(t.shape))
        start += t.size
    return unpacked


def _flatten(structure):
    """The Tensors in a Tensor or nested tuple/list, in order, and a function to rebuild it."""
    if isinstance(structure, Tensor):
        return [structure], lambda values: values[0]
    if isinstance(structure, tuple | list):
        parts = [_flatten(item) for item in structure]
        sizes = [len(tensors) for tensors, _ in parts]

        def rebuild(values):
            items, start = [], 0
            for (_, build), size in zip(parts, sizes):
                items.append(build(values[start:start + size]))
                start += size
            return type(structure)(items)

        return [t for tensors, _ in parts for t in tensors], rebuild
    return [], lambda values: structure


class _BackwardHooks:
    """One call of a module with backward hooks: gathers grad_output, then grad_input."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.input_slots = []  # positions of the args that are tensors requiring grad
        self.arg_count = 0

    def wrap_inputs(self, args):
        """The args, with the tensors that require grad routed through a Pack node."""
        self.arg_count = len(args)
        self.input_slots = [i for i, a in enumerate(args)
                            if isinstance(a, Tensor) and a.requires_grad]
        if not self.input_slots:
            return args
        routed = _pack([args[i] for i in self.input_slots], self._inputs_ready)
        args = list(args)
        for i, t in zip(self.input_slots, routed):
            args[i] = t
        return tuple(args)

    def wrap_output(self, output):
        """The output, with its tensors that require grad routed through a Pack node."""
        tensors, rebuild = _flatten(output)
        self.output_count = len(tensors)
        self.output_slots = [i for i, t in enumerate(tensors) if t.requires_grad]
        if not self.output_slots:
            return output
        routed = _pack([tensors[i] for i in self.output_slots], self._outputs_ready)
        tensors = list(tensors)
        for i, t in zip(self.output_slots, routed):
            tensors[i] = t
        return rebuild(tensors)

    def _outputs_ready(self, grads):
        grad_output = [None] * self.output_count
        for i, g in zip(self.output_slots, grads):
            grad_output[i] = _as_tensor(g)
        grad_output = tuple(grad_output)
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grad_output)
            if result is not None:
                grad_output = _checked_replacement(result, grad_output, "backward pre-hook")
        self.grad_output = grad_output
        if not self.input_slots:  # nothing to wait for: PyTorch calls the hooks now
            self._call_hooks((None,) * self.arg_count)
        return [_like(grad_output[i], g) for i, g in zip(self.output_slots, grads)]

    def _inputs_ready(self, grads):
        grad_input = [None] * self.arg_count
        for i, g in zip(self.input_slots, grads):
            grad_input[i] = _as_tensor(g)
        grad_input = self._call_hooks(tuple(grad_input))
        return [_like(grad_input[i], g) for i, g in zip(self.input_slots, grads)]

    def _call_hooks(self, grad_input):
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _checked_replacement(result, grad_input, "backward hook")
        return grad_input


def _as_tensor(grad):
    """A gradient as hooks see it: a Tensor (wrapping the engine's array on the fast path)."""
    return grad if isinstance(grad, Tensor) else Tensor._constant(grad)


def _like(replacement, grad):
    """A hook's gradient handed back to the engine in the form it passed (array or Tensor)."""
    if isinstance(grad, Tensor):
        return replacement
    return replacement.data


def _checked_replacement(result, current, what):
    """A hook's replacement gradients, checked against the ones it was given."""
    result = tuple(result) if isinstance(result, tuple | list) else (result,)
    if len(result) != len(current):
        raise RuntimeError(f"{what} returned {len(result)} gradients, expected {len(current)}")
    for new, old in zip(result, current):
        if old is not None and (not isinstance(new, Tensor) or new.shape != old.shape):
            shape = getattr(new, "shape", type(new).__name__)
            raise RuntimeError(f"{what} returned a gradient of shape {shape}, expected "
                               f"{old.shape}")
    return result


def call_with_hooks(module, args, kwargs):
    """Run ``module(*args, **kwargs)`` with its hooks (Module.__call__ when it has any)."""
    for hook in list(module._forward_pre_hooks.values()):
        result = hook(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    backward = None
    if (module._backward_hooks or module._backward_pre_hooks) and is_grad_enabled():
        backward = _BackwardHooks(module)
        args = backward.wrap_inputs(args)
    output = module.forward(*args, **kwargs)
    for hook in list(module._forward_hooks.values()):
        result = hook(module, args, output)
        if result is not None:
            output = result
    if backward is not None:
        output = backward.wrap_output(output)
    return output
