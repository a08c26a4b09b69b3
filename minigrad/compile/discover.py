"""Find the modules and optimizers a step function can reach, without running it.

The tracer needs them: optimizers, to see their ``step()`` (it has no operation of its own to
record); modules, to name parameters in the printout (``model.0.weight``) and to notice when a
parameter is replaced or a module switches between training and evaluation. A step reaches
them through its arguments, its closure, the globals its code names, its ``self``, and one
attribute deeper (``task.model``, ``trainer.optimizer``).
"""

import functools
import types

from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def is_optimizer(obj):
    """True for minigrad optimizers and wrappers like Lookahead: param_groups, state and step."""
    return (not isinstance(obj, type) and callable(getattr(obj, "step", None))
            and isinstance(getattr(obj, "param_groups", None), list)
            and hasattr(obj, "state"))


def reachable(fn, args=(), kwargs=None):
    """``(modules, optimizers, tensors)`` that ``fn`` can reach, each a dict ``{object: name}``
    (tensors: only those its closure and globals hold directly, such as a batch ``x``)."""
    roots = [(f"args[{i}]", a) for i, a in enumerate(args)]
    roots += [(name, value) for name, value in (kwargs or {}).items()]
    roots += _function_roots(fn)
    modules, optimizers, seen = {}, {}, set()
    for name, obj in roots:
        _visit(name, obj, modules, optimizers, seen, depth=2)
    tensors = {obj: name for name, obj in roots if isinstance(obj, Tensor)}
    return modules, optimizers, tensors


def _function_roots(fn):
    """(name, object) pairs for what ``fn``'s code can see: self, closure, named globals."""
    roots = []
    while isinstance(fn, functools.partial):
        roots += [(f"partial[{i}]", a) for i, a in enumerate(fn.args)]
        roots += list(fn.keywords.items())
        fn = fn.func
    if isinstance(fn, Module):
        return roots + [("model", fn)]
    if isinstance(fn, types.MethodType):
        roots.append(("self", fn.__self__))
        fn = fn.__func__
    code = getattr(fn, "__code__", None)
    if code is None:
        return roots
    cells = fn.__closure__ or ()
    for name, cell in zip(code.co_freevars, cells, strict=True):
        try:
            roots.append((name, cell.cell_contents))
        except ValueError:  # an empty cell: the variable is not assigned yet
            pass
    namespace = getattr(fn, "__globals__", {})
    for name in _names(code):
        if name in namespace:
            roots.append((name, namespace[name]))
    return roots


def _names(code):
    """The global names ``code`` and the functions nested in it read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _visit(name, obj, modules, optimizers, seen, depth):
    if id(obj) in seen or obj is None or isinstance(obj, type | types.ModuleType):
        return
    seen.add(id(obj))
    if isinstance(obj, Module):
        modules.setdefault(obj, name)
        return
    if is_optimizer(obj):
        optimizers.setdefault(obj, name)
        inner = getattr(obj, "optimizer", None)  # a wrapper's inner optimizer (Lookahead)
        if inner is not None:
            _visit(f"{name}.optimizer", inner, modules, optimizers, seen, depth)
        return
    if depth == 0:
        return
    if isinstance(obj, list | tuple):
        items = enumerate(obj)
    elif isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, types.FunctionType | types.MethodType | functools.partial):
        items = _function_roots(obj)
    else:
        try:
            items = vars(obj).items()
        except TypeError:  # no __dict__: numbers, arrays, tensors, ...
            return
    for key, value in list(items)[:256]:
        _visit(f"{name}.{key}" if isinstance(key, str) else f"{name}[{key}]", value, modules,
               optimizers, seen, depth - 1)


def parameter_names(modules):
    """``{id(parameter): 'model.0.weight'}`` over ``modules`` (the shortest name wins)."""
    names = {}
    for module, prefix in modules.items():
        for name, param in module.named_parameters(prefix):
            if id(param) not in names or len(name) < len(names[id(param)]):
                names[id(param)] = name
    return names


def parameter_slots(modules, params):
    """``[(module, attribute name, parameter)]`` for every place a module holds one of ``params``.

    A replay checks that each slot still holds its parameter: a replaced parameter would
    otherwise go on being read and updated by the compiled step, unseen.
    """
    wanted = {id(p) for p in params}
    slots = []
    for module in modules:
        for sub in module.modules():
            for name, param in sub._parameters.items():
                if param is not None and id(param) in wanted:
                    slots.append((sub, name, param))
    return slots
