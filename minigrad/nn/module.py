"""Module: the base class of layers and models, with PyTorch's registration semantics.

A Module finds its Parameters and sub-Modules by attribute assignment (``self.fc = Linear(...)``)
and keeps them in registration order. Registered objects are also ordinary instance
attributes, so reading ``self.fc`` in ``forward`` is a plain attribute lookup with no
``__getattr__`` in the way: the hot path costs what it costs on any Python object.
"""

from collections import namedtuple

import numpy as np

from minigrad.nn import hooks
from minigrad.nn.parameter import Parameter
from minigrad.tensor import RemovableHandle, Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = "The keys ``load_state_dict(strict=False)`` skipped or ignored."


class Module:
    """Base class of layers and models: subclass it, assign parts in __init__, write forward.

    >>> class MLP(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = Linear(2, 8)
    ...         self.fc2 = Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    """

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist already.
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        """Compute the module's output; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    _has_hooks = False  # True once a hook is registered on the instance (see nn/hooks.py)

    def __call__(self, *args, **kwargs):
        if self._has_hooks:
            return hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before each forward; it may return new args."""
        return self._add_hook("_forward_pre_hooks", hook)

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after each forward; it may return a new output."""
        return self._add_hook("_forward_hooks", hook)

    def register_full_backward_pre_hook(self, hook):
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are
        known; it may return replacements."""
        return self._add_hook("_backward_pre_hooks", hook)

    def register_full_backward_hook(self, hook):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's
        positional Tensor inputs are known; it may return replacements for them."""
        return self._add_hook("_backward_hooks", hook)

    def _add_hook(self, kind, hook):
        """Register ``hook`` in the dict ``kind``; return a handle whose remove() takes it off."""
        if not callable(hook):
            raise TypeError(f"{kind[1:-1].replace('_', ' ')}: expected a callable, got "
                            f"{type(hook).__name__}")
        if not self._has_hooks:
            for name in ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks",
                         "_backward_hooks"):
                object.__setattr__(self, name, {})
            object.__setattr__(self, "_has_hooks", True)
        return RemovableHandle(getattr(self, kind), hook)

    # ------------------------------------------------------------------ registration
    # None of this code reads self.__dict__: doing so makes CPython (3.11+) drop the compact
    # attribute layout and every later ``self.weight`` would cost twice as much (measured).
    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._register("_parameters", "_modules", name, value)
            return
        if isinstance(value, Module):
            self._register("_modules", "_parameters", name, value)
            return
        try:
            params, modules = self._parameters, self._modules
        except AttributeError:  # a plain attribute set before Module.__init__: allowed
            object.__setattr__(self, name, value)
            return
        for kind, registry in (("parameter", params), ("sub-module", modules)):
            if name in registry:
                if value is not None:
                    expected = "a Parameter" if registry is params else "a Module"
                    raise TypeError(
                        f"cannot assign {type(value).__name__} to {kind} '{name}' of "
                        f"{type(self).__name__} (expected {expected} or None)"
                    )
                registry[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def _register(self, registry, other, name, value):
        """Record ``value`` under ``name`` in the registry named ``registry``, and as attribute."""
        try:
            registries = getattr(self, registry), getattr(self, other)
        except AttributeError:
            raise AttributeError(
                f"cannot assign {type(value).__name__} '{name}' before Module.__init__() was "
                "called (call super().__init__() first)"
            ) from None
        if not isinstance(name, str):
            raise TypeError(f"a parameter or module name must be a str, got {type(name).__name__}")
        if name == "" or "." in name:
            raise ValueError(f"invalid name {name!r}: expected a non-empty name without '.'")
        registries[1].pop(name, None)
        registries[0][name] = value
        object.__setattr__(self, name, value)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as a disabled bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: '{name}' must be a Parameter or None, "
                f"got {type(param).__name__}"
            )
        self._check_free(name)
        self._register("_parameters", "_modules", name, param)

    def add_module(self, name, module):
        """Register ``module`` (a Module, or None) as the sub-module ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module: '{name}' must be a Module or None, got {type(module).__name__}"
            )
        self._check_free(name)
        self._register("_modules", "_parameters", name, module)

    def _check_free(self, name):
        """Refuse to register a name that some other attribute or method already uses."""
        params, modules = getattr(self, "_parameters", {}), getattr(self, "_modules", {})
        registered = name in params or name in modules
        if isinstance(name, str) and not registered and hasattr(self, name):
            raise KeyError(f"attribute '{name}' already exists on {type(self).__name__}")

    # --------------------------------------------------------------------- traversal
    def named_modules(self, prefix=""):
        """Yield ``(dotted_name, module)`` for this module and every descendant, each once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))  # reversed: pop() then visits them in order

    def modules(self):
        """Yield this module and every descendant, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Yield ``(name, module)`` for the direct sub-modules, in registration order."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        """Yield the direct sub-modules, in registration order."""
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix="", recurse=True):
        """Yield ``(dotted_name, parameter)`` in registration order, each shared parameter once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse=True):
        """Yield every parameter once, in registration order (what an optimizer is given)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    # ---------------------------------------------------------------- mode and grads
    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode on this module and all below it."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (Dropout becomes the identity); same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self):
        """Forget every parameter's gradient (``grad = None``), ready for the next backward."""
        for param in self.parameters():
            param.grad = None

    def to(self, dtype):
        """Convert every parameter, in place, to the floating ``dtype``; return self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"to: expected a floating dtype, got {dtype}")
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            param.grad = None
        return self

    def double(self):
        """Convert every parameter to float64 (for gradcheck); return self."""
        return self.to(np.float64)

    # -------------------------------------------------------------------- state dict
    def _state_entries(self, prefix=""):
        """Every ``(dotted_name, parameter)`` under every name it has, as state dicts list them.

        Unlike ``named_parameters`` nothing is skipped: as in PyTorch, a parameter or module
        reachable by two paths appears under both names.
        """
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_entries(f"{prefix}{name}.")

    def state_dict(self):
        """Return ``{dotted_name: ndarray}``, a copy of every parameter's data.

        As in PyTorch, a parameter shared by two modules appears under both of its names.
        """
        return {name: param.data.copy() for name, param in self._state_entries()}

    def load_state_dict(self, state, strict=True):
        """Copy the arrays of ``state`` into the parameters, after checking every entry.

        Names, shapes, dtypes and that every parameter can be written are all validated before
        any parameter changes, so a failed load leaves the module exactly as it was; the
        ValueError lists every missing, unexpected and mismatched entry. With ``strict=False``
        missing and unexpected names are allowed (and returned), but shape and dtype mismatches
        are still errors. Parameters are written in place (an optimizer holding them keeps
        working) and their version is bumped, as for any in-place change.
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state).__name__}")
        entries = dict(self._state_entries())
        missing = [name for name in entries if name not in state]
        unexpected = [name for name in state if name not in entries]
        problems = []
        if strict:
            problems += [f"missing entry '{name}'" for name in missing]
            problems += [f"unexpected entry '{name}'" for name in unexpected]
        arrays = {}
        for name, param in entries.items():
            if name in state:
                value = state[name].data if isinstance(state[name], Tensor) else state[name]
                problem = _load_problem(name, param.data, value)
                if problem:
                    problems.append(problem)
                else:
                    arrays[name] = value
        if problems:
            raise ValueError(
                f"load_state_dict: {len(problems)} problem(s) loading into "
                f"{type(self).__name__}, nothing was changed:\n  " + "\n  ".join(problems)
            )
        # Copy every value before writing any: a value may be a view of another parameter of
        # this very module (a swap of two layers, say), which an earlier write would change.
        arrays = {name: value.copy() for name, value in arrays.items()}
        for name, value in arrays.items():
            np.copyto(entries[name].data, value)
            entries[name]._version += 1
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------------- repr
    def extra_repr(self):
        """The text inside this module's parentheses, e.g. ``in_features=2, out_features=8``."""
        return ""

    def __repr__(self):
        children = [
            f"({name}): " + repr(module).replace("\n", "\n  ")
            for name, module in self._modules.items()
        ]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _load_problem(name, data, value):
    """What stops ``value`` from being copied into the parameter array ``data``, or None."""
    if not isinstance(value, np.ndarray):
        return f"'{name}' is a {type(value).__name__}, expected an ndarray"
    if value.shape != data.shape:
        return f"shape mismatch for '{name}': got {value.shape}, expected {data.shape}"
    if value.dtype != data.dtype:
        return f"dtype mismatch for '{name}': got {value.dtype}, expected {data.dtype}"
    if not data.flags.writeable:
        return f"parameter '{name}' is read-only, so it cannot be loaded in place"
    return None
