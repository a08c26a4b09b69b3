"""Group a graph's nodes by the Module they belong to, and a recurrent module's nodes by time step.

A graph does not record which Module made a node, so the grouping reads it from the parameters:

- a module's *parameter-only* nodes are those computed from its parameters alone (``W.T``,
  not ``x @ W.T``);
- its *touching* nodes are the other nodes that take one of those or a parameter as input;
- its group is its parameters, those nodes, and every node lying on a path between two of its
  touching nodes that crosses no other module's parameters.

So the group of an RNN cell unrolled over time holds every step, and a loss computed after the
last layer stays outside it. The last step's output activation, which comes after the module's
last use of its parameters, stays outside as well: that is the price of reading the graph only.

When a module is called over and over with each call feeding the next (an RNN cell over time),
one parameter is used once per call along a chain. Counting how many of those uses lie upstream
of a node gives the node's call (time step); nodes upstream of every use in their call (the input
projection ``x_t W_ih^T``, a fresh ``W.T``) take the first call that consumes them.
"""


def module_groups(order, param_names, module_types):
    """Return ``(groups, group_of)``: the group list and each tensor's innermost group id.

    ``order`` lists the graph's tensors, inputs before users; ``param_names`` maps a parameter
    to its dotted name (``"rnn.weight_hh"``); ``module_types`` maps a module path to its class
    name. Each group is a dict with ``id``, ``label`` and ``parent`` (a group id or None).
    Groups of fewer than two tensors are dropped, their tensor going to the parent group.
    """
    graph = _Graph(order)
    paths = sorted({prefix for name in param_names.values() for prefix in _prefixes(name)})
    claims = {}  # tensor -> module path of the deepest module claiming it
    for path in paths:
        own = {p for p, name in param_names.items() if name.startswith(path + ".")}
        for tensor in _members(graph, own, set(param_names) - own):
            if _depth(claims.get(tensor)) < _depth(path):
                claims[tensor] = path
    groups = {path: {"id": path, "label": f"{path} ({module_types.get(path, 'Module')})",
                     "parent": _parent(path, paths)} for path in paths}
    for path in paths:
        members = [t for t in order if claims.get(t) == path]
        own = [p for p in members if p in param_names]
        steps = _time_steps(graph, members, own)
        if steps:
            _complete_last_step(graph, claims, steps)
        for t, step in steps.items():
            step_id = f"{path}#{step}"
            groups.setdefault(step_id, {"id": step_id, "label": f"{path}, time step {step}",
                                        "parent": path})
            claims[t] = step_id
    _claim_constants(graph, claims)
    return _drop_small(groups, claims)


class _Graph:
    """The inputs and consumers of each tensor of ``order``."""

    def __init__(self, order):
        self.order = order
        self.inputs = {t: list(t.grad_fn.inputs) if t.grad_fn is not None else [] for t in order}
        self.consumers = {t: {} for t in order}  # dicts as ordered sets (Tensor == is elementwise)
        for t in order:
            for inp in self.inputs[t]:
                self.consumers[inp][t] = None


def _prefixes(name):
    """The module paths above a dotted parameter name: 'a.b.w' -> 'a', 'a.b'."""
    parts = name.split(".")[:-1]
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _depth(path):
    return -1 if path is None else path.count(".")


def _parent(path, paths):
    prefixes = _prefixes(path + ".x")[:-1]
    return next((p for p in reversed(prefixes) if p in paths), None)


def _members(graph, own, foreign):
    """The tensors of the module whose parameters are ``own`` (see the module docstring)."""
    derived = set(own)  # parameters and nodes computed from them alone
    alien = set(foreign)  # the same for the other modules
    touching, barrier = [], set()
    for t in graph.order:
        inputs = graph.inputs[t]
        grad_inputs = [i for i in inputs if i.requires_grad]
        if not grad_inputs:
            continue
        if all(i in derived for i in inputs):
            derived.add(t)
        elif all(i in alien for i in inputs):
            alien.add(t)
        elif any(i in alien for i in grad_inputs):
            barrier.add(t)  # another module's use of its parameters
        elif any(i in derived for i in grad_inputs):
            touching.append(t)
    downstream = _reach(touching, graph.consumers, barrier | alien)
    upstream = _reach(touching, graph.inputs, barrier | alien)
    return derived | set(touching) | (downstream & upstream)


def _reach(starts, neighbours, barrier):
    """The tensors reachable from ``starts`` through ``neighbours``, never entering ``barrier``."""
    seen, stack = set(starts), list(starts)
    while stack:
        for n in neighbours.get(stack.pop(), ()):
            if n not in seen and n not in barrier and n.requires_grad:
                seen.add(n)
                stack.append(n)
    return seen


def _time_steps(graph, members, own):
    """Map each non-parameter member to its call number when the module is recurrent, else {}."""
    member_set, own_set = set(members), set(own)
    best = {}
    for param in own:
        uses = _uses(graph, members, param)
        count = {}
        for t in members:
            if t in own_set:
                continue
            upstream = [count[i] for i in graph.inputs[t] if i in count]
            count[t] = max(upstream, default=0) + (t in uses)
        if len(uses) >= 2 and sorted(count[t] for t in uses) == list(range(1, len(uses) + 1)):
            if len(uses) > len(best.get("uses", ())):
                best = {"uses": uses, "count": count}
    if not best:
        return {}
    step = dict(best["count"])
    for t in reversed(members):  # nodes before their call's first use take that call's number
        if t in step and step[t] == 0:
            later = [step[c] for c in graph.consumers[t] if c in member_set and step.get(c)]
            step[t] = min(later, default=len(best["uses"]))  # else it feeds the last call
    return step


def _complete_last_step(graph, claims, steps):
    """Add to the last call the nodes after its last parameter use, as many as the call before has.

    Those nodes (the last step's activation) lie after every use of the module's parameters,
    so ``_members`` cannot tell them from whatever the model computes next; the calls before
    say how many there are. They are the first unclaimed nodes computed from the last call.
    """
    last = max(steps.values())
    size = {n: sum(1 for s in steps.values() if s == n) for n in (last - 1, last)}
    missing = size[last - 1] - size[last]
    for t in graph.order:
        if missing <= 0:
            break
        inputs = [i for i in graph.inputs[t] if i.requires_grad]
        if t in claims or not inputs or not all(i in steps for i in inputs):
            continue
        if any(steps[i] == last for i in inputs):
            steps[t] = last
            claims[t] = "tail"  # replaced by the step's group id by the caller
            missing -= 1


def _uses(graph, members, param):
    """The members that take ``param``, or a node computed from it alone, as input."""
    from_param = {param}
    uses = set()
    for t in members:
        inputs = graph.inputs[t]
        if inputs and all(i in from_param for i in inputs):
            from_param.add(t)
        elif any(i in from_param for i in inputs):
            uses.add(t)
    return uses


def _claim_constants(graph, claims):
    """Put each constant (and unclaimed leaf) in its consumers' group when they share one."""
    for t in graph.order:
        if t.grad_fn is None and t not in claims:
            owners = {claims.get(c) for c in graph.consumers[t]}
            if len(owners) == 1 and None not in owners:
                claims[t] = owners.pop()


def _drop_small(groups, claims):
    """Remove groups holding fewer than two tensors in all; their members move up a level."""
    size = dict.fromkeys(groups, 0)
    for group in claims.values():
        while group is not None:
            size[group] += 1
            group = groups[group]["parent"]
    kept = {g for g, n in size.items() if n >= 2}

    def nearest_kept(group):
        while group is not None and group not in kept:
            group = groups[group]["parent"]
        return group

    group_of = {t: nearest_kept(g) for t, g in claims.items()}
    result = []
    for g in groups.values():
        if g["id"] in kept:
            result.append(dict(g, parent=nearest_kept(g["parent"])))
    return result, {t: g for t, g in group_of.items() if g is not None}
