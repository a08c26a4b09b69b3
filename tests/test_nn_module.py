"""Module, Parameter, Sequential and ModuleList: registration, traversal, modes, state dicts."""

import numpy as np
import pytest

import minigrad
from minigrad import nn


class Block(nn.Module):
    """Two linear layers sharing nothing; a plain attribute that must not register."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.scale = 2.0
        self.fc2 = nn.Linear(4, 2)
        self.gain = nn.Parameter(np.ones(2, dtype=np.float32))

    def forward(self, x):
        return self.fc2(self.fc1(x).relu()) * self.gain * self.scale


def test_parameter_is_a_leaf_that_requires_grad_and_copies_its_data():
    array = np.arange(3.0)
    p = nn.Parameter(array)
    assert isinstance(p, minigrad.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64
    array[0] = 99
    assert p.data[0] == 0
    assert nn.Parameter(minigrad.tensor([1.0])).dtype == np.float32
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.arange(3))


def test_registration_order_and_dotted_names():
    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["gain", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [name for name, _ in block.named_children()] == ["fc1", "fc2"]
    assert list(block.children()) == [block.fc1, block.fc2]
    assert list(block.modules()) == [block, block.fc1, block.fc2]
    assert "scale" not in block._parameters and block.scale == 2.0


def test_sequential_names_and_forward():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    x = minigrad.randn(5, 2)
    expected = np.tanh(x.data @ model[0].weight.data.T + model[0].bias.data)
    expected = expected @ model[2].weight.data.T + model[2].bias.data
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-6)
    assert len(model) == 3 and isinstance(model[1], nn.Tanh) and model[-1] is model[2]
    assert isinstance(model[:2], nn.Sequential) and len(model[:2]) == 2
    with pytest.raises(IndexError, match="index 3"):
        model[3]


def test_shared_parameter_is_listed_once_but_state_dict_has_both_names():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)
            self.b.weight = self.a.weight

    tied = Tied()
    assert [n for n, _ in tied.named_parameters()] == ["a.weight", "a.bias", "b.bias"]
    assert list(tied.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]


def test_module_list_registers_runtime_sized_layers():
    layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))
    layers.append(nn.ReLU())
    assert len(layers) == 4 and isinstance(layers[3], nn.ReLU)
    assert len(list(layers.parameters())) == 6
    layers[0] = nn.Linear(2, 5)
    assert layers[0].out_features == 5
    with pytest.raises(NotImplementedError):
        layers(minigrad.zeros(1, 2))


def test_register_parameter_and_add_module_with_computed_names():
    module = nn.Module()
    for k in range(2):
        module.register_parameter(f"weight_l{k}", nn.Parameter(np.zeros(2, dtype=np.float32)))
    module.add_module("inner", nn.Linear(1, 1))
    module.register_parameter("bias", None)
    assert module.bias is None
    assert [n for n, _ in module.named_parameters()] == [
        "weight_l0", "weight_l1", "inner.weight", "inner.bias"]
    assert module.weight_l1 is module._parameters["weight_l1"]
    with pytest.raises(TypeError, match="must be a Parameter"):
        module.register_parameter("w", minigrad.zeros(2))
    with pytest.raises(ValueError, match="without '.'"):
        module.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="forward"):
        module.add_module("forward", nn.ReLU())


def test_assigning_a_plain_tensor_over_a_parameter_is_refused():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = minigrad.zeros(2, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    del layer.weight
    assert list(layer.named_parameters()) == []


def test_forgetting_super_init_gives_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_train_eval_and_zero_grad_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model(minigrad.randn(3, 2)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_is_nested_and_readable():
    model = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Sequential(nn.Dropout(0.1)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=False)\n"
        "  (1): Sequential(\n"
        "    (0): Dropout(p=0.1)\n"
        "  )\n"
        ")"
    )


def test_to_double_converts_parameters():
    model = nn.Sequential(nn.Linear(2, 3)).double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    with pytest.raises(ValueError, match="floating"):
        model.to(np.int32)


# ----------------------------------------------------------------------------- state dict
def test_state_dict_round_trip_copies_arrays():
    source, target = Block(), Block()
    state = source.state_dict()
    assert list(state) == [n for n, _ in source.named_parameters()]
    state["fc1.weight"][...] = 0  # a copy: editing it leaves the model alone
    assert np.any(source.fc1.weight.data != 0)
    state = source.state_dict()
    weight_array = target.fc1.weight.data
    result = target.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, p), (_, q) in zip(source.named_parameters(), target.named_parameters(),
                                 strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert target.fc1.weight.data is weight_array  # loaded in place
    x = minigrad.randn(4, 3)
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_failed_load_changes_nothing_and_lists_every_problem():
    model = Block()
    before = {n: a.copy() for n, a in model.state_dict().items()}
    state = Block().state_dict()
    del state["fc1.bias"]
    state["extra"] = np.zeros(1)
    state["fc2.weight"] = np.zeros((5, 5), dtype=np.float32)
    state["gain"] = state["gain"].astype(np.float64)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    for part in ["missing entry 'fc1.bias'", "unexpected entry 'extra'",
                 "shape mismatch for 'fc2.weight': got (5, 5), expected (2, 4)",
                 "dtype mismatch for 'gain': got float64, expected float32", "4 problem"]:
        assert part in message
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)


def test_non_strict_load_reports_missing_and_unexpected_but_still_checks_shapes():
    model = Block()
    state = Block().state_dict()
    del state["gain"]
    state["extra"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["gain"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model.fc1.weight.data, state["fc1.weight"])
    state["fc1.bias"] = np.zeros(7, dtype=np.float32)
    with pytest.raises(ValueError, match="shape mismatch for 'fc1.bias'"):
        model.load_state_dict(state, strict=False)


def test_load_state_dict_accepts_tensors_and_rejects_other_values():
    model = nn.Linear(2, 1)
    state = {"weight": minigrad.zeros(1, 2), "bias": [0.0]}
    with pytest.raises(ValueError, match="'bias' is a list"):
        model.load_state_dict(state)
    state["bias"] = minigrad.ones(1)
    model.load_state_dict(state)
    assert model.bias.data[0] == 1 and np.all(model.weight.data == 0)
