"""minigrad.compile refuses what it cannot replay faithfully, with an error naming the cause.

A replay repeats the recorded operations; anything the step does that no operation shows (a
Python decision on a value, NumPy on ``.data``, a hyper-parameter changed inside it) would be
replayed wrongly, so each case must raise, and say why. ``check=True`` (and the environment
variable) catch what the recording cannot see at all, by running eager and compiled side by
side.
"""

import numpy as np
import pytest
from helpers import training_step

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim

pytest.importorskip("numba")

CompileError = minigrad.compile.CompileError


@pytest.fixture
def setup(rng):
    """A model, its optimizer and a few batches."""
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    data = [(minigrad.tensor(rng.standard_normal((6, 4)).astype(np.float32)),
             minigrad.tensor(rng.integers(0, 3, 6))) for _ in range(6)]
    return model, optimizer, data


def refused(step, data, match, calls=2):
    call = minigrad.compile(step)
    with pytest.raises(CompileError, match=match):
        for batch in data[:calls]:
            call(*batch)
    return call


def test_item_steering_control_flow(setup):
    model, optimizer, data = setup

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if loss.item() > 100:  # a decision a replay would not take again
            loss = loss * 0
        loss.backward()
        optimizer.step()
        return loss
    refused(step, data, r"item\(\) at test_compile_refusals.py:\d+")


def test_comparison_steering_control_flow(setup):
    model, optimizer, data = setup

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if loss < 0.01:
            return loss
        loss.backward()
        optimizer.step()
        return loss
    refused(step, data, r"a comparison \(<\)")


def test_numpy_on_data_changing_parameters(setup):
    model, optimizer, data = setup

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad  # no operation shows this
        return loss
    refused(step, data, "model.0.weight was changed in place by code the recorder cannot see")


def test_numpy_on_data_making_a_constant(setup):
    model, optimizer, data = setup

    def step(x, y):
        optimizer.zero_grad()
        scale = minigrad.tensor(np.abs(x.data).mean(axis=0))  # a value computed with NumPy
        loss = F.cross_entropy(model(x * scale), y)
        loss.backward()
        optimizer.step()
        return loss
    refused(step, data, "did not do the same thing on its first two calls")


def test_gradients_changed_with_numpy(setup):
    model, optimizer, data = setup

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        model[0].weight.grad *= 0.5
        optimizer.step()
        return loss
    refused(step, data, "changed in place between backward\\(\\) and optimizer.step\\(\\)")


def test_scheduler_stepped_inside(setup):
    model, optimizer, data = setup
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss
    refused(step, data, r"changed the hyper-parameters of SGD \(lr\)")


def test_switching_modes_inside(setup):
    model, optimizer, data = setup

    def step(x, y):
        model.train()
        return F.cross_entropy(model(x), y)
    model.eval()
    refused(step, data, "switched Sequential to training mode", calls=1)


def test_python_state_changing_the_operations(setup):
    model, optimizer, data = setup
    calls = []

    def step(x, y):
        calls.append(1)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if len(calls) % 2:
            loss = loss * 2
        loss.backward()
        optimizer.step()
        return loss
    refused(step, data, "did not do the same thing on its first two calls")


def test_tensor_hooks_and_create_graph(setup):
    model, optimizer, data = setup

    def with_hook(x, y):
        optimizer.zero_grad()
        hidden = model[0](x)
        hidden.register_hook(lambda g: g * 2)
        loss = F.cross_entropy(model[2](model[1](hidden)), y)
        loss.backward()
        optimizer.step()
        return loss
    refused(with_hook, data, "tensor hook", calls=1)

    def with_create_graph(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward(create_graph=True)
        return loss
    refused(with_create_graph, data, "create_graph", calls=1)


def test_returning_a_python_number(setup):
    model, optimizer, data = setup

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss, 1.0
    refused(step, data, "returned a float", calls=1)


def compiled_step(model, optimizer, data):
    call = minigrad.compile(training_step(model, optimizer, F.cross_entropy))
    for batch in data[:3]:
        call(*batch)
    assert call.compiled
    return call


def test_parameter_replaced(setup):
    model, optimizer, data = setup
    call = compiled_step(model, optimizer, data)
    model[0].weight = nn.Parameter(np.zeros((8, 4), np.float32))
    with pytest.raises(CompileError, match="parameter model.0.weight was replaced"):
        call(*data[3])


@pytest.mark.parametrize("how", ["replaced", "in place"])
def test_parameter_data_of_another_shape(setup, how):
    model, optimizer, data = setup
    call = compiled_step(model, optimizer, data)
    if how == "replaced":
        model[0].bias.data = np.zeros(9, np.float32)
    else:
        model[0].weight.data.shape = (32,)  # NumPy lets a contiguous array change shape
    with pytest.raises(CompileError, match="changed shape or dtype"):
        call(*data[3])


def test_different_parameters_with_gradients(setup):
    model, optimizer, data = setup
    call = compiled_step(model, optimizer, data)
    model[2].bias.requires_grad_(False)
    with pytest.raises(CompileError, match="parameters with gradients changed"):
        call(*data[3])


def test_parameters_of_the_optimizer_changed(setup):
    model, optimizer, data = setup
    call = compiled_step(model, optimizer, data)
    optimizer.add_param_group({"params": [nn.Parameter(np.zeros(3, np.float32))]})
    with pytest.raises(CompileError, match="parameters of SGD changed"):
        call(*data[3])


SETTINGS = {"scale": 1.0}


def unfaithful(model, optimizer):
    """A step reading a number from a dict: traced as a constant, so a replay misses a later
    change of it (rebinding a global is noticed; changing what a dict holds is not). Only
    running eager beside compiled (check) can see it."""
    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y) * SETTINGS["scale"]
        loss.backward()
        optimizer.step()
        return loss
    return step


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_check_catches_an_unfaithful_step(setup, monkeypatch, how):
    model, optimizer, data = setup
    if how == "environment":
        monkeypatch.setenv("MINIGRAD_COMPILE_CHECK", "1")
    call = minigrad.compile(unfaithful(model, optimizer), check=how == "argument")
    assert call.check
    for batch in data[:3]:
        call(*batch)
    assert call.compiled and "* 1.0" not in str(call.program)  # times one: no instruction
    monkeypatch.setitem(SETTINGS, "scale", 3.0)
    with pytest.raises(CompileError, match="check: this call does not do what the compiled"):
        call(*data[3])


def test_rebinding_a_global_traces_again(setup):
    global SCALE
    model, optimizer, data = setup
    call = minigrad.compile(scaled(model, optimizer))
    for batch in data[:3]:
        call(*batch)
    SCALE = 3.0
    try:
        call(*data[3])
        assert "* 3.0" in str(call.program)
    finally:
        SCALE = 1.0


SCALE = 1.0


def scaled(model, optimizer):
    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y) * SCALE
        loss.backward()
        optimizer.step()
        return loss
    return step


def test_check_reports_values_that_differ(setup, monkeypatch):
    model, optimizer, data = setup
    call = minigrad.compile(unfaithful(model, optimizer), check=True)
    for batch in data[:3]:
        call(*batch)
    replay = call._last.call

    def wrong(args, kwargs):  # a replay that doubles the last layer's bias gradient
        result = replay(args, kwargs)
        model[2].bias.grad = model[2].bias.grad * 2
        return result
    call._last.call = wrong
    with pytest.raises(CompileError, match=r"check: the gradient of model.2.bias differs"):
        call(*data[3])
