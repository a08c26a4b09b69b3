"""Containers: Sequential (a chain of modules) and ModuleList (a registered list of modules)."""

from minigrad.nn.module import Module


class Sequential(Module):
    """Apply modules one after another; they are registered under the names '0', '1', ...

    >>> model = Sequential(Linear(2, 8), ReLU(), Linear(8, 1))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules):
        super().__init__()
        for module in modules:
            self.append(module)

    def forward(self, x):
        """Feed ``x`` through every module in order."""
        for module in self._modules.values():
            x = module(x)
        return x

    def append(self, module):
        """Add ``module`` at the end; return self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[_check_index(index, len(modules), "Sequential")]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules whose parameters the owner sees; it has no forward of its own.

    Use it when the number of layers is known only at run time:
    ``self.layers = ModuleList(Linear(n, n) for _ in range(depth))``.
    """

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def append(self, module):
        """Add ``module`` at the end; return self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        """Append every module of ``modules``; return self."""
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_check_index(index, len(modules), "ModuleList")]

    def __setitem__(self, index, module):
        index = _check_index(index, len(self._modules), "ModuleList")
        self.add_module(str(index), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


def _check_index(index, length, owner):
    """Return ``index`` as a non-negative position, or raise IndexError naming it."""
    if not -length <= index < length:
        raise IndexError(f"{owner} index {index} is out of range for length {length}")
    return index % length
