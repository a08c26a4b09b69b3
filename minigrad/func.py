"""Function transforms with torch.func's names: grad, grad_and_value, vjp, jvp, jacrev, jacfwd,
hessian, hvp (as ``torch.autograd.functional.hvp``), and functional_call to use them on Modules.

Each takes a function of Tensors and returns a new function (or its result). Reverse mode
(``grad``, ``vjp``, ``jacrev``) records the function and runs the engine backward; forward mode
(``jvp``, ``jacfwd``) carries a tangent beside every value through one forward pass, by each
operation's jvp rule. They compose: ``hessian`` is ``jacfwd(jacrev(f))``, forward mode over
reverse mode, and ``grad(grad(f))`` gives second derivatives.

A transform's result is itself differentiable when something outside it can differentiate it:
grad mode is on and an argument (or a tensor the function closes over, such as a model's
parameters) requires grad or carries a tangent, as when the transform runs inside another. The
backward passes then record their own graph (``create_graph=True``). Otherwise the results are
plain constants, computed on the fast path.
"""

import weakref

import numpy as np

from minigrad import autograd, ops
from minigrad.autograd import enable_grad, is_grad_enabled
from minigrad.tensor import Tensor

# --------------------------------------------------------------------------------- helpers
# The leaves the transforms make to stand for their arguments. In the graph of a result, any
# other leaf that requires grad was closed over by the function (a model's parameters, say).
_stand_ins = weakref.WeakValueDictionary()  # id -> leaf (Tensors compare elementwise)


def _argnums(argnums, count, name):
    """``argnums`` as a tuple of valid positions, and whether the caller gave a tuple."""
    several = isinstance(argnums, tuple)
    positions = argnums if several else (argnums,)
    if several and not positions:
        raise ValueError(f"{name}: argnums must be a non-empty tuple")
    for i in positions:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"{name}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -count <= i < count:
            raise ValueError(f"{name}: argnums {i} is out of range for {count} positional "
                             "arguments")
    normalized = tuple(int(i) % count for i in positions)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: argnums {argnums!r} repeats an argument")
    return normalized, several


def _check_float_tensor(value, name, what):
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(value).__name__}")
    if value.dtype.kind != "f":
        raise TypeError(f"{name}: {what} must be floating-point, got dtype {value.dtype}")


def _check_like(values, references, name, what):
    """Each value (a tangent, a cotangent) a floating-point Tensor of its reference's shape."""
    if len(values) != len(references):
        raise ValueError(f"{name}: expected {len(references)} {what}s, got {len(values)}")
    for i, (value, reference) in enumerate(zip(values, references, strict=True)):
        _check_float_tensor(value, name, f"{what} {i}")
        if value.shape != reference.shape:
            raise ValueError(f"{name}: {what} {i} has shape {value.shape}, expected "
                             f"{reference.shape}")


def _tracked(value, name, what):
    """A Tensor standing for ``value`` in the function, through which gradients flow to it.

    A tensor that already requires grad (a parameter, or an outer transform's variable) is used
    as it is, so that the outer graph stays connected; any other becomes a new leaf sharing its
    data.
    """
    _check_float_tensor(value, name, what)
    if value.requires_grad:
        return value
    leaf = Tensor._constant(value.data)
    leaf.requires_grad = True
    leaf._tangent = value._tangent
    _stand_ins[id(leaf)] = leaf
    return leaf


def _run_tracked(func, args, kwargs, argnums, has_aux, name):
    """Call ``func`` with the arguments at ``argnums`` tracked; what the reverse transforms need.

    Returns (the tracked arguments, whether argnums was a tuple, the original arguments at
    argnums, all the arguments as passed to func, its output, its aux).
    """
    positions, several = _argnums(argnums, len(args), name)
    originals = [args[i] for i in positions]
    args = list(args)
    with enable_grad():
        for i in positions:
            args[i] = _tracked(args[i], name, f"argument {i}")
        output, aux = _split_aux(func(*args, **kwargs), has_aux, name)
    return [args[i] for i in positions], several, originals, output, aux


def _split_aux(output, has_aux, name):
    """(output, aux) from what the function returned."""
    if not has_aux:
        return output, None
    if not isinstance(output, tuple) or len(output) != 2:
        raise ValueError(f"{name}: with has_aux=True the function must return a pair "
                         f"(output, aux), got {type(output).__name__}")
    return output


def _outputs(output, name):
    """The function's output as a list of Tensors, and whether it was a tuple."""
    several = isinstance(output, tuple | list)
    outputs = list(output) if several else [output]
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}: the function must return a Tensor or a tuple of Tensors, "
                            f"got {type(out).__name__} at position {i}")
    return outputs, several


def _gradients(outputs, inputs, cotangents, create_graph):
    """d(sum of cotangents * outputs)/d inputs, zeros for inputs the outputs don't depend on."""
    live = [(out, ct) for out, ct in zip(outputs, cotangents, strict=True)
            if out.requires_grad]
    if not live:
        grads = [None] * len(inputs)
    else:
        grads = autograd.grad([o for o, _ in live], inputs, [c for _, c in live],
                              retain_graph=True, create_graph=create_graph, allow_unused=True)
    return tuple(_zeros(x) if g is None else g
                 for g, x in zip(grads, inputs, strict=True))


def _differentiable(originals, outputs):
    """Whether a transform's results must stay differentiable (see the module's docstring).

    ``originals`` are the arguments the transform was given; a leaf requiring grad in the
    outputs' graph that no transform made to stand for an argument was closed over.
    """
    if not is_grad_enabled():
        return False
    if any(o.requires_grad or o._tangent is not None for o in originals):
        return True
    return any(t.grad_fn is None and _stand_ins.get(id(t)) is not t
               for t in autograd.topological_order(outputs))


def _result(value, keep_graph):
    """A result handed back to the caller: as is when differentiable, else cut from the graph."""
    return value if keep_graph or not isinstance(value, Tensor) else value.detach()


# ---------------------------------------------------------------------------- reverse mode
def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient, value) of ``func``, which must return a one-element Tensor.

    ``argnums`` picks the positional arguments to differentiate with respect to: an int gives
    one gradient, a tuple a tuple of them. With ``has_aux`` ``func`` returns (value, aux) and the
    result is (gradient, (value, aux)).
    """

    def wrapper(*args, **kwargs):
        inputs, several, originals, output, aux = _run_tracked(func, args, kwargs, argnums,
                                                                has_aux, "grad")
        if not isinstance(output, Tensor) or output.size != 1:
            shape = getattr(output, "shape", type(output).__name__)
            raise ValueError(f"grad: the function must return a one-element Tensor, got {shape}")
        keep_graph = _differentiable(originals, [output])
        grads = _gradients([output], inputs,
                           [Tensor._constant(np.ones(output.shape, output.dtype))], keep_graph)
        grads = grads if several else grads[0]
        value = _result(output, keep_graph)
        return (grads, (value, aux)) if has_aux else (grads, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of ``func`` (see ``grad_and_value``), as torch.func.grad.

    >>> df = minigrad.func.grad(lambda x: (x ** 3).sum())
    >>> df(minigrad.tensor([2.0]))      # 3 x^2
    tensor([12.], dtype=float32)
    """
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        grads, value = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(func, *primals, has_aux=False):
    """(output, vjp_fn): ``vjp_fn(cotangents)`` gives the vector-Jacobian product per primal.

    As ``torch.func.vjp``: ``cotangents`` has the structure of the output (a Tensor, or a tuple
    of them), and ``vjp_fn`` returns a tuple with one gradient per primal. It may be called
    several times.
    """
    if not primals:
        raise ValueError("vjp: expected at least one primal")
    with enable_grad():
        tracked = [_tracked(p, "vjp", f"primal {i}") for i, p in enumerate(primals)]
        output, aux = _split_aux(func(*tracked), has_aux, "vjp")
    outputs, several = _outputs(output, "vjp")
    keep_graph = _differentiable(primals, outputs)

    def vjp_fn(cotangents):
        given = list(cotangents) if several else [cotangents]
        _check_like(given, outputs, "vjp", "cotangent")
        return _gradients(outputs, tracked, given, keep_graph)

    result = tuple(_result(o, keep_graph) for o in outputs) if several \
        else _result(outputs[0], keep_graph)
    return (result, vjp_fn, aux) if has_aux else (result, vjp_fn)


def jacrev(func, argnums=0, has_aux=False):
    """A function returning the Jacobian of ``func`` by reverse mode: one backward pass per output
    element. Its shape is output.shape + input.shape (a tuple over ``argnums`` if it is one)."""

    def wrapper(*args, **kwargs):
        inputs, several, originals, output, aux = _run_tracked(func, args, kwargs, argnums,
                                                                has_aux, "jacrev")
        _outputs(output, "jacrev")
        if isinstance(output, tuple | list):
            raise TypeError("jacrev: the function must return a single Tensor")
        keep_graph = _differentiable(originals, [output])
        rows = [[] for _ in inputs]
        for k in range(output.size):
            for row, g in zip(rows, _gradients([output], inputs, [_basis(output, k)], keep_graph),
                              strict=True):
                row.append(g)
        jacobians = tuple(_stack(row, output.shape + x.shape, x) for row, x in
                          zip(rows, inputs, strict=True))
        jacobians = jacobians if several else jacobians[0]
        return (jacobians, aux) if has_aux else jacobians

    return wrapper


def _stack(pieces, shape, like):
    """Stack per-element results into one Tensor of ``shape`` (empty outputs included)."""
    if not pieces:
        return Tensor._constant(np.zeros(shape, like.dtype))
    return ops.reshape(ops.stack(pieces, axis=0), shape)  # rows (output.size, *input.shape)


# ---------------------------------------------------------------------------- forward mode
def jvp(func, primals, tangents, has_aux=False):
    """(output, jvp_out): ``func(*primals)`` and its Jacobian-vector product along ``tangents``.

    As ``torch.func.jvp``: ``primals`` and ``tangents`` are tuples of Tensors of matching shapes.
    Costs one forward pass carrying a tangent beside every value (each operation's jvp rule),
    not a backward pass. Does not nest (``jvp`` inside ``jvp``); reverse mode over it does.
    """
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: primals and tangents must be tuples of Tensors")
    for i, p in enumerate(primals):
        _check_float_tensor(p, "jvp", f"primal {i}")
    _check_like(tangents, primals, "jvp", "tangent")
    if autograd.propagate_tangent in autograd._state.watchers:
        raise RuntimeError("jvp: forward mode does not nest in minigrad (jvp inside jvp or "
                           "jacfwd); use reverse mode for the inner derivative (e.g. "
                           "jacfwd(jacrev(f)))")
    duals = []
    for p, t in zip(primals, tangents, strict=True):
        # A new tensor that carries the tangent, joined to the primal's graph if it has one.
        dual = ops.reshape(p, p.shape) if p.requires_grad else Tensor._constant(p.data)
        dual._tangent = t if t.dtype == p.dtype else Tensor._constant(t.data.astype(p.dtype))
        duals.append(dual)
    state = autograd._state
    watchers = state.watchers
    state.watchers = (autograd.propagate_tangent, *watchers)
    try:
        output = func(*duals)
    finally:
        state.watchers = watchers
    output, aux = _split_aux(output, has_aux, "jvp")
    outputs, several = _outputs(output, "jvp")
    tangent_outs = []
    for out in outputs:
        tangent = out._tangent
        out._tangent = None
        if tangent is None:  # the output does not depend on the primals
            tangent = _zeros(out)
        tangent_outs.append(tangent)
    keep_graph = _differentiable(primals, outputs)
    if several:
        result = (tuple(_result(o, keep_graph) for o in outputs),
                  tuple(_result(t, keep_graph) for t in tangent_outs))
    else:
        result = (_result(outputs[0], keep_graph), _result(tangent_outs[0], keep_graph))
    return (*result, aux) if has_aux else result


def jacfwd(func, argnums=0, has_aux=False):
    """A function returning the Jacobian of ``func`` by forward mode: one jvp per input element.
    Its shape is output.shape + input.shape (a tuple over ``argnums`` if it is one)."""

    def wrapper(*args, **kwargs):
        positions, several = _argnums(argnums, len(args), "jacfwd")
        chosen = tuple(args[i] for i in positions)
        for i, x in zip(positions, chosen, strict=True):
            _check_float_tensor(x, "jacfwd", f"argument {i}")

        def moved(*values):
            full = list(args)
            for i, value in zip(positions, values, strict=True):
                full[i] = value
            return func(*full, **kwargs)

        jacobians, aux = [], None
        for which, x in enumerate(chosen):
            columns, output = [], None
            for k in range(x.size):
                tangents = tuple(_basis(c, k) if j == which else _zeros(c)
                                 for j, c in enumerate(chosen))
                output, column, *rest = jvp(moved, chosen, tangents, has_aux=has_aux)
                aux = rest[0] if has_aux else None
                columns.append(column)
            if output is None:  # an empty argument: one call gives the output's shape
                output, aux = _split_aux(moved(*chosen), has_aux, "jacfwd")
            if not isinstance(output, Tensor):
                raise TypeError("jacfwd: the function must return a single Tensor")
            shape = output.shape + x.shape
            if columns:  # each column is (*output.shape); stacked last, then shaped
                jacobians.append(ops.reshape(ops.stack(columns, axis=-1), shape))
            else:
                jacobians.append(Tensor._constant(np.zeros(shape, x.dtype)))
        jacobians = tuple(jacobians) if several else jacobians[0]
        return (jacobians, aux) if has_aux else jacobians

    return wrapper


def _basis(like, k):
    """The k-th standard basis vector in ``like``'s shape and dtype, as a constant Tensor."""
    basis = np.zeros(like.size, like.dtype)
    basis[k] = 1
    return Tensor._constant(basis.reshape(like.shape))


def _zeros(like):
    return Tensor._constant(np.zeros(like.shape, like.dtype))


def hessian(func, argnums=0):
    """A function returning the Hessian of a scalar ``func``: ``jacfwd(jacrev(func))``,
    forward mode over reverse mode, as torch.func.hessian."""
    return jacfwd(jacrev(func, argnums), argnums)


def hvp(func, primals, tangents):
    """(output, hvp): ``func(*primals)`` and the Hessian-vector product along ``tangents``.

    As ``torch.autograd.functional.hvp``: ``func`` returns a one-element Tensor; ``primals``
    and ``tangents`` are Tensors or tuples of them, and ``hvp`` has the structure of
    ``primals``. Computed by reverse mode over reverse mode: the gradient is recorded
    (``create_graph=True``), then differentiated along ``tangents``, d/dx (grad f(x) . v),
    without ever forming the Hessian.
    """
    several = isinstance(primals, tuple)
    primals = primals if several else (primals,)
    tangents = tangents if isinstance(tangents, tuple) else (tangents,)
    for i, p in enumerate(primals):
        _check_float_tensor(p, "hvp", f"primal {i}")
    _check_like(tangents, primals, "hvp", "tangent")
    with enable_grad():
        tracked = [_tracked(p, "hvp", f"primal {i}") for i, p in enumerate(primals)]
        output = func(*tracked)
        if not isinstance(output, Tensor) or output.size != 1:
            raise ValueError("hvp: the function must return a one-element Tensor")
    keep_graph = _differentiable(primals, [output])
    with enable_grad():
        ones = Tensor._constant(np.ones(output.shape, output.dtype))
        grads = _gradients([output], tracked, [ones], create_graph=True)
        # d/dx (grad f(x) . v) is the vector-Jacobian product of grad f with v: the gradient's
        # own graph, walked backward from v (zeros where the gradient is constant).
        products = _gradients(grads, tracked, tangents, keep_graph)
    products = tuple(_result(h, keep_graph) for h in products)
    return _result(output, keep_graph), (products if several else products[0])


# ------------------------------------------------------------------------------- modules
def functional_call(module, parameters, args, kwargs=None):
    """Call ``module(*args, **kwargs)`` with some parameters replaced, as torch.func's.

    ``parameters`` maps dotted names (as ``named_parameters`` gives them) to Tensors used in
    their place for this one call; the module's own parameters are restored afterwards. This
    makes a model's loss a function of its weights, for the transforms above:

    >>> names = [name for name, _ in model.named_parameters()]
    >>> def loss(*weights):
    ...     return F.cross_entropy(functional_call(model, dict(zip(names, weights)), (x,)), y)
    >>> hvp(loss, tuple(model.parameters()), directions)
    """
    args = args if isinstance(args, tuple) else (args,)
    known = dict(module.named_parameters())
    swapped = []
    try:
        for name, value in parameters.items():
            if name not in known:
                raise KeyError(f"functional_call: {type(module).__name__} has no parameter "
                               f"{name!r}")
            _check_float_tensor(value, "functional_call", f"parameters[{name!r}]")
            owner = module
            *path, attribute = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            swapped.append((owner, attribute, getattr(owner, attribute)))
            # Past Module.__setattr__ (the stand-in is a plain Tensor, not a Parameter), in the
            # attribute and in the registry, which some layers read (the recurrent ones).
            object.__setattr__(owner, attribute, value)
            owner._parameters[attribute] = value
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attribute, original in reversed(swapped):
            object.__setattr__(owner, attribute, original)
            owner._parameters[attribute] = original
