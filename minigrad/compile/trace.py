"""The recorder: run a step eagerly once and write down everything it did, in order.

While the step runs, the recorder is told of

- every operation (``autograd._state.watchers``, called by ``Function.apply``),
- every ``backward()`` before the engine runs it (``autograd._state.backward_watchers``),
- every tensor value read into Python (``.item()``, ``bool()``: ``read_watchers``),
- every ``step()`` of the optimizers the step can reach (their ``step`` is wrapped meanwhile),
- every gradient clipping through ``nn.utils`` (those two functions are wrapped meanwhile),

and it snapshots what the step could change behind its back (parameters, gradients, the
optimizers' hyper-parameters), so that ``lower.py`` can check that the recording is the whole
story. The result is a :class:`Trace`: a list of events over the live tensors of that call.
"""

import os
import sys
import threading

import numpy as np

from minigrad import autograd
from minigrad.nn import utils as nn_utils

_active = threading.local()  # .recorder: the Recorder of this thread's trace, if any


class Event:
    """One thing the step did: ``kind`` is 'op', 'backward', 'step', 'clip', 'read' or 'grads'."""

    __slots__ = ("kind", "data")

    def __init__(self, kind, **data):
        self.kind, self.data = kind, data

    def __getattr__(self, name):
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None


class Trace:
    """What one eager call did: its arguments, events, result and the state before and after."""

    def __init__(self, args, kwargs, modules, optimizers):
        self.args, self.kwargs = args, kwargs
        self.modules, self.optimizers = modules, optimizers
        self.events = []
        self.result = None
        self.start_grads = {}    # id(parameter) -> its .grad when the call began
        self.start_data = {}     # id(parameter) -> (parameter, a copy of its .data)
        self.start_hyper = []    # (optimizer, group, a copy of its hyper-parameters)
        self.start_modes = []    # (module, its training flag)
        self.end_grads = {}      # id(parameter) -> (parameter, its .grad when the call ended)


class Recorder:
    """A context manager that records the step running inside it into ``trace``."""

    def __init__(self, trace):
        self.trace = trace
        self._depth = 0  # > 0 inside a recorded optimizer step: its own doings are not events
        self._pending_backward = None

    # ------------------------------------------------------------------ watching
    def on_op(self, fn, inputs, arrays, result, params):
        """Told of every operation: keep the Function, its inputs, result and parameters."""
        self._finish_backward()
        if self._depth:
            return
        self.trace.events.append(Event("op", fn=fn, inputs=tuple(inputs), result=result,
                                       params=dict(params)))

    def on_backward(self, roots, root_grads, retain_graph, create_graph, inputs, finished):
        """Told of a backward() before the engine runs (keep the order it will visit) and
        after (keep the gradients it left)."""
        if finished:
            self._finish_backward()
            return
        self._finish_backward()
        order = autograd.topological_order(roots)
        leaves = [t for t in order if t.grad_fn is None]
        event = Event("backward", roots=list(roots), root_grads=list(root_grads), order=order,
                      retain_graph=retain_graph, create_graph=create_graph, inputs=inputs,
                      grads_before={id(t): t.grad for t in leaves}, grads_after=None)
        self.trace.events.append(event)
        self._pending_backward = (event, leaves)

    def _finish_backward(self):
        """The engine has finished the last backward: note the gradients it left."""
        if self._pending_backward is None:
            return
        event, leaves = self._pending_backward
        self._pending_backward = None
        event.data["grads_after"] = {
            id(t): (t.grad, None if t.grad is None or not isinstance(t.grad, np.ndarray)
                    else t.grad.copy()) for t in leaves}

    def on_read(self, tensor, how):
        """Told of a value read into Python: where it happened, for the error message."""
        self._finish_backward()
        self.trace.events.append(Event("read", tensor=tensor, how=how, where=_user_frame()))

    def on_step(self, optimizer, step, closure=None):
        """The wrapped ``optimizer.step``: record it, then run it."""
        self._finish_backward()
        if closure is not None:
            raise _refuse("optimizer.step(closure) inside a compiled step (call the closure "
                          "yourself, then step())")
        if self._depth == 0:
            grads = {id(p): (p.grad, None if p.grad is None else p.grad.copy())
                     for group in optimizer.param_groups for p in group["params"]}
            self.trace.events.append(Event("step", optimizer=optimizer, grads=grads))
        self._depth += 1
        try:
            return step()
        finally:
            self._depth -= 1

    def on_clip(self, kind, original, parameters, *args, **kwargs):
        """The wrapped ``nn.utils.clip_grad_norm_`` / ``clip_grad_value_``: record, then run."""
        self._finish_backward()
        params = [parameters] if not isinstance(parameters, list | tuple) and hasattr(
            parameters, "grad") else list(parameters)
        self.trace.events.append(Event("clip", function=kind, params=params, args=args,
                                       kwargs=kwargs))
        return original(params, *args, **kwargs)

    # ------------------------------------------------------------------- install
    def __enter__(self):
        if getattr(_active, "recorder", None) is not None:
            raise _refuse("a compiled step called another compiled step while being traced")
        _active.recorder = self
        state = autograd._state
        self._saved = (state.watchers, state.backward_watchers, state.read_watchers,
                       state.grad_enabled)
        state.watchers = (*state.watchers, self.on_op)
        state.backward_watchers = (*state.backward_watchers, self.on_backward)
        state.read_watchers = (*state.read_watchers, self.on_read)
        self._snapshot_start()
        self._wrapped = []
        for optimizer in self.trace.optimizers:
            self._wrap_step(optimizer)
        _install_clip_wrappers()
        return self

    def __exit__(self, *exc):
        self._finish_backward()
        state = autograd._state
        state.watchers, state.backward_watchers, state.read_watchers = self._saved[:3]
        for optimizer, had, previous in self._wrapped:
            if had:
                optimizer.__dict__["step"] = previous
            else:
                optimizer.__dict__.pop("step", None)
        _active.recorder = None
        if exc[0] is None:
            self._snapshot_end()
        return False

    def _wrap_step(self, optimizer):
        """Shadow ``optimizer.step`` with a recording wrapper (an instance attribute)."""
        had = "step" in optimizer.__dict__
        previous = optimizer.__dict__.get("step")
        original = optimizer.step

        def step(closure=None):
            return self.on_step(optimizer, original, closure)

        optimizer.__dict__["step"] = step
        self._wrapped.append((optimizer, had, previous))

    def _snapshot_start(self):
        trace = self.trace
        for p in _known_parameters(trace):
            trace.start_grads[id(p)] = p.grad
            trace.start_data[id(p)] = (p, p.data.copy())
        for optimizer in trace.optimizers:
            for group in optimizer.param_groups:
                hyper = {k: v for k, v in group.items() if k != "params"}
                trace.start_hyper.append((optimizer, group, hyper, list(group["params"])))
        trace.start_modes = [(m, m.training) for top in trace.modules for m in top.modules()]

    def _snapshot_end(self):
        trace = self.trace
        for p, _ in trace.start_data.values():
            trace.end_grads[id(p)] = (p, p.grad)


def _known_parameters(trace):
    """Every parameter the discovered modules and optimizers hold, each once."""
    params = {}
    for module in trace.modules:
        for p in module.parameters():
            params[id(p)] = p
    for optimizer in trace.optimizers:
        for group in optimizer.param_groups:
            for p in group["params"]:
                params[id(p)] = p
    return list(params.values())


# -------------------------------------------------------------------- gradient clipping
_CLIP_ORIGINALS = {"clip_grad_norm_": nn_utils.clip_grad_norm_,
                   "clip_grad_value_": nn_utils.clip_grad_value_}


def _clip_wrapper(kind):
    original = _CLIP_ORIGINALS[kind]

    def clip(parameters, *args, **kwargs):
        recorder = getattr(_active, "recorder", None)
        if recorder is None:  # another thread, or no trace running: the plain function
            return original(parameters, *args, **kwargs)
        return recorder.on_clip(kind, original, parameters, *args, **kwargs)

    clip.__name__ = clip.__qualname__ = kind
    clip.__doc__ = original.__doc__
    clip.__wrapped__ = original
    return clip


def _install_clip_wrappers():
    """Route ``nn.utils``' clipping through the recorder (installed once, harmless after).

    Gradient clipping works on the ``.grad`` arrays in place, which no operation shows; the
    wrappers tell the recorder (in the tracing thread only) and call the original.
    """
    for kind in _CLIP_ORIGINALS:
        if getattr(nn_utils, kind) is _CLIP_ORIGINALS[kind]:
            setattr(nn_utils, kind, _clip_wrapper(kind))


# ------------------------------------------------------------------------------- errors
class CompileError(RuntimeError):
    """A step that ``minigrad.compile`` cannot replay faithfully, and why."""


def _refuse(message):
    return CompileError(f"minigrad.compile: {message}")


refuse = _refuse

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_frame():
    """'file.py:42' of the innermost frame outside minigrad (where the user's code is)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE + os.sep):
            return f"{os.path.basename(path)}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"
