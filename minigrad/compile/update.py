"""The optimizer update and gradient clipping inside a compiled step: the one place they are made.

An optimizer step becomes one instruction, ``step(optimizer, grads)``: the replay gives each
parameter its gradient, then calls ``optimizer.step()`` itself. That is the optimizer's own
public behaviour, so schedulers, ``param_groups`` edits, ``load_state_dict`` and wrappers like
Lookahead keep working between calls, with nothing of the optimizer copied here: its
hyper-parameters are read by its own code at every call.

When the optimizer's class exposes its update as one plain function over one parameter's
arrays, ``update(param, grad, *state, **hyper_parameters, step)``, the step can go inside the
compiled kernel instead, one call of that same function per parameter: ``update_function``
says whether it can. Everything about that seam lives in this file, so that a change of the
optimizers' internals touches nothing else.

Gradient clipping (``nn.utils.clip_grad_norm_``, ``clip_grad_value_``) works on the ``.grad``
arrays in place, which no operation shows; ``lower_clip`` writes the same arithmetic as
primitives.
"""

import inspect
import math

import numpy as np

from minigrad.compile.trace import refuse


def update_function(optimizer):
    """``(function, state names, hyper-parameter names)`` of a kernel-level seam, or None.

    The seam is a class attribute ``update``: a plain function whose positional parameters are
    ``param, grad`` and the state arrays (named as in ``optimizer.state[p]``), and whose
    keyword-only parameters are the param group's hyper-parameters and ``step``.
    """
    function = getattr(type(optimizer), "update", None)
    if not inspect.isfunction(function):
        return None
    parameters = inspect.signature(function).parameters.values()
    positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    keywords = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
    if positional[:2] != ["param", "grad"] or (keywords and keywords[-1] != "step"):
        return None
    return function, tuple(positional[2:]), tuple(k for k in keywords if k != "step")


def lower_step(xp, optimizer, grads, value_of):
    """Record ``optimizer.step()`` with ``grads``: ``[(parameter, its gradient Value or None)]``.

    With the kernel-level seam, one ``update`` instruction per parameter with a gradient (the
    optimizer's update function on its arrays, in the kernel). Otherwise one ``step``
    instruction: the replay sets each ``p.grad`` to its Value (or None) and calls
    ``optimizer.step()``. Either way the gradients are the arguments, so nothing that computes
    them is dropped, and the position fixes when the parameters change.
    """
    seam = _kernel_seam(optimizer, grads)
    if seam is None:
        args = [g for _, g in grads if g is not None]
        xp.emit_many("step", args, [], optimizer=optimizer, grads=tuple(grads),
                     label=type(optimizer).__name__, names=[value_of(p).name for p, _ in grads],
                     has_grad=[g is not None for _, g in grads])
        return
    function, state_arrays, hyper = seam
    grad_of = {id(p): g for p, g in grads}
    for index, group in enumerate(optimizer.param_groups):
        kept = tuple(optimizer._state_names(group))
        for p in group["params"]:
            grad = grad_of.get(id(p))
            if grad is None:
                continue  # eager skips a parameter without a gradient too
            if grad.instr is not None and grad.instr.op in ("reshape", "transpose",
                                                            "broadcast_to"):
                grad = xp.emit("cast", [grad], grad.shape, grad.dtype, dtype=grad.dtype)
            xp.emit_many("update", [value_of(p), grad], [], optimizer=optimizer, group=index,
                         param=p, function=function, hyper=hyper, kept=kept,
                         state=tuple(name if name in kept else None for name in state_arrays),
                         label=type(optimizer).__name__)


def _kernel_seam(optimizer, grads):
    """``update_function(optimizer)`` if the step can run in the kernel with it, else None:
    the optimizer says which state each group keeps, and every parameter to update is a
    C-contiguous float32 or float64 array with its state already made (as after a step)."""
    seam = update_function(optimizer)
    if seam is None or not hasattr(optimizer, "_state_names"):
        return None
    for p, grad in grads:
        if grad is None:
            continue
        data = p.data
        if data.dtype not in (np.float32, np.float64) or not data.flags.c_contiguous or \
                "step" not in optimizer.state.get(p, {}):
            return None
    return seam


def runs_in_kernel(instr):
    """Whether an ``update`` runs inside a compiled kernel: the small ones do. A large tensor
    goes to the optimizer's multi-threaded build (above its ``PARALLEL_MIN_SIZE``), called from
    the driver as ``step()`` would call it."""
    return instr.args[0].size < parallel_threshold(instr.attrs["function"])


def parallel_threshold(function):
    """The size from which the optimizers' backends run ``function`` multi-threaded."""
    from minigrad.optim import backends

    thresholds = getattr(backends, "PARALLEL_MIN_SIZE", {})
    return thresholds.get(function.__name__, 65_536) if isinstance(thresholds, dict) else 65_536


def compiled_update(function, size):
    """The compiled build of the update ``function`` for a tensor of ``size`` elements (all its
    parameters positional), as the optimizers' 'numba' backend runs it."""
    from minigrad.optim import backends

    return backends.build(function, "numba").for_size(size)


def lower_clip(xp, kind, grads, args, kwargs):
    """The clipped gradients (Values) of ``nn.utils.<kind>(params, *args, **kwargs)``.

    The same arithmetic as ``nn/utils.py``, without its branch: ``g *= scale`` only where
    scale < 1 becomes ``g * where(scale < 1, scale, 1)`` (multiplying by one changes nothing).
    """
    if kind == "clip_grad_value_":
        (clip_value,) = _arguments(args, kwargs, ["clip_value"], {})
        clip_value = float(clip_value)
        return [xp.minimum(xp.maximum(g, -clip_value), clip_value) for g in grads]
    max_norm, norm_type, error_if_nonfinite = _arguments(
        args, kwargs, ["max_norm", "norm_type", "error_if_nonfinite"],
        {"norm_type": 2.0, "error_if_nonfinite": False})
    if error_if_nonfinite:
        raise refuse("clip_grad_norm_(error_if_nonfinite=True) raises on a value; a replay "
                     "cannot decide that")
    max_norm, norm_type = float(max_norm), float(norm_type)
    if norm_type <= 0:
        raise refuse(f"clip_grad_norm_: norm_type must be > 0, got {norm_type}")
    if math.isinf(norm_type):
        total = None
        for g in grads:
            largest = xp.astype(xp.max(xp.abs(g)), np.float64)
            total = largest if total is None else xp.maximum(total, largest)
    else:  # the norm of the per-tensor norms (each in its tensor's dtype, as NumPy's)
        norms = [xp.astype(_vector_norm(xp, g, norm_type), np.float64) for g in grads]
        total = _vector_norm(xp, norms, norm_type)
    scale = max_norm / (total + 1e-6)
    factors = {}  # dtype -> where(scale < 1, scale, 1) in that dtype: g *= it
    for g in grads:
        if g.dtype not in factors:
            factors[g.dtype] = xp.where(scale < 1, xp.astype(scale, g.dtype), g.dtype.type(1))
    return [g * factors[g.dtype] for g in grads]


def _vector_norm(xp, parts, norm_type):
    """``np.linalg.norm`` (of order ``norm_type``) of ``parts``: one Value, or a list of
    0-d Values taken as a vector."""
    if not isinstance(parts, list):
        if norm_type == 2:
            return xp.sqrt(xp.sum(parts * parts, dtype=np.float64))
        return xp.sum(xp.abs(xp.astype(parts, np.float64)) ** norm_type) ** (1 / norm_type)
    total = None
    for part in parts:
        term = part * part if norm_type == 2 else xp.abs(part) ** norm_type
        total = term if total is None else total + term
    return xp.sqrt(total) if norm_type == 2 else total ** (1 / norm_type)


def _arguments(args, kwargs, names, defaults):
    values = dict(zip(names, args, strict=False))
    values.update(kwargs)
    return [values[name] if name in values else defaults[name] for name in names]
