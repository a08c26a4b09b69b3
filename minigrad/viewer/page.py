"""The viewer page: one self-contained HTML file, and the ``Graph`` object that makes it."""

import html
import json
import re
from importlib import resources

import numpy as np

from minigrad.tensor import Tensor
from minigrad.viewer.payload import build_payload


class Graph:
    """A computation's graph and its recorded backward pass, ready to view in a browser.

    ``Graph(loss)`` runs backward once on the graph (leaving every ``.grad`` as it was) and keeps
    what the engine did. In Jupyter it shows inline; elsewhere ``save(path)`` writes the page.

    ``names`` maps tensors to labels, as in ``to_dot``; with ``module`` (a ``nn.Module``) its
    parameters are labelled by name and its sub-modules' nodes are grouped. ``gradient`` is the
    gradient backward starts from; by default ones, as ``root.sum().backward()`` would use.
    """

    def __init__(self, root, names=None, module=None, gradient=None):
        _check_root(root)
        if names is not None and not isinstance(names, dict):
            raise TypeError(f"to_html: names must be a dict of tensor -> label, got "
                            f"{type(names).__name__}")
        for key in names or ():
            if not isinstance(key, Tensor):
                raise TypeError(f"to_html: names must map tensors to labels, got a key of type "
                                f"{type(key).__name__} ({key!r})")
        if gradient is None:
            gradient = np.ones(root.shape, dtype=root.dtype)
        self.data = build_payload(root, dict(names or {}), module, gradient)

    def to_html(self):
        """Return the page as one HTML string (styles, script and data inline)."""
        data = json.dumps(self.data, separators=(",", ":"), allow_nan=False)
        data = data.replace("<", "\\u003c")  # no "</script>" can end the data block early
        parts = {"/*STYLE*/": _asset("viewer.css"), "/*SCRIPT*/": _asset("viewer.js"),
                 "__TITLE__": html.escape(self.data["title"]), "__DATA__": data}
        # One pass over the template, so nothing inserted is itself searched for placeholders.
        return re.sub("|".join(map(re.escape, parts)), lambda m: parts[m.group()],
                      _asset("template.html"))

    def save(self, path):
        """Write the page to ``path`` and return ``path``."""
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.to_html())
        return path

    def _repr_html_(self):
        # An iframe keeps the page's script and styles apart from the notebook's own.
        page = html.escape(self.to_html(), quote=True)
        return (f'<iframe srcdoc="{page}" style="width: 100%; height: 640px; border: 1px solid '
                '#ccc" sandbox="allow-scripts"></iframe>')


def to_html(tensor, path=None, names=None, module=None, gradient=None):
    """Return a self-contained HTML page showing ``tensor``'s graph and stepping through backward.

    Open the file in any browser (no network, no server). The graph is laid out from the
    leaves to ``tensor``; each node shows its operation, shape, dtype, values and, after
    backward, its gradient. The arrow keys (or the buttons) walk the backward pass node by node
    in the engine's order, showing the gradient arriving, the local derivative rule and what is
    sent to each input. ``path``: also write the page there. ``names``, ``module``, ``gradient``:
    as for ``Graph``.

    >>> html = minigrad.graph.to_html(loss, "graph.html", module=model)
    """
    page = Graph(tensor, names=names, module=module, gradient=gradient).to_html()
    if path is not None:
        with open(path, "w", encoding="utf-8") as file:
            file.write(page)
    return page


def _check_root(root):
    if not isinstance(root, Tensor):
        raise TypeError(f"to_html: expected a minigrad Tensor, got {type(root).__name__}")
    if root.grad_fn is None:
        why = ("it is a leaf that requires grad" if root.requires_grad else
               "it was not made by an operation on tensors with requires_grad=True (or was "
               "made under no_grad)")
        raise ValueError(f"to_html: the tensor has no graph to show (grad_fn is None): {why}; "
                         "pass the result of a computation, such as a loss")


def _asset(name):
    return resources.files("minigrad.viewer").joinpath(name).read_text(encoding="utf-8")
