"""Checking a compiled step against eager: same program, and the same numbers.

``difference`` compares two traced programs (operations, shapes, constants, what they read):
the first two calls of a signature must give the same program, and so must every call run
with ``check=True``. ``side_by_side`` is ``check=True``: it runs the eager step (recorded),
puts everything back as it was, runs the compiled step, and compares the results, the
parameters, the gradients and the optimizers' state, raising on the first difference.
"""

import numpy as np

from minigrad import random
from minigrad.compile.program import format_instr, type_string
from minigrad.compile.trace import refuse
from minigrad.tensor import Tensor

# Largest relative difference (over each array: max |eager - compiled| / max |eager|) that
# still counts as the same result: room for another summation order, none for a wrong value.
TOLERANCE = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4}


def difference(first, second):
    """A description of the first way ``second`` differs from ``first``, or None."""
    if len(first.instrs) != len(second.instrs):
        return f"{len(first.instrs)} then {len(second.instrs)} operations"
    for a, b in zip(first.instrs, second.instrs, strict=True):
        if _line(a) != _line(b) or _objects(a) != _objects(b):
            return f"'{format_instr(a)}' ({a.note}) then '{format_instr(b)}' ({b.note})"
    for (va, ta), (_, tb) in zip(first.params, second.params, strict=False):
        if ta is not tb and (ta.requires_grad or tb.requires_grad or not np.array_equal(
                ta.data, tb.data, equal_nan=True)):
            return f"{va.label} {va.name} is another tensor, with other values"
    if len(first.params) != len(second.params):
        return "they read different tensors"
    for ca, cb in zip(first.consts, second.consts, strict=True):
        if ca.shape != cb.shape or not np.array_equal(ca.constant, cb.constant, equal_nan=True):
            return (f"constant {ca.name} ({type_string(ca.shape, ca.dtype)}) has other values, "
                    f"used by {_user(first, ca)}")
    if [t for t, _ in first.grads_out] != [t for t, _ in second.grads_out]:
        return "they leave gradients on different tensors"
    return None


def _line(instr):
    shapes = [(v.shape, v.dtype) for v in instr.outs if v is not None]
    return format_instr(instr), shapes, instr.section


def _objects(instr):
    """The objects an instruction refers to (compared by identity)."""
    attrs = instr.attrs
    return (attrs.get("function"), id(attrs.get("optimizer")) if "optimizer" in attrs else None)


def _user(program, value):
    for instr in program.instrs:
        if any(a is value for a in instr.args):
            return f"'{format_instr(instr)}' ({instr.note})"
    return "nothing"


# ----------------------------------------------------------------------- side by side
def side_by_side(entry, args, kwargs):
    """Run ``entry``'s step eagerly and compiled from the same state; raise if they differ."""
    from minigrad.compile.replay import trace_and_lower

    owner = entry.owner
    saved = _snapshot(owner)
    result, program, _ = trace_and_lower(owner, args, kwargs)
    changed = difference(entry.program, program)
    if changed:
        raise refuse(f"check: this call does not do what the compiled program does ({changed})")
    eager = _state(owner, result)
    _restore(owner, saved)
    compiled_result = entry.replay(args, kwargs)
    compiled = _state(owner, compiled_result)
    for (name, a), (_, b) in zip(eager, compiled, strict=True):
        problem = _compare(a, b)
        if problem:
            raise refuse(f"check: {name} differs between eager and compiled ({problem})")
    return compiled_result


def _top_optimizers(owner):
    inner = {id(getattr(o, "optimizer", None)) for o in owner._optimizers}
    return [o for o in owner._optimizers if id(o) not in inner]


def _snapshot(owner):
    params = [(p, p.data.copy(), p.grad, None if p.grad is None else p.grad.copy())
              for p in owner._known_params]
    optimizers = [(o, o.state_dict()) for o in _top_optimizers(owner)]
    return params, optimizers, random.get_state()


def _restore(owner, saved):
    params, optimizers, rng = saved
    for p, data, grad, grad_values in params:
        if p.data.shape == data.shape and p.data.dtype == data.dtype:
            p.data[...] = data
        else:
            p.data = data
        if grad is not None:
            grad[...] = grad_values
        p.grad = grad
    for optimizer, state in optimizers:
        optimizer.load_state_dict(state)
    random.set_state(rng)


def _state(owner, result):
    """(name, array or None) for the results, every parameter, gradient and optimizer state."""
    items = [(f"output {i}", t.data.copy()) for i, t in enumerate(_tensors(result))]
    names = owner._param_names
    for p in owner._known_params:
        label = names.get(id(p), f"a parameter of shape {p.shape}")
        items.append((f"{label}", p.data.copy()))
        items.append((f"the gradient of {label}", None if p.grad is None else p.grad.copy()))
    for optimizer in _top_optimizers(owner):
        for path, value in _flatten(optimizer.state_dict(), type(optimizer).__name__):
            items.append((path, value))
    return items


def _tensors(result):
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, tuple | list):
        return [t for r in result for t in _tensors(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _tensors(r)]
    return []


def _flatten(obj, path):
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _flatten(value, f"{path}[{key!r}]")
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from _flatten(value, f"{path}[{i}]")
    else:
        yield path, obj


def _compare(a, b):
    """None when ``a`` (eager) and ``b`` (compiled) agree, else what differs."""
    if a is None or b is None:
        return None if a is None and b is None else f"{'None' if a is None else 'a value'} " \
            f"against {'None' if b is None else 'a value'}"
    if not isinstance(a, np.ndarray):
        return None if a == b or (a != a and b != b) else f"{a!r} against {b!r}"
    if a.shape != b.shape:
        return f"shape {a.shape} against {b.shape}"
    if a.dtype.kind != "f":
        return None if np.array_equal(a, b) else "different values"
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return "NaN in one of them only"
    scale = np.nanmax(np.abs(a)) if a.size else 0.0
    error = np.nanmax(np.abs(a - b)) if a.size else 0.0
    tolerance = TOLERANCE.get(a.dtype, 1e-3)
    if error > tolerance * max(scale, np.finfo(a.dtype).tiny):
        return f"largest difference {error:.3g} for values up to {scale:.3g}"
    return None
