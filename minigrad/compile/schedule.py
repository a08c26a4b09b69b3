"""The schedule: which instructions run where, which fuse into one loop, where each value lives.

Three kinds of work:

- *loop* instructions (elementwise, reductions, small matmuls, checks) run in compiled
  kernels. A run of them with nothing else in between is ONE Numba function; inside it,
  consecutive instructions over the same iteration space fuse into ONE loop nest (a "group"),
  where a value used only inside its group never touches memory: it is a local variable.
- *BLAS* matmuls (large ones, above ``BLAS_MIN_FLOPS``) are ``np.matmul(a, b, out=buffer)``.
- *Python* instructions (operations called whole, random draws, ``optimizer.step()``).

Views (reshape, transpose, broadcast) are not work: a loop reads the base array with other
indices, NumPy makes a view. Every other value gets a home: a local variable (``scalar``), a
slice of a buffer allocated once per program (``arena``), a new array at every call for what
the caller keeps (``fresh``: results, gradients), or the array the call provides (``external``).
"""

import numpy as np

from minigrad.compile import update
from minigrad.compile.builder import ELEMENTWISE, REDUCTIONS, VIEWS

# A matmul this large (M * N * K multiply-adds) or larger runs in BLAS; smaller ones as loops
# inside the kernel, where they fuse with their neighbours and cost no call (perf/README.md).
BLAS_MIN_FLOPS = 1 << 17

PYTHON_OPS = {"call", "call_vjp", "uniform", "step"}


class Group:
    """One loop nest: instructions over the iteration space ``shape``, fused."""

    def __init__(self, shape, kind="loop"):
        self.shape, self.kind = tuple(shape), kind
        self.instrs = []
        self.made = set()     # id(Value) computed by this group's elementwise instructions
        self.reduced = set()  # id(Value) of this group's reductions (complete only after it)


class Kernel:
    """A run of loop instructions compiled as one Numba function."""

    def __init__(self, index):
        self.index = index
        self.instrs = []
        self.groups = []

    @property
    def name(self):
        return f"kernel_{self.index}"


class Schedule:
    """The plan for one program: ``steps`` in order (Kernels and single instructions) and
    ``home[id(value)]``, one of 'scalar', 'arena', 'fresh', 'external', 'python', 'view',
    'literal'."""

    def __init__(self, program):
        self.program = program
        self.instrs = list(program.instrs)  # in the order they run (program's, a few moved)
        self.steps = []
        self.home = {}
        self.arena = {}    # dtype -> total elements
        self.offset = {}   # id(Value) -> (dtype, start) in its arena
        self.escaping = set()


def is_blas(instr):
    """A matmul big enough to be worth a BLAS call."""
    a, b = instr.args
    return instr.op == "matmul" and a.shape[0] * a.shape[1] * b.shape[1] >= BLAS_MIN_FLOPS


def matmul_form(instr):
    """How a loop matmul is written, from how its operands lie in memory.

    'dot': ``out[i, j] = sum_k a[i, k] * b[k, j]`` with ``b`` a transposed matrix, so both run
    along memory in k; each element is complete after its sum, so what follows fuses with it
    (a Linear layer's ``x @ w.T``, its bias and activation are one loop). 'rows':
    ``out[i, :] += a[i, k] * b[k, :]`` for a ``b`` stored row by row (``grad @ w``). 'outer':
    ``out[i, :] += a[k, i] * b[k, :]`` over k, for a transposed ``a`` (``grad.T @ x``).
    """
    a, b = instr.args
    if _is_transpose(b):
        return "dot"
    return "outer" if _is_transpose(a) else "rows"


def _is_transpose(value):
    return value.instr is not None and value.instr.op == "transpose"


def kind_of(instr):
    """'loop', 'blas', 'python' or 'view'."""
    if instr.op in VIEWS:
        return "view"
    if instr.op in PYTHON_OPS:
        return "python"
    if instr.op == "update":
        return "loop" if update.runs_in_kernel(instr) else "python"
    if instr.op == "matmul":
        return "blas" if is_blas(instr) else "loop"
    return "loop"


def schedule(program):
    """Make the Schedule of ``program``."""
    plan = Schedule(program)
    _hoist_random_draws(plan)
    _split_steps(plan)
    _find_escaping(plan)
    consumers = _consumers(plan)
    for step in plan.steps:
        if isinstance(step, Kernel):
            _fuse(step)
    _assign_homes(plan, consumers)
    return plan


def _hoist_random_draws(plan):
    """Random draws depend on nothing: do them first (in order), so they split no kernel.
    Checks of the call's class indices likewise go first, so they split no loop."""
    instrs = plan.instrs
    draws = [i for i in instrs if i.op == "uniform"]
    checks = [i for i in instrs if i.op == "check_index" and i.args[0].instr is None]
    first = {id(i) for i in draws + checks}
    plan.instrs = draws + checks + [i for i in instrs if id(i) not in first]


def _split_steps(plan):
    kernel = None
    for instr in plan.instrs:
        kind = kind_of(instr)
        if kind == "view":
            continue
        if kind == "loop":
            if kernel is None:
                kernel = Kernel(sum(isinstance(s, Kernel) for s in plan.steps))
                plan.steps.append(kernel)
            kernel.instrs.append(instr)
        else:
            kernel = None
            plan.steps.append(instr)


def _find_escaping(plan):
    """Values the caller keeps: results, gradients left in ``.grad``, gradients given to
    an optimizer (they become ``p.grad``). Each needs a new array at every call."""
    program = plan.program
    escaping = set()

    def collect(outputs):
        if hasattr(outputs, "kind") and hasattr(outputs, "shape"):
            escaping.add(id(outputs))
        elif isinstance(outputs, tuple | list):
            for o in outputs:
                collect(o)
        elif isinstance(outputs, dict):
            for o in outputs.values():
                collect(o)

    collect(program.outputs)
    for _, value in program.grads_out:
        if value is not None:
            escaping.add(id(value))
    for instr in plan.instrs:
        if instr.op == "step":
            escaping.update(id(a) for a in instr.args)
    plan.escaping = escaping


def _consumers(plan):
    """id(Value) -> list of (instruction, how): how is 'direct', 'view' or 'indirect'."""
    consumers = {}
    for instr in plan.instrs:
        how = "view" if instr.op in VIEWS else "direct"
        for position, arg in enumerate(instr.args):
            if arg is None:
                continue
            mode = "indirect" if instr.op == "pick" and position == 0 else how
            consumers.setdefault(id(arg), []).append((instr, mode))
    return consumers


def _fuse(kernel):
    """Group the kernel's instructions into loop nests, greedily, in program order."""
    group = None
    for instr in kernel.instrs:
        if instr.op == "matmul":
            group = Group(instr.out.shape, "loop" if matmul_form(instr) == "dot" else "matmul")
            kernel.groups.append(group)
        elif instr.op in ("check_index", "update"):
            group = Group(instr.args[0].shape, "check" if instr.op == "check_index" else "update")
            kernel.groups.append(group)
        elif instr.op in REDUCTIONS:
            source = instr.args[0]
            if not _joins(group, source.shape, [source]):
                group = Group(source.shape)
                kernel.groups.append(group)
        elif instr.op in ELEMENTWISE:
            if not _joins(group, instr.out.shape, instr.args, pick=instr.op == "pick"):
                group = Group(instr.out.shape)
                kernel.groups.append(group)
        else:
            raise AssertionError(f"no loop for {instr.op}")
        group.instrs.append(instr)
        if instr.op in REDUCTIONS:
            group.reduced.add(id(instr.out))
        elif instr.outs:
            group.made.add(id(instr.out))


def _joins(group, shape, args, pick=False):
    """Whether an instruction over ``shape`` reading ``args`` can join ``group``'s loop.

    It can when the group iterates over the same space and each argument is either computed
    by the group at the same index (a local) or finished before the group starts.
    """
    if group is None or group.kind != "loop" or group.shape != tuple(shape):
        return False
    for position, arg in enumerate(args):
        if arg is None or arg.kind == "literal":
            continue
        if id(arg) in group.reduced:
            return False  # a sum is complete only after the whole loop
        if id(arg) in group.made and (arg.shape != group.shape or (pick and position == 0)):
            return False  # read at other indices: it must be in memory, complete
        if arg.instr is not None and arg.instr.op in VIEWS and _base_in(group, arg):
            return False
    return True


def _base_in(group, value):
    """Whether ``value`` is a view of something ``group`` computes (then not yet complete)."""
    while value.instr is not None and value.instr.op in VIEWS:
        value = value.instr.args[0]
    return id(value) in group.made or id(value) in group.reduced


def _group_of(plan):
    where = {}
    for step in plan.steps:
        if isinstance(step, Kernel):
            for group in step.groups:
                for instr in group.instrs:
                    where[id(instr)] = group
    return where


def _assign_homes(plan, consumers):
    """Decide where each value lives (see ``Schedule``); lay out the arena."""
    program = plan.program
    group_of = _group_of(plan)
    for value, _ in program.inputs:
        plan.home[id(value)] = "external"
    for value, _ in program.params + program.grads_in:
        plan.home[id(value)] = "external"
    for value in program.consts:
        plan.home[id(value)] = "external"
    for instr in plan.instrs:
        for value in instr.outs:
            if value is None:
                continue
            plan.home[id(value)] = _home(plan, instr, value, consumers, group_of)
    # An escaping view needs its base in a new array too (the caller gets a view of it).
    for instr in plan.instrs:
        if instr.op in VIEWS and id(instr.out) in plan.escaping:
            base = base_of(instr.out)
            if plan.home.get(id(base)) in ("arena", "scalar"):
                plan.home[id(base)] = "fresh"
    for instr in plan.instrs:
        for value in instr.outs:
            if value is not None and plan.home[id(value)] == "arena":
                _reserve(plan, id(value), value.dtype, value.size)
        group = group_of.get(id(instr))
        if instr.op in REDUCTIONS and not is_suffix_reduction(instr, group) and \
                accumulator_dtype(instr) != instr.out.dtype:
            _reserve(plan, ("accumulator", id(instr.out)), accumulator_dtype(instr),
                     instr.out.size)


def _reserve(plan, key, dtype, size):
    """A slice of the arena of ``dtype`` for ``key``."""
    dtype = np.dtype(dtype)
    start = plan.arena.get(dtype, 0)
    plan.offset[key] = (dtype, start)
    plan.arena[dtype] = start + max(size, 1)


def _home(plan, instr, value, consumers, group_of):
    if instr.op in VIEWS:
        return "view"
    if instr.op == "uniform":
        return "fresh" if id(value) in plan.escaping else "arena"  # drawn into its buffer
    if instr.op in PYTHON_OPS:
        return "python"
    if id(value) in plan.escaping:
        return "fresh"
    if kind_of(instr) == "blas":
        return "arena"
    if instr.op in REDUCTIONS:
        return "arena"  # complete only after its loop: others read it from memory
    group = group_of.get(id(instr))
    for consumer, how in consumers.get(id(value), []):
        if how != "direct" or group_of.get(id(consumer)) is not group:
            return "arena"
    return "scalar"


def is_suffix_reduction(instr, group):
    """A reduction over the innermost axes of its loop: it accumulates in a local variable.

    Any other (the sum over the batch of a bias gradient, say) accumulates into a buffer.
    """
    axes = instr.attrs["axes"]
    n = len(group.shape)
    return axes == tuple(range(n - len(axes), n))


def base_of(value):
    """The value a chain of views reads from."""
    while value.instr is not None and value.instr.op in VIEWS:
        value = value.instr.args[0]
    return value


def accumulator_dtype(instr):
    """The dtype a reduction accumulates in: float64 for float sums (accuracy near NumPy's
    pairwise summation), else the result's."""
    if instr.op == "sum" and instr.out.dtype.kind == "f":
        return np.dtype(np.float64)
    return instr.out.dtype
