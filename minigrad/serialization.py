"""save/load: checkpoints as NumPy ``.npz`` files, without pickle.

An object is split in two: its arrays, stored as the npz members ``a0, a1, ...``, and its
structure, stored as JSON in the member ``__minigrad__``. Both are plain data, so loading a file
can never run code (``allow_pickle=False``). The JSON encodes every container with its kind so
that it comes back as it went in::

    {"$": "dict", "keys": [...], "values": [...]}  # keys may be str, int, float, bool or None
    {"$": "list", "items": [...]}    {"$": "tuple", "items": [...]}
    {"$": "array", "key": "a3"}      {"$": "scalar", "key": "a4"}  # NumPy scalar, e.g. np.int64
    null, true, 1, 2.5, "text"       # Python scalars as themselves

Keeping the dict keys in a list, not as JSON object keys, is what lets an optimizer's
``{0: {...}, 1: {...}}`` state come back with int keys.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

from minigrad.tensor import Tensor

FORMAT = "minigrad"
VERSION = 1
_STRUCTURE = "__minigrad__"
_SCALARS = (str, int, float, bool, type(None))


def _encode(obj, arrays, where):
    """Return the JSON node for ``obj``, moving its arrays into ``arrays``."""
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray | np.generic):
        if obj.dtype.hasobject:
            raise TypeError(f"save: cannot store an array of Python objects at {where}")
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"$": "array" if isinstance(obj, np.ndarray) else "scalar", "key": key}
    if isinstance(obj, _SCALARS):  # after NumPy scalars: np.float64 is a Python float too
        return obj
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, _SCALARS):
                raise TypeError(
                    f"save: dict key {k!r} at {where} is a {type(k).__name__}; expected str, "
                    "int, float, bool or None"
                )
        return {
            "$": "dict",
            "keys": list(obj),
            "values": [_encode(v, arrays, f"{where}[{k!r}]") for k, v in obj.items()],
        }
    if isinstance(obj, list | tuple):
        return {
            "$": type(obj).__name__,
            "items": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)],
        }
    raise TypeError(
        f"save: cannot store a {type(obj).__name__} at {where} (expected dicts, lists, tuples, "
        "arrays, Tensors, numbers, strings or None)"
    )


def _decode(node, arrays):
    """Rebuild the object described by the JSON ``node``."""
    if not isinstance(node, dict):
        return node
    kind = node["$"]
    if kind == "dict":
        values = [_decode(v, arrays) for v in node["values"]]
        return dict(zip(node["keys"], values, strict=True))
    if kind == "list":
        return [_decode(v, arrays) for v in node["items"]]
    if kind == "tuple":
        return tuple(_decode(v, arrays) for v in node["items"])
    if kind == "array":
        return arrays[node["key"]]
    if kind == "scalar":
        return arrays[node["key"]][()]
    raise ValueError(f"unknown node kind {kind!r}")


def _write(file, obj):
    """Write ``obj`` to the open binary ``file`` as a minigrad npz."""
    arrays = {}
    root = _encode(obj, arrays, "obj")
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    np.savez(file, **{_STRUCTURE: np.frombuffer(header.encode(), dtype=np.uint8)}, **arrays)


def save(obj, path):
    """Save ``obj`` (nested dicts, lists and tuples of arrays, Tensors, numbers, strings, None).

    The file at ``path`` (any name; no suffix is added) is replaced atomically: the data goes to a
    temporary file in the same folder, is flushed to disk, and only then renamed over ``path``.
    A failure at any point removes the temporary file and leaves an existing ``path`` untouched.
    Tensors are stored as their arrays and load back as ndarrays.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            _write(file, obj)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); give it the mode the old file had, or 0644.
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); harmless to skip where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """Load an object saved by ``save``; tuples come back as tuples, Tensors as ndarrays.

    A file that is not a minigrad checkpoint (corrupt, truncated, or some other format) raises
    ValueError naming ``path``. Nothing in the file is ever unpickled.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:  # a missing file raises FileNotFoundError as usual
        try:
            return _read(file)
        except (ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(
                f"load: {path!r} is not a valid minigrad checkpoint: {error}"
            ) from error


def _read(file):
    """Read the object from an open minigrad npz; ValueError (or a zip error) if it is not one."""
    if file.read(4) != b"PK\x03\x04":  # every .npz is a zip archive, which starts so
        raise ValueError("it is not an .npz (zip) archive")
    file.seek(0)
    archive = np.load(file, allow_pickle=False)
    with archive:
        if _STRUCTURE not in archive.files:
            raise ValueError(f"it has no {_STRUCTURE!r} member, so minigrad.save did not write it")
        header = json.loads(archive[_STRUCTURE].tobytes().decode())
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("its structure header is not minigrad's")
        if header.get("version") != VERSION:
            raise ValueError(f"format version {header.get('version')!r}, expected {VERSION}")
        arrays = {name: archive[name] for name in archive.files if name != _STRUCTURE}
        return _decode(header["root"], arrays)
