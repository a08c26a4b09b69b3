"""Watch the real engine run backward: which node it processes when, and what each one sends.

This is the viewer's only contact with the engine's internals. ``record_backward`` runs the
ordinary ``Tensor.backward`` on the graph, with each node's ``backward`` method wrapped (on the
node instance, for the duration of the call) so that every call is written down: the node, the
gradient it received, and the gradients it returned for its inputs. Nothing is recomputed here:
the order is the order the engine chose and the numbers are the ones it produced.

Tensor hooks (``register_hook``) would show each tensor's summed gradient, but not what each
node sends to each of its inputs, which is what the page shows where a tensor is used twice. To
move to hooks, or to a callback the engine might offer, this module is the one place to change.
"""

from dataclasses import dataclass, field

import numpy as np

from minigrad.ops.xp_numpy import sum_to  # the engine's own helper for a broadcast gradient


@dataclass
class Step:
    """One node processed by the engine: what arrived, and what it sent to each input."""

    tensor: object  # the Tensor whose grad_fn ran
    grad: np.ndarray  # the complete gradient of ``tensor`` handed to its grad_fn
    sent: list = field(default_factory=list)  # (input index, input Tensor, gradient, raw shape)


@dataclass
class Recording:
    """A backward pass as the engine ran it: the steps in order and the leaves' final gradients."""

    seed: np.ndarray  # the gradient backward started from (d root / d root)
    steps: list  # Step, in the order the engine processed the nodes
    leaf_grads: dict  # Tensor -> the .grad the pass left on it


def record_backward(root, tensors, gradient):
    """Run the engine's backward from ``root`` and return what it did, as a ``Recording``.

    ``tensors`` are the graph's tensors that require grad. Their ``.grad`` are set aside for the
    pass and put back afterwards, so recording changes no gradient the caller sees, whether or
    not backward ran before.
    """
    freed = [t.grad_fn.name for t in tensors if t.grad_fn is not None and t.grad_fn.freed]
    if freed:
        raise RuntimeError(
            f"to_html: the graph was freed by an earlier backward() (at {freed[0]}), so it "
            "cannot be replayed; call to_html before backward, or backward(retain_graph=True)")
    steps = []
    saved = [(t, t.grad) for t in tensors]
    wrapped = []
    try:
        for tensor in tensors:
            tensor.grad = None
            fn = tensor.grad_fn
            if fn is not None:
                fn.backward = _recording(fn, tensor, steps)
                wrapped.append(fn)
        root.backward(gradient, retain_graph=True)  # the page may be rebuilt from the graph
        leaf_grads = {t: t.grad for t in tensors if t.grad_fn is None and t.grad is not None}
    finally:
        for fn in wrapped:
            del fn.backward  # back to the class's method
        for tensor, grad in saved:
            tensor.grad = grad
    return Recording(np.array(gradient, copy=True), steps, leaf_grads)


def _recording(fn, tensor, steps):
    """A stand-in for ``fn.backward`` that calls it and appends a ``Step`` to ``steps``."""
    backward = fn.backward

    def backward_and_record(xp, grad, *inputs, out):
        grads = backward(xp, grad, *inputs, out=out)
        step = Step(tensor, np.array(grad, copy=True))
        for index, (inp, grad) in enumerate(zip(fn.inputs, grads)):
            if grad is None or not inp.requires_grad:
                continue
            grad = np.asarray(grad)
            raw_shape = grad.shape
            if raw_shape != inp.shape:  # the engine sums a broadcast gradient back the same way
                grad = sum_to(grad, inp.shape)
            step.sent.append((index, inp, np.array(grad, copy=True), raw_shape))
        steps.append(step)
        return grads

    return backward_and_record
