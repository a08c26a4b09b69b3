"""save/load: round trips without pickle, atomic replacement, clear errors for foreign files."""

import os
import zipfile

import numpy as np
import pytest

import minigrad
from minigrad import nn, serialization
from minigrad.serialization import load, save


def test_round_trip_of_nested_structures(tmp_path):
    obj = {
        "weights": {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3)},
        "step": 7, "lr": 1e-3, "nesterov": False, "note": "épreuve", "nothing": None,
        "betas": (0.9, 0.999),
        "history": [1.5, [2, np.arange(3)], {"deep": np.float64(2.5)}],
        3: "int key", 2.5: "float key", True: "bool key",
    }
    save(obj, tmp_path / "ckpt.npz")
    back = load(tmp_path / "ckpt.npz")
    assert list(back) == list(obj)
    assert back["step"] == 7 and type(back["step"]) is int
    assert back["lr"] == 1e-3 and back["nesterov"] is False and back["nothing"] is None
    assert back["note"] == "épreuve" and back["betas"] == (0.9, 0.999)
    assert back[3] == "int key" and back[2.5] == "float key" and back[True] == "bool key"
    weight = back["weights"]["fc.weight"]
    assert weight.dtype == np.float32 and weight.shape == (2, 3)
    np.testing.assert_array_equal(weight, obj["weights"]["fc.weight"])
    np.testing.assert_array_equal(back["history"][1][1], np.arange(3))
    assert back["history"][2]["deep"] == 2.5 and back["history"][2]["deep"].dtype == np.float64


def test_optimizer_like_state_keeps_int_keys(tmp_path):
    state = {
        "state": {0: {"step": 3, "exp_avg": np.ones(2)}, 1: {"step": 3, "exp_avg": np.zeros(1)}},
        "param_groups": [{"lr": 0.01, "betas": (0.9, 0.99), "amsgrad": True, "params": [0, 1]}],
    }
    save(state, tmp_path / "opt")
    back = load(tmp_path / "opt")
    assert list(back["state"]) == [0, 1]
    assert back["param_groups"] == [{"lr": 0.01, "betas": (0.9, 0.99), "amsgrad": True,
                                     "params": [0, 1]}]
    np.testing.assert_array_equal(back["state"][0]["exp_avg"], np.ones(2))


def test_model_checkpoint_round_trip_and_tensors_load_as_arrays(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    save({"model": model.state_dict(), "t": minigrad.tensor([1.0, 2.0])}, tmp_path / "m")
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    back = load(tmp_path / "m")
    other.load_state_dict(back["model"])
    x = minigrad.randn(2, 3)
    np.testing.assert_array_equal(model(x).data, other(x).data)
    assert isinstance(back["t"], np.ndarray)


def test_the_file_holds_no_pickle(tmp_path):
    save({"a": [1, "x"], "b": np.zeros(2)}, tmp_path / "f")
    with np.load(tmp_path / "f", allow_pickle=False) as archive:  # would fail on object arrays
        assert sorted(archive.files) == ["__minigrad__", "a0"]


def test_unsupported_objects_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store a set at obj\['x'\]\[1\]"):
        save({"x": [1, {2}]}, tmp_path / "f")
    with pytest.raises(TypeError, match="dict key"):
        save({(1, 2): 3}, tmp_path / "f")
    with pytest.raises(TypeError, match="array of Python objects"):
        save([np.array([None])], tmp_path / "f")
    assert os.listdir(tmp_path) == []  # no file and no temporary left behind


def test_a_failure_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save({"version": 1, "w": np.ones(1000)}, path)
    before = path.read_bytes()

    def write_half_then_fail(file, obj):
        file.write(before[: len(before) // 2])  # a partial archive is on disk...
        raise OSError("disk full")               # ...when the write fails

    monkeypatch.setattr(serialization, "_write", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save({"version": 2}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt"]
    assert load(path)["version"] == 1


def test_an_interrupted_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save([1], path)

    def failing_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        save([2], path)
    monkeypatch.undo()
    assert load(path) == [1] and os.listdir(tmp_path) == ["ckpt"]


def test_save_keeps_the_file_mode_and_adds_no_suffix(tmp_path):
    path = tmp_path / "model.ckpt"
    save([1], path)
    assert os.listdir(tmp_path) == ["model.ckpt"]
    assert os.stat(path).st_mode & 0o777 == 0o644
    os.chmod(path, 0o600)
    save([2], path)
    assert os.stat(path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("kind", ["text", "empty", "npy", "foreign npz", "truncated", "corrupt"])
def test_foreign_or_corrupt_files_raise_value_error_naming_the_path(tmp_path, kind):
    path = tmp_path / "bad.npz"
    if kind == "text":
        path.write_text("hello")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.ones(3))
    elif kind == "foreign npz":
        with open(path, "wb") as f:
            np.savez(f, x=np.ones(3))
    else:
        save({"w": np.arange(100.0)}, path)
        data = bytearray(path.read_bytes())
        if kind == "truncated":
            data = data[: len(data) // 2]
        else:
            with zipfile.ZipFile(path) as archive:
                offset = archive.getinfo("a0.npy").header_offset
            data[offset + 200] ^= 0xFF  # flip a byte inside the array's data
        path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"load: '{path}' is not a valid minigrad checkpoint"):
        load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope")


def test_a_real_optimizer_state_dict_round_trips(tmp_path):
    optim = pytest.importorskip("minigrad.optim")
    model = nn.Linear(2, 2)
    optimizer = optim.Adam(model.parameters(), lr=0.01, backend="numpy")
    model(minigrad.randn(3, 2)).sum().backward()
    optimizer.step()
    save(optimizer.state_dict(), tmp_path / "opt")
    back = load(tmp_path / "opt")
    state = optimizer.state_dict()
    assert back["param_groups"] == state["param_groups"]
    assert list(back["state"]) == list(state["state"])
    for key, entry in state["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(back["state"][key][name], value, err_msg=name)
    restored = optim.Adam(nn.Linear(2, 2).parameters(), lr=0.01, backend="numpy")
    restored.load_state_dict(back)
