"""From a recording to a Program: each event of the trace becomes instructions.

- An operation becomes its forward rule's primitives (``rules.py``), or a whole call.
- A ``backward()`` becomes the backward pass written out: the engine's own algorithm (visit
  the graph in reverse topological order, send each node's gradient through its backward rule,
  sum what arrives at each tensor, accumulate into the leaves' ``.grad``), unrolled into
  straight-line code instead of executed. This is what "tracing the backward" means.
- An optimizer's ``step()`` becomes the update (``update.py``).
- Gradient clipping becomes the norm and the scaling, as primitives.

Along the way it checks that the recording tells the whole story: no tensor value read into
Python, no gradient or parameter changed by code no operation shows, no hyper-parameter changed
inside the step. A step that fails a check is refused with an error naming the cause.
"""

import copy

import numpy as np

from minigrad.compile import update
from minigrad.compile.builder import Builder, NotLowerable
from minigrad.compile.program import RESERVED, Program, Value
from minigrad.compile.rules import FORWARD, backward_rule
from minigrad.compile.trace import refuse
from minigrad.tensor import Tensor


class Retry(Exception):
    """A lowered operation's backward rule cannot be lowered: call it whole and start again."""

    def __init__(self, cls):
        super().__init__(cls.__name__)
        self.cls = cls


def lower(trace, name, inputs, param_names, tensors=()):
    """The Program of ``trace``; ``inputs`` are ``(path, name, Tensor or ndarray)`` triples,
    ``tensors`` those the step holds (their arrays, passed to an operation as a parameter,
    are read from them at every call)."""
    opaque = set()
    while True:
        try:
            return _Lowering(trace, name, inputs, param_names, frozenset(opaque),
                             tensors).run()
        except Retry as retry:
            opaque.add(retry.cls)


class _Op:
    """A lowered operation: its Function (or a copy with Values for its data), inputs, output."""

    __slots__ = ("fn", "shadow", "inputs", "out", "call")

    def __init__(self, fn, shadow, inputs, out, call):
        self.fn, self.shadow, self.inputs, self.out, self.call = fn, shadow, inputs, out, call


class _Lowering:
    def __init__(self, trace, name, inputs, param_names, opaque, tensors):
        self.trace, self.opaque, self.param_names = trace, opaque, param_names
        self.program = Program(name)
        self.xp = Builder(self.program)
        self.values = {}        # id(Tensor) -> Value
        self.array_values = {}  # id(ndarray) -> Value, for the call's arrays
        self.ops = {}           # id(Function) -> _Op
        self.grads = {}         # id(leaf) -> the Value its .grad holds now, or None
        self.grad_arrays = {}   # id(leaf) -> (eager array, copy of its values or None)
        self.grads_in = {}      # id(leaf) -> Value of the .grad the call found
        self.leaves = {}        # id(leaf) -> leaf, every tensor whose .grad the step touched
        self.stepped = set()    # id(parameter) of parameters an optimizer updated
        self._short_names = {}
        self.held = {id(t.data): t for t in tensors}  # arrays of tensors the step holds
        self.held_tensors = {id(t) for t in tensors}
        for path, arg_name, obj in inputs:
            array = obj.data if isinstance(obj, Tensor) else obj
            value = self.xp.new_value(array.shape, array.dtype, "input", name=arg_name)
            self.program.inputs.append((value, path))
            self.array_values[id(array)] = value
            if isinstance(obj, Tensor):
                self.values[id(obj)] = value
            self._short_names[arg_name] = 1

    def run(self):
        for event in self.trace.events:
            getattr(self, f"_{event.kind}")(event)
        self._check_untouched()
        self._finish_grads()
        self.program.outputs = self._output(self.trace.result)
        _eliminate_dead_code(self.program)
        self._name_gradients()
        return self.program

    def _name_gradients(self):
        """Call the gradients the step leaves in ``.grad`` after their parameters (w0 -> dw0),
        and number the other results in order: t0, t1, ..."""
        order = {id(t): i for i, (_, t) in enumerate(self.program.params)}
        self.program.grads_out.sort(key=lambda pair: order.get(id(pair[0]), len(order)))
        for tensor, value in self.program.grads_out:
            param = self.values.get(id(tensor))
            if value is None or value.kind != "temp" or param is None or \
                    not value.name.startswith("t"):
                continue
            name = f"d{param.name}"
            if name not in self._short_names:
                self._short_names[name] = 1
                value.name = name
        count = 0
        for instr in self.program.instrs:
            for value in instr.outs:
                if value is not None and value.kind == "temp" and value.name[:1] == "t" and \
                        value.name[1:].isdigit():
                    value.name = f"t{count}"
                    count += 1

    # ------------------------------------------------------------------- values
    def value_of(self, tensor):
        """The Value of ``tensor``: computed, an input, or a tensor read at every call."""
        value = self.values.get(id(tensor))
        if value is not None:
            return value
        value = self.array_values.get(id(tensor.data))
        if value is None:
            if tensor.grad_fn is not None:
                raise refuse("the step uses a tensor computed before it was called, still "
                             "part of a graph; compute it inside the step or detach() it")
            if tensor.ndim == 0 and not tensor.requires_grad and id(tensor) not in \
                    self.held_tensors:
                value = self.xp.literal(tensor.data)  # a number the step made: in the code
            else:
                value = self._leaf_value(tensor)
        self.values[id(tensor)] = value
        return value

    def _leaf_value(self, tensor):
        """A Value for a leaf tensor whose ``.data`` the program reads at every call."""
        label = self.param_names.get(id(tensor))
        short = _short_name(label, tensor.requires_grad, self._short_names)
        value = self.xp.new_value(tensor.shape, tensor.dtype, "param", name=short,
                                  label=label or ("a tensor" if tensor.requires_grad else
                                                  "a tensor made in the step"))
        self.program.params.append((value, tensor))
        return value

    def _param(self, value):
        """An operation's parameter with its arrays as Values (inputs, or captured constants)."""
        if isinstance(value, np.ndarray):
            known = self.array_values.get(id(value))
            if known is None and id(value) in self.held:
                known = self.value_of(self.held[id(value)])
            return known if known is not None else self.xp.constant(value)
        if isinstance(value, tuple):
            return tuple(self._param(v) for v in value)
        if isinstance(value, list):
            return [self._param(v) for v in value]
        return value

    # -------------------------------------------------------------- operations
    def _op(self, event):
        fn, result = event.fn, event.result
        if type(fn).__name__ == "Pack":
            raise refuse("module backward hooks inside a compiled step")
        inputs = [self.value_of(t) for t in event.inputs]
        params = {key: self._param(v) for key, v in event.params.items()}
        self.xp.section = "forward"
        op = self._lowered(fn, inputs, params, result) or self._call(fn, inputs, params, result)
        self.ops[id(fn)] = op
        self.values[id(result)] = op.out
        # Its array may come back as another operation's parameter (a reshaped target) or
        # inside another tensor (detach()): either way it is this value.
        self.array_values.setdefault(id(result.data), op.out)

    def _lowered(self, fn, inputs, params, result):
        """The operation as primitives (its forward rule), or None when it has none."""
        rule = FORWARD.get(type(fn))
        if rule is None or type(fn) in self.opaque:
            return None
        marks = len(self.program.instrs), len(self.program.consts)
        shadow = copy.copy(fn)
        self.xp.note = fn.name
        try:
            out = self.xp.operand(rule(self.xp, shadow, *inputs, **params))
            if out.shape != result.data.shape or out.dtype != result.data.dtype:
                raise NotLowerable(f"{fn.name}: the rule gives {out}, eager {result.data.dtype}"
                                   f"{result.data.shape}")
        except NotLowerable:
            del self.program.instrs[marks[0]:]
            del self.program.consts[marks[1]:]
            return None
        return _Op(fn, shadow, inputs, out, None)

    def _call(self, fn, inputs, params, result):
        """The operation called whole at every replay: ``type(fn)().forward(...)``."""
        out = self.xp.new_value(result.data.shape, result.data.dtype)
        self.xp.note = f"{fn.name} (called)"
        instr = self.xp.emit_many("call", inputs, [out], function=type(fn), params=params,
                                  needs=tuple(fn.needs_input_grad))
        return _Op(fn, None, inputs, out, instr)

    # ---------------------------------------------------------------- backward
    def _backward(self, event):
        xp = self.xp
        if event.create_graph:
            raise refuse("backward(create_graph=True) inside a compiled step")
        xp.section = "backward"
        pending = {}
        keep = {}
        for root, grad in zip(event.roots, event.root_grads, strict=True):
            seed = self._seed(root, grad)
            pending[id(root)] = seed if id(root) not in pending else pending[id(root)] + seed
        only = None if event.inputs is None else {id(t) for t in event.inputs}
        for tensor in reversed(event.order):
            grad = pending.pop(id(tensor), None)
            if grad is None:
                continue
            if tensor._hooks:
                raise refuse("a tensor hook (register_hook) inside a compiled step")
            fn = tensor.grad_fn
            if fn is None or tensor._retains_grad:
                if only is None or id(tensor) in only:
                    self._accumulate(tensor, grad, event)
                if fn is None:
                    continue
            for inp, inp_grad in zip(fn.inputs, self._vjp(fn, grad)):
                if inp_grad is None or not inp._requires_grad:
                    continue
                if inp_grad.shape != inp.shape:
                    inp_grad = xp.sum_to(inp_grad, inp.shape)
                previous = pending.get(id(inp))
                pending[id(inp)] = inp_grad if previous is None else previous + inp_grad
                keep[id(inp)] = inp

    def _seed(self, root, grad):
        """d root / d root: ones (backward() without a gradient), an input, or a constant."""
        known = self.array_values.get(id(grad))
        if known is not None:
            return known
        if np.all(grad == 1):
            return self.xp.broadcast_to(self.xp.literal(np.ones((), grad.dtype)[()]), grad.shape)
        return self.xp.constant(grad)

    def _vjp(self, fn, grad):
        """The gradients of ``fn``'s inputs, as Values: its backward rule, lowered or called."""
        op = self.ops.get(id(fn))
        if op is None:
            raise refuse(f"backward reaches {fn.name}, an operation run before the step was "
                         "called; compute everything the loss needs inside the step")
        xp = self.xp
        if op.call is None:
            xp.note = f"vjp {fn.name}"
            try:
                return backward_rule(op.shadow, xp, grad, op.inputs, op.out)
            except NotLowerable:
                raise Retry(type(fn)) from None
        xp.note = f"vjp {fn.name} (called)"
        outs = [xp.new_value(inp.shape, inp.dtype) if need else None
                for inp, need in zip(op.inputs, fn.needs_input_grad, strict=True)]
        xp.emit_many("call_vjp", [grad], outs, forward=op.call)
        return outs

    def _accumulate(self, leaf, grad, event):
        """Add ``grad`` into ``leaf.grad``, as the engine does (a copy first, then sums)."""
        xp = self.xp
        current = self._current_grad(leaf, event.grads_before.get(id(leaf)))
        dtype = leaf.data.dtype
        grad = xp.astype(grad, dtype)
        new = grad if current is None else xp.astype(current + grad, dtype)
        self.grads[id(leaf)] = new
        self.leaves[id(leaf)] = leaf
        self.grad_arrays[id(leaf)] = event.grads_after.get(id(leaf), (None, None))

    def _current_grad(self, leaf, eager):
        """What ``leaf.grad`` holds in the program, given the array eager had there then."""
        if eager is None:
            return None
        known = self.grad_arrays.get(id(leaf))
        if known is not None and _same_array(eager, *known):
            return self.grads[id(leaf)]
        if eager is self.trace.start_grads.get(id(leaf)):
            return self._grad_in(leaf)
        raise refuse(f"the gradient of {self._label(leaf)} was set by code the recorder cannot "
                     "see (assigned, or changed with NumPy, inside the step)")

    def _grad_in(self, leaf):
        """A Value for the ``.grad`` the call finds (the step adds to it, or steps with it)."""
        if id(leaf) not in self.grads_in:
            grad = leaf.grad if leaf.grad is not None else self.trace.start_grads[id(leaf)]
            value = self.xp.new_value(grad.shape, grad.dtype, "grad_in",
                                      name=f"{self.value_of(leaf).name}_grad",
                                      label=f"{self._label(leaf)}.grad")
            self.grads_in[id(leaf)] = value
            self.program.grads_in.append((value, leaf))
            self.leaves[id(leaf)] = leaf
        return self.grads_in[id(leaf)]

    def _label(self, tensor):
        return self.param_names.get(id(tensor)) or f"a tensor of shape {tensor.shape}"

    # -------------------------------------------------------- optimizer, clipping
    def _step(self, event):
        optimizer = event.optimizer
        grads = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                eager, copied = event.grads[id(p)]
                value = self._current_grad(p, eager)
                if eager is not None:
                    known = self.grad_arrays.get(id(p))
                    if known is not None and known[1] is not None and copied is not None \
                            and not np.array_equal(known[1], copied, equal_nan=True):
                        raise refuse(f"the gradient of {self._label(p)} was changed in place "
                                     "between backward() and optimizer.step() by code the "
                                     "recorder cannot see; clip with nn.utils.clip_grad_norm_ "
                                     "or clip_grad_value_, which it follows")
                    self.value_of(p)
                    self.stepped.add(id(p))
                grads.append((p, value))
        self.xp.section = "update"
        self.xp.note = type(optimizer).__name__
        update.lower_step(self.xp, optimizer, grads, self.value_of)

    def _clip(self, event):
        xp = self.xp
        xp.section, xp.note = "backward", event.function
        grads = []
        for p in event.params:
            value = self._current_grad(p, self._grad_now(p))
            if value is not None:
                grads.append((p, value))
        if not grads:
            return
        clipped = update.lower_clip(xp, event.function, [g for _, g in grads], event.args,
                                    event.kwargs)
        for (p, _), value in zip(grads, clipped, strict=True):
            self.grads[id(p)] = value
            array = self.grad_arrays.get(id(p), (None, None))[0]
            self.grad_arrays[id(p)] = (array, None)  # changed in place: known by identity

    def _grad_now(self, p):
        """The eager ``.grad`` of ``p`` at the clip: the array the last event left there."""
        known = self.grad_arrays.get(id(p))
        if known is not None:
            return known[0]
        return self.trace.start_grads.get(id(p))

    def _read(self, event):
        """A value read into Python: allowed only for constants."""
        tensor = event.tensor
        value = self.values.get(id(tensor))
        if value is None:
            value = self.array_values.get(id(tensor.data))
        if value is None and not tensor.requires_grad:
            return  # a constant: reading it decides nothing that could change between calls
        raise refuse(f"the step reads a tensor's value with {event.how} at {event.where} "
                     "while being traced; a replay repeats the operations, not the Python "
                     "decisions taken on values: return the tensor and read it outside the step")

    # ------------------------------------------------------------- final checks
    def _check_untouched(self):
        """Parameters no recorded operation changed must hold the values they had."""
        for p, before in self.trace.start_data.values():
            if id(p) in self.stepped:
                continue
            if p.data.shape != before.shape or not np.array_equal(p.data, before, equal_nan=True):
                raise refuse(f"{self._label(p)} was changed in place by code the recorder "
                             "cannot see (NumPy on .data inside the step?); only optimizer "
                             "steps may change parameters in a compiled step")
        for module, training in self.trace.start_modes:
            if module.training != training:
                raise refuse(f"the step switched {type(module).__name__} to "
                             f"{'training' if module.training else 'evaluation'} mode; switch "
                             "modes outside the step (a replay does not run that code)")
        for optimizer, group, hyper, params in self.trace.start_hyper:
            now = {k: v for k, v in group.items() if k != "params"}
            if now != hyper or group["params"] != params:
                changed = sorted(k for k in set(now) | set(hyper) if now.get(k) != hyper.get(k))
                raise refuse(f"the step changed the hyper-parameters of {type(optimizer).__name__}"
                             f" ({', '.join(changed) or 'params'}); change them outside the step "
                             "(e.g. call scheduler.step() between calls): a replay reads them at "
                             "every call but does not run the code that changes them")

    def _finish_grads(self):
        """Each touched ``.grad`` after the call: a program value, or None."""
        for key, leaf in self.leaves.items():
            final = leaf.grad
            value = self.grads.get(key)
            if final is None:
                self.program.grads_out.append((leaf, None))
                continue
            known = self.grad_arrays.get(key)
            if value is not None and known is not None and _same_array(final, *known):
                self.program.grads_out.append((leaf, value))
                continue
            if final is self.trace.start_grads.get(key) and value is None:
                continue  # untouched: the replay leaves it alone too
            if value is not None and known is not None and known[1] is None:
                self.program.grads_out.append((leaf, value))  # clipped in place: same array
                continue
            raise refuse(f"the gradient of {self._label(leaf)} was set by code the recorder "
                         "cannot see")

    def _output(self, result):
        """The returned structure with Values in place of the Tensors."""
        if isinstance(result, Tensor):
            if id(result) in self.values:
                return self.values[id(result)]
            return result  # a tensor no operation made (returned as it is)
        if isinstance(result, tuple | list):
            return type(result)(self._output(r) for r in result)
        if isinstance(result, dict):
            return {k: self._output(v) for k, v in result.items()}
        if result is None or isinstance(result, str):
            return result
        raise refuse(f"the step returned a {type(result).__name__}; a compiled step may return "
                     "Tensors (in tuples, lists or dicts) or None (read values, e.g. with "
                     ".item(), outside the step)")


def _same_array(array, known, copied):
    """``array`` is ``known``, or holds the values ``copied`` (an optimizer may re-home it)."""
    if array is known:
        return True
    return copied is not None and array.shape == copied.shape and \
        np.array_equal(array, copied, equal_nan=True)


def _short_name(label, requires_grad, taken):
    """A tensor the step holds as a variable keeps that name (``x``, ``w``); parameters are
    w0, b0, p0 (weight, bias, other), other tensors d0, d1, ..."""
    if label and label.isidentifier() and label not in taken and \
            not (label[0] in "tcwbpdsgfij" and label[1:].isdigit()) and label not in RESERVED:
        taken[label] = 1
        return label
    if not requires_grad:
        prefix = "d"
    else:
        last = (label or "").rsplit(".", 1)[-1]
        prefix = "w" if "weight" in last else "b" if "bias" in last else "p"
    count = taken.get(prefix, 0)
    taken[prefix] = count + 1
    return f"{prefix}{count}"


def _eliminate_dead_code(program):
    """Drop instructions whose results nothing needs (random draws are kept: each draw moves
    the generator on, which the next call's draws depend on)."""
    needed = set()
    _collect(program.outputs, needed)
    for _, value in program.grads_out:
        if value is not None:
            needed.add(id(value))
    kept = []
    for instr in reversed(program.instrs):
        effect = instr.op in ("check_index", "uniform", "step", "update", "call_vjp")
        if effect or any(v is not None and id(v) in needed for v in instr.outs):
            kept.append(instr)
            for arg in instr.args:
                if arg is not None:
                    needed.add(id(arg))
            forward = instr.attrs.get("forward")
            if forward is not None:
                needed.add(id(forward.out))
    kept.reverse()
    program.instrs[:] = kept
    program.consts[:] = [c for c in program.consts if id(c) in needed]
    program.params[:] = [(v, t) for v, t in program.params if id(v) in needed]


def _collect(outputs, needed):
    if isinstance(outputs, Value):
        needed.add(id(outputs))
    elif isinstance(outputs, tuple | list):
        for o in outputs:
            _collect(o, needed)
    elif isinstance(outputs, dict):
        for o in outputs.values():
            _collect(o, needed)
