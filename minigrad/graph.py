"""Inspecting the autograd graph: Graphviz DOT text and a readable listing of the nodes."""

import numpy as np

from minigrad import autograd


def topological_order(root, constants=False):
    """The tensors of ``root``'s graph that require grad, every input before its users.

    With ``constants=True`` the inputs that need no grad are listed too (for drawing it). The
    backward engine visits the same list in reverse (``minigrad.autograd.topological_order``).
    """
    return autograd.topological_order([root], constants)


def _summary(array):
    """A short text for an array: its values when tiny, else its shape."""
    if array.size <= 4:
        return np.array2string(array.reshape(-1), precision=4, separator=", ")
    return f"shape {array.shape}"


def _label(tensor, names):
    kind = tensor.grad_fn.name if tensor.grad_fn is not None else (
        "leaf" if tensor.requires_grad else "constant"
    )
    name = names.get(id(tensor))
    head = f"{name}: {kind}" if name else kind
    text = f"{head}\\nshape {tensor.shape} {tensor.dtype}"
    if tensor.grad is not None:
        text += f"\\ngrad {_summary(tensor.grad)}"
    return text


def to_dot(root, names=None):
    """Return the Graphviz DOT text of ``root``'s graph.

    Each tensor is a box labelled with its operation (or "leaf"/"constant"), shape and dtype, and
    its gradient when one is stored; leaves that require grad are filled. ``names`` optionally maps
    tensors to labels: ``to_dot(loss, {w: "w", x: "x"})``.
    """
    names = {id(t): n for t, n in (names or {}).items()} if isinstance(names, dict) else {}
    lines = ["digraph minigrad {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for tensor in topological_order(root, constants=True):
        trainable = tensor.is_leaf and tensor.requires_grad
        style = ', style=filled, fillcolor="#cfe8ff"' if trainable else ""
        lines.append(f'  n{id(tensor)} [label="{_label(tensor, names)}"{style}];')
        if tensor.grad_fn is not None:
            for inp in tensor.grad_fn.inputs:
                lines.append(f"  n{id(inp)} -> n{id(tensor)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(root, path, format="png", names=None):  # noqa: A002 - graphviz's argument name
    """Render the graph to ``path`` with the optional ``graphviz`` package; return the file name."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "render needs the optional 'graphviz' package (pip install graphviz) and the Graphviz "
            "'dot' program; to_dot() gives the DOT text without them"
        ) from None
    return graphviz.Source(to_dot(root, names)).render(outfile=path, format=format, cleanup=True)


def describe(root):
    """A readable listing of the graph, one line per operation, inputs before their users.

    Each line names the node, its operation, the nodes it consumes, its shape and (after backward)
    the norm of its gradient.
    """
    order = topological_order(root) if root.requires_grad else [root]
    index = {id(t): i for i, t in enumerate(order)}
    lines = []
    for i, tensor in enumerate(order):
        if tensor.grad_fn is None:
            what = "leaf"
        else:
            args = ", ".join(
                f"t{index[id(inp)]}" if id(inp) in index else "const"
                for inp in tensor.grad_fn.inputs
            )
            what = f"{tensor.grad_fn.name}({args})"
        grad = "" if tensor.grad is None else f"  |grad| = {np.linalg.norm(tensor.grad):.4g}"
        lines.append(f"t{i} = {what:<24} shape {tensor.shape}{grad}")
    return "\n".join(lines)
