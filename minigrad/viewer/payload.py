"""The data the viewer page embeds: nodes, groups and the recorded backward steps, as JSON types.

Each array is summarised by ``value_record``: small arrays in full (as the shortest decimals that
read back to the same numbers, so a test can compare them exactly), larger ones as their
statistics (min, max, mean, std, norm) and a histogram. That keeps an MLP step's page far below
2 MB whatever the batch size.
"""

import numpy as np

from minigrad.graph import topological_order
from minigrad.viewer.groups import module_groups
from minigrad.viewer.record import record_backward
from minigrad.viewer.rules import rule_for

FULL_LIMIT = 100  # arrays up to this many elements are embedded in full
HISTOGRAM_BINS = 20


def build_payload(root, names, module, gradient):
    """Record the backward pass of ``root`` and return the page's data as a JSON-ready dict."""
    order = topological_order(root, constants=True)
    index = {t: i for i, t in enumerate(order)}
    param_names, module_types = _module_names(module)
    labels = {**param_names, **names}
    groups, group_of = module_groups(order, param_names, module_types)

    recording = record_backward(root, [t for t in order if t.requires_grad], gradient)
    final = {root: recording.seed, **recording.leaf_grads}
    processed = {}
    for number, step in enumerate(recording.steps):
        final[step.tensor] = step.grad
        processed[step.tensor] = number

    nodes = [_node(t, index, labels, group_of.get(t), final.get(t), processed.get(t))
             for t in order]
    return {
        "title": _title(root, labels),
        "root": index[root],
        "seed": value_record(recording.seed),
        "nodes": nodes,
        "groups": groups,
        "steps": _steps(recording.steps, index, final),
    }


def _module_names(module):
    """Parameter names and each sub-module's class name, from ``module`` (or empty)."""
    if module is None:
        return {}, {}
    if not hasattr(module, "named_parameters") or not hasattr(module, "named_modules"):
        raise TypeError(
            f"to_html: module must be a minigrad.nn.Module, got {type(module).__name__}"
        )
    param_names = {p: name for name, p in module.named_parameters()}
    module_types = {path: type(m).__name__ for path, m in module.named_modules() if path}
    return param_names, module_types


def _title(root, labels):
    what = labels.get(root) or (root.grad_fn.name if root.grad_fn is not None else "tensor")
    shape = f"shape {tuple(root.shape)}" if root.shape else "scalar"
    return f"minigrad: the graph of {what} ({shape})"


def _node(tensor, index, labels, group, grad, step):
    fn = tensor.grad_fn
    if fn is not None:
        op = fn.name
    else:
        op = "leaf" if tensor.requires_grad else "constant"
    node = {
        "id": index[tensor],
        "op": op,
        "name": labels.get(tensor),
        "shape": list(tensor.shape),
        "dtype": str(tensor.dtype),
        "requires_grad": tensor.requires_grad,
        "inputs": [index[i] for i in fn.inputs] if fn is not None else [],
        "value": value_record(tensor.data),
    }
    if fn is not None:
        node["rule"] = rule_for(fn)
    if group is not None:
        node["group"] = group
    if grad is not None:
        node["grad"] = value_record(grad)
    if step is not None:
        node["step"] = step
    return node


def _steps(steps, index, final):
    """The steps, and for every gradient sent its rank among those its target receives.

    A gradient that is its target's whole gradient (the only one it receives) is not repeated:
    the page shows the target's own. Nor is the running total once the last one has arrived.
    """
    count = {}
    for step in steps:
        for _, target, _, _ in step.sent:
            count[target] = count.get(target, 0) + 1
    received, totals = {}, {}  # per target: how many gradients so far, and their sum
    result = []
    for step in steps:
        sent = []
        for position, target, grad, raw_shape in step.sent:
            received[target] = nth = received.get(target, 0) + 1
            entry = {"to": index[target], "input": position, "nth": nth, "of": count[target]}
            if count[target] > 1 or not np.array_equal(grad, final.get(target)):
                entry["grad"] = value_record(grad)
            if raw_shape != target.shape:
                entry["broadcast_from"] = list(raw_shape)
            totals[target] = grad if nth == 1 else totals[target] + grad
            if 1 < nth < count[target]:  # shown as "earlier ones + this = running total"
                entry["total"] = value_record(totals[target])
            sent.append(entry)
        result.append({"node": index[step.tensor], "sent": sent})
    return result


def value_record(array):
    """A summary of ``array`` for the page: in full when small, else statistics and a histogram."""
    array = np.asarray(array)
    record = {"size": int(array.size)}
    if array.size == 0:
        return record
    if array.size <= FULL_LIMIT:
        record["full"] = [_exact(v) for v in array.reshape(-1)]
    if array.dtype.kind == "b":
        array = array.astype(np.int8)
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array.reshape(-1)
    if finite.size < array.size:
        record["nonfinite"] = int(array.size - finite.size)
    if finite.size and "full" not in record:  # the page works the statistics out from "full"
        finite = finite.astype(np.float64)
        record["stats"] = [_short(v) for v in (finite.min(), finite.max(), finite.mean(),
                                               finite.std(), np.sqrt(np.square(finite).sum()))]
        record["hist"] = np.histogram(finite, bins=HISTOGRAM_BINS)[0].tolist()
    return record


def _exact(value):
    """``value`` as a Python number that reads back to the very same element, or a string."""
    if isinstance(value, np.floating):
        if not np.isfinite(value):
            return str(value)  # 'nan', 'inf', '-inf': JSON has no such numbers
        return float(str(value))  # the shortest decimal that rounds back to this float32/64
    return value.item()


def _short(value):
    """``value`` to four significant digits, for the summaries."""
    return float(f"{value:.4g}")
