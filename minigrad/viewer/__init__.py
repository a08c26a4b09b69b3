"""A self-contained HTML viewer of an autograd graph that steps through the backward pass.

``minigrad.graph.to_html(loss, "graph.html")`` writes one file (inline SVG, CSS and JavaScript,
no network) that draws the graph from the leaves to ``loss`` and replays backward node by node,
in the engine's order, with the gradient arriving, the local derivative rule and the gradients
sent to each input. ``minigrad.graph.Graph(loss)`` shows the same page inline in Jupyter.

- ``record.py``: runs the engine's backward and writes down what it did (the one place that
  knows how the engine calls a node);
- ``rules.py``: each operation's derivative rule, as text;
- ``groups.py``: groups nodes by Module and time step, so big graphs fold up;
- ``payload.py``: the page's data (nodes, groups, steps, value summaries);
- ``page.py``, ``template.html``, ``viewer.css``, ``viewer.js``: the page itself.
"""

from minigrad.viewer.page import Graph, to_html

__all__ = ["Graph", "to_html"]
