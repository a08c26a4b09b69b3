"""save/load: round trips without pickle, atomic replacement, clear errors for foreign files."""

import errno
import io
import json
import os
import struct
import subprocess
import sys
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------------ malformed files
# A checkpoint may be cut short, have bits flipped, or be crafted; whatever the bytes, load must
# give back the saved object or raise ValueError naming the path, and never allocate what the
# file merely claims.
SAMPLE = {
    "model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2)},
    "step": 3, "betas": (0.9, 0.999), "name": "run",
}


def _same(a, b):
    """Whether ``a`` and ``b`` are the same nested object, arrays compared bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b


def _members(path):
    """The members of the archive at ``path``: ``{name: bytes}``."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip_bytes(members, compression=zipfile.ZIP_STORED):
    """``members`` as a well-formed zip (correct CRCs), so only their content can be bad."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    """Write ``members`` as a well-formed zip to ``path``."""
    path.write_bytes(_zip_bytes(members, compression))


def _npy(header, data=b""):
    """An .npy member whose header dict is the text ``header``, followed by ``data``."""
    text = header.encode("latin1") + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


def _load_is_right_or_value_error(path, expected=None):
    """Load ``path``: the result must be ``expected`` (if given), or a ValueError naming it."""
    try:
        back = load(path)
    except ValueError as error:
        assert str(path) in str(error)
        return "error"
    assert expected is None or _same(back, expected), "a corrupted file loaded as something else"
    return "loaded"


class _Scratch:
    """A file rewritten in place, never truncated to 0 (ext4 flushes such a file to disk)."""

    def __init__(self, path):
        self.path = path
        self._file = open(path, "w+b", buffering=0)

    def put(self, data):
        self._file.seek(0)
        self._file.write(data)
        self._file.truncate(len(data))

    def close(self):
        self._file.close()


def test_every_flipped_bit_and_every_truncation_is_caught(tmp_path):
    good = tmp_path / "good.npz"
    save(SAMPLE, good)
    data = good.read_bytes()
    bad = _Scratch(tmp_path / "bad.npz")
    outcomes = set()
    for position in range(len(data)):
        for mask in (1 << (position % 8), 0xFF):
            corrupted = bytearray(data)
            corrupted[position] ^= mask
            bad.put(corrupted)
            outcomes.add(_load_is_right_or_value_error(bad.path, SAMPLE))
    for length in reversed(range(len(data))):
        bad.put(data[:length])
        assert _load_is_right_or_value_error(bad.path, SAMPLE) == "error"
    bad.close()
    assert outcomes == {"loaded", "error"}  # some bytes (e.g. timestamps) do not matter


def test_every_flipped_bit_in_headers_with_a_valid_crc_is_caught(tmp_path):
    # With the CRC recomputed, a flip is a crafted file: it may load as something else (a '<f4'
    # that became '<i4'), but it must load or be a ValueError, never another exception.
    good = tmp_path / "good.npz"
    save(SAMPLE, good)
    members = _members(good)
    bad = _Scratch(tmp_path / "bad.npz")
    for name, member in members.items():
        header_end = len(member) if name == "__minigrad__.npy" else 128
        for position in range(header_end):
            corrupted = bytearray(member)
            corrupted[position] ^= 1 << (position % 8)
            bad.put(_zip_bytes({**members, name: bytes(corrupted)}))
            _load_is_right_or_value_error(bad.path)
    bad.close()


@pytest.mark.parametrize("header, np_load_raised", [
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), |", "tokenize.TokenError"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", "tokenize.TokenError"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,, 3), }", "SyntaxError"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}}", "SyntaxError"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), '\x00': 1}", "ValueError"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, " + "(" * 300, "SyntaxError"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, " + "-" * 5000 + "3), }",
     "MemoryError"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3" + "+0" * 3000 + "), }",
     "RecursionError"),
    ("{'descr': ('<f4',), 'fortran_order': False, 'shape': (2, 3), }", "IndexError"),
    ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", "ValueError"),
])
def test_a_broken_array_header_is_a_value_error(tmp_path, header, np_load_raised):
    path = tmp_path / "f.npz"
    save(SAMPLE, path)
    members = _members(path)
    members["a0.npy"] = _npy(header, members["a0.npy"][128:])
    _write_zip(path, members)
    with pytest.raises(ValueError, match=f"load: '{path}' .*: member 'a0.npy' has"):
        load(path)


def _peak_memory_of_failed_load(path, match):
    """Load ``path``, expecting a ValueError that matches ``match``; return the peak bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            load(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape, descr, problem", [
    ((10**12,), "<f8", "declares shape"),        # 8 TB: MemoryError when allocated
    ((2**40, 2**40), "<f8", "declares shape"),   # the element count overflows int64
    ((10**8,), "<f8", "declares shape"),         # 800 MB: allocatable, but 16 bytes are there
    ((2,), "<U1000000000", "invalid dtype"),     # the item size is absurd
    ((-1,), "<f8", "not a tuple of sizes"),
    ((True, 2), "<f8", "not a tuple of sizes"),
])
def test_a_declared_size_that_the_member_does_not_hold_is_refused_unallocated(
        tmp_path, shape, descr, problem):
    path = tmp_path / "f.npz"
    save({"w": np.zeros(2)}, path)
    members = _members(path)
    members["a0.npy"] = _npy(f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}}}",
                             np.zeros(2).tobytes())
    _write_zip(path, members)
    match = f"'{path}' is not a valid minigrad checkpoint: member 'a0.npy' .*{problem}"
    assert _peak_memory_of_failed_load(path, match) < 1_000_000


def test_a_deeply_nested_structure_is_a_value_error(tmp_path):
    path = tmp_path / "f.npz"
    deep = "[" * 100_000 + "]" * 100_000
    header = f'{{"format": "minigrad", "version": 1, "root": {deep}}}'.encode()
    structure = np.frombuffer(header, dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, __minigrad__=structure)
    with pytest.raises(ValueError, match=f"load: '{path}' is not a valid minigrad checkpoint"):
        load(path)


def test_a_corrupt_compressed_member_is_a_value_error(tmp_path):
    path = tmp_path / "f.npz"
    save({"w": np.arange(1000.0)}, path)
    _write_zip(path, _members(path), compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as archive:
        offset = archive.getinfo("a0.npy").header_offset
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[offset + 26: offset + 30])
    start = offset + 30 + name_length + extra_length  # the member's deflate stream
    data[start + 10: start + 30] = bytes(20)  # garbage inside the deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"load: '{path}' is not a valid minigrad checkpoint"):
        load(path)


def test_compressed_members_are_refused_before_they_are_inflated(tmp_path):
    path = tmp_path / "f.npz"
    save({"w": np.zeros(10**6)}, path)  # 8 MB of zeros deflate to a few kB
    _write_zip(path, _members(path), compression=zipfile.ZIP_DEFLATED)
    assert _peak_memory_of_failed_load(path, "compressed") < 1_000_000


def _end_of_central_directory(data):
    """The offset of the zip's end-of-central-directory record in ``data``."""
    return data.rindex(b"PK\x05\x06")


@pytest.mark.parametrize("corruption", ["cd offset + 1", "encrypted flag", "zip version 9.9",
                                        "member offset far away"])
def test_zip_container_corruptions_are_value_errors(tmp_path, corruption):
    path = tmp_path / "f.npz"
    save(SAMPLE, path)
    data = bytearray(path.read_bytes())
    end = _end_of_central_directory(data)
    directory = int.from_bytes(data[end + 16: end + 20], "little")
    assert data[directory: directory + 4] == b"PK\x01\x02"
    if corruption == "cd offset + 1":  # every member offset becomes -1 relative to the file
        data[end + 16] += 1
    elif corruption == "encrypted flag":
        data[directory + 8] |= 1
    elif corruption == "zip version 9.9":
        data[directory + 6] = 99
    else:
        data[directory + 42: directory + 46] = (2**31).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"load: '{path}' is not a valid minigrad checkpoint"):
        load(path)


def _with_structure(tmp_path, root, **arrays):
    """A file whose structure header has ``root`` as given, beside ``arrays``."""
    path = tmp_path / "f.npz"
    header = json.dumps({"format": "minigrad", "version": 1, "root": root}).encode()
    with open(path, "wb") as file:
        np.savez(file, __minigrad__=np.frombuffer(header, dtype=np.uint8), **arrays)
    return path


@pytest.mark.parametrize("root, arrays, problem", [
    ({"$": "dict", "keys": "ab", "values": [1, 2]}, {}, "'keys' is 'ab', not a list"),
    ({"$": "dict", "keys": [1, 1], "values": [1, 2]}, {}, "duplicate keys"),
    ({"$": "dict", "keys": [[1]], "values": [1]}, {}, r"dict key \[1\]"),
    ({"$": "dict", "keys": [1], "values": [1, 2]}, {}, "1 keys but 2 values"),
    ({"$": "list", "items": {"a": 1}}, {}, "'items' is {'a': 1}, not a list"),
    ({"$": "tuple"}, {}, r"tuple node with fields \['\$'\]"),
    ({"$": "scalar", "key": "a0"}, {"a0": np.zeros(3)}, r"shape \(3,\), expected 0-d"),
    ({"$": "list", "items": [{"$": "array", "key": "a0"}, {"$": "array", "key": "a0"}]},
     {"a0": np.zeros(3)}, "'a0' twice"),
    ({"$": "array", "key": "a1"}, {"a0": np.zeros(3)}, "'a1', which is not a member"),
    ({"$": "array", "key": "a0"}, {"a0": np.zeros(3), "a1": np.zeros(1)},
     "'a1.npy' is not used"),
    ({"$": "array", "key": ["a0"]}, {"a0": np.zeros(3)}, r"\['a0'\], which is not a member"),
    ({"$": "set", "items": []}, {}, "known '\\$' kind"),
    ({"$": "list", "items": [], "extra": 1}, {}, "fields"),
    ({"items": []}, {}, "known '\\$' kind"),
    ([1, 2], {}, r"\[1, 2\] where a node"),
])
def test_a_structure_that_save_cannot_have_written_is_a_value_error(
        tmp_path, root, arrays, problem):
    path = _with_structure(tmp_path, root, **arrays)
    with pytest.raises(ValueError, match=f"'{path}' is not a valid minigrad checkpoint.*{problem}"):
        load(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
    | st.sampled_from(["$", "dict", "list", "tuple", "array", "scalar", "keys", "values",
                       "items", "key", "a0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["$", "keys", "values", "items", "key"]) | st.text(max_size=2), inner,
        max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(root=json_values)
def test_any_json_structure_loads_or_is_a_value_error(tmp_path_factory, root):
    path = _with_structure(tmp_path_factory.mktemp("json"), root, a0=np.zeros(2))
    try:
        load(path)
    except ValueError as error:
        assert str(path) in str(error)


# ------------------------------------------------------------------ temporaries and failures
def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "ckpt"
    save([1], path)
    killed_mid_write = (
        "import os, sys\n"
        "from minigrad import serialization\n"
        "def write_then_die(file, obj):\n"
        "    file.write(b'PK half an archive')\n"
        "    file.flush()\n"
        "    os._exit(9)  # no except, no finally: as if killed\n"
        "serialization._write = write_then_die\n"
        "serialization.save([2], sys.argv[1])\n"
    )
    root = os.path.dirname(os.path.dirname(minigrad.__file__))
    env = {**os.environ, "PYTHONPATH": root}
    result = subprocess.run([sys.executable, "-c", killed_mid_write, str(path)], env=env)
    assert result.returncode == 9
    leftovers = sorted(set(os.listdir(tmp_path)) - {"ckpt"})
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.")
    assert load(path) == [1]
    save([3], path)
    assert os.listdir(tmp_path) == ["ckpt"] and load(path) == [3]


def test_cleanup_leaves_files_that_are_not_stale_temporaries_of_this_target(tmp_path):
    path = tmp_path / "ckpt"
    others = [".ckpt.bak", "ckpt.tmp", ".ckpt.abcd1234.tmp", ".ckpt..minigrad.tmp",
              ".ckpt.abcd123.minigrad.tmp", ".ckpt.ABCD1234.minigrad.tmp",
              ".other.abcd1234.minigrad.tmp", "ckpt.abcd1234.minigrad.tmp",
              ".ckpt.abcd1234.minigrad.tmp.keep", ".ckpt.x.abcd1234.minigrad.tmp", "notes.txt"]
    for name in others:
        (tmp_path / name).write_text("not minigrad's")
    links = [".ckpt.link1234.minigrad.tmp", ".ckpt.fifo1234.minigrad.tmp"]
    os.symlink(tmp_path / "notes.txt", tmp_path / links[0])
    os.mkfifo(tmp_path / links[1])  # opening it to lock it would block
    save([1], path)
    assert sorted(os.listdir(tmp_path)) == sorted(others + links + ["ckpt"])


def test_a_save_in_progress_is_not_disturbed_by_another_save_of_the_same_file(
        tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    writing, may_finish = threading.Event(), threading.Event()
    real_write = serialization._write

    def slow_write(file, obj):
        if obj == ["slow"]:
            writing.set()
            may_finish.wait(10)
        real_write(file, obj)

    monkeypatch.setattr(serialization, "_write", slow_write)
    errors = []
    slow = threading.Thread(target=lambda: _record_errors(errors, save, ["slow"], path))
    slow.start()
    assert writing.wait(10)
    save(["fast"], path)  # sees the slow save's temporary, which is in use, and keeps it
    assert load(path) == ["fast"]
    may_finish.set()
    slow.join(10)
    assert errors == [] and load(path) == ["slow"] and os.listdir(tmp_path) == ["ckpt"]


def _record_errors(errors, function, *args):
    try:
        function(*args)
    except BaseException as error:  # noqa: B036 - reported to the main thread
        errors.append(error)


def test_a_stale_temporary_that_cannot_be_removed_does_not_fail_the_save(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    stale = tmp_path / ".ckpt.abcd1234.minigrad.tmp"
    stale.write_bytes(b"PK left by a killed save")
    real_remove = os.remove

    def refuse_stale(name, *args, **kwargs):
        if os.fspath(name) == str(stale):
            raise PermissionError(13, "Permission denied", name)
        real_remove(name, *args, **kwargs)

    monkeypatch.setattr(os, "remove", refuse_stale)
    save([1], path)
    assert load(path) == [1]


class _FillingFile:
    """A file whose disk fills up after ``room`` bytes (write raises ENOSPC)."""

    def __init__(self, file, room):
        self._file, self._room = file, room

    def write(self, data):
        if len(data) > self._room:
            self._file.write(bytes(data[: self._room]))
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


@pytest.mark.parametrize("failure", ["disk full while writing", "disk full at fsync",
                                     "chmod refused", "rename refused"])
def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, failure):
    path = tmp_path / "ckpt"
    save({"version": 1, "w": np.ones(1000)}, path)
    before = path.read_bytes()
    if failure == "disk full while writing":
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FillingFile(real_fdopen(*a, **k), 500))
    elif failure == "disk full at fsync":
        def full_fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "fsync", full_fsync)
    elif failure == "chmod refused":
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        monkeypatch.setattr(os, "chmod", refuse)
    else:
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        save({"version": 2, "w": np.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt"]
    assert load(path)["version"] == 1


def test_round_trip_of_arrays_of_every_layout_and_dtype(tmp_path):
    arrays = {
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "strided": np.arange(20, dtype=np.int16)[::3],
        "zero-d": np.array(5, dtype=np.uint8),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "big-endian": np.arange(3, dtype=">f8"),
        "text": np.array(["ab", "ç"]),
        "bytes": np.array([b"x", b"yz"]),
        "zero-width": np.ndarray((2,), dtype="S0"),
        "structured": np.array([(1.5, 2)], dtype=[("a", "<f4"), ("b", ">i8")]),
        "complex": np.array([1 + 2j], dtype=np.complex64),
        "bool": np.array([[True, False]]),
        "large": np.arange(300_000, dtype=np.float64),  # more than one read chunk
    }
    save(arrays, tmp_path / "f")
    back = load(tmp_path / "f")
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape, name
        assert back[name].flags.writeable, name
        np.testing.assert_array_equal(back[name], array, err_msg=name)
