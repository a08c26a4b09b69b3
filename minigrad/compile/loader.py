"""Load generated code: write it to the cache directory, import it, bind its objects.

The source is written once under a name made from its hash, so a later process that traces the
same step finds the same file, and Numba (``cache=True``) finds the machine code it compiled
from it last time, beside it in ``__pycache__``: the compile cost is paid once per machine.
The directory is ``$MINIGRAD_CACHE_DIR``, else ``~/.cache/minigrad/compile``.
"""

import hashlib
import importlib.util
import operator
import os
import sys
import tempfile

import numpy as np

from minigrad import random
from minigrad.compile import runtime, update
from minigrad.ops import xp_numpy
from minigrad.tensor import Tensor


def cache_dir():
    """Where generated modules (and Numba's cache of them) are kept."""
    root = os.environ.get("MINIGRAD_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "minigrad")
    return os.path.join(root, "compile")


def load(source, bindings, plan):
    """Import ``source`` as a module and bind ``bindings`` into it; return the module."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    name = f"minigrad_step_{digest}"
    path = _write(source, name)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    arenas = {dtype: np.empty(max(size, 1), dtype) for dtype, size in plan.arena.items()}
    shared = {"random": random, "xp_numpy": xp_numpy, "fit": runtime.fit, "fail": runtime.fail,
              "Tensor": Tensor, "plain": runtime.plain,
              "check_group": runtime.check_group, "state_of": runtime.state_of,
              "getrefcount": sys.getrefcount, "is_": operator.is_}
    for key, value in bindings.items():
        if key.startswith("arena_"):
            value = arenas[np.dtype(key[len("arena_"):])]
        elif key in shared:
            value = shared[key]
        elif isinstance(value, tuple) and len(value) == 2 and value[0] == "arena":
            value = _arena_view(arenas, plan, value[1])
        elif isinstance(value, tuple) and value and value[0] == "update":
            value = update.compiled_update(value[1], value[2] if len(value) > 2 else 0)
        setattr(module, key, value)
    module.arenas = arenas
    return module


def _arena_view(arenas, plan, value_id):
    dtype, start = plan.offset[value_id]
    value = next(v for i in plan.instrs for v in i.outs
                 if v is not None and id(v) == value_id)
    size = max(value.size, 1)
    return arenas[dtype][start:start + size].reshape(value.shape)


def _write(source, name):
    """Write ``source`` to ``<cache>/<name>.py`` unless it is there (atomically: a rename)."""
    directory = cache_dir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.py")
    if os.path.exists(path):
        with open(path) as file:
            if file.read() == source:
                return path
    descriptor, temp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(descriptor, "w") as file:
        file.write(source)
    os.replace(temp, path)
    return path
