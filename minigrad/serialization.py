"""save/load: checkpoints as NumPy ``.npz`` files, without pickle.

An object is split in two: its arrays, stored as the npz members ``a0, a1, ...``, and its
structure, stored as JSON in the member ``__minigrad__``. Both are plain data, so loading a file
can never run code (no pickle). The JSON encodes every container with its kind so
that it comes back as it went in::

    {"$": "dict", "keys": [...], "values": [...]}  # keys may be str, int, float, bool or None
    {"$": "list", "items": [...]}    {"$": "tuple", "items": [...]}
    {"$": "array", "key": "a3"}      {"$": "scalar", "key": "a4"}  # NumPy scalar, e.g. np.int64
    null, true, 1, 2.5, "text"       # Python scalars as themselves

Keeping the dict keys in a list, not as JSON object keys, is what lets an optimizer's
``{0: {...}, 1: {...}}`` state come back with int keys.

A file may be cut short, corrupted or crafted: ``load`` reads it with ``npz_reader`` (which
allocates nothing a file merely claims) and accepts only a structure ``save`` could have
written, so every bad file is one ValueError naming the path.
"""

import json
import os
import re
import tempfile

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be deleted, which protects it as well
    fcntl = None

import numpy as np

from minigrad.npz_reader import MALFORMED, read_npz, short_repr
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


# The fields of each node kind, as _encode writes them; anything else was not written by save.
_FIELDS = {
    "dict": {"$", "keys", "values"},
    "list": {"$", "items"},
    "tuple": {"$", "items"},
    "array": {"$", "key"},
    "scalar": {"$", "key"},
}


def _decode(node, arrays, used):
    """Rebuild the object described by the JSON ``node``, checking it is one _encode writes.

    ``arrays`` maps keys to the archive's arrays; each key is added to ``used``, and an array
    used twice is refused (it would come back as one object shared by two places).
    """
    if isinstance(node, _SCALARS):
        return node
    kind = node.get("$") if isinstance(node, dict) else None
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise ValueError(f"its structure has {short_repr(node)} where a node with a known '$' kind "
                         f"({', '.join(_FIELDS)}) belongs")
    if node.keys() != _FIELDS[kind]:
        raise ValueError(f"its structure has a {kind} node with fields {sorted(node)}, "
                         f"expected {sorted(_FIELDS[kind])}")
    if kind in ("list", "tuple"):
        items = [_decode(item, arrays, used) for item in _json_list(node, "items")]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        keys, values = _json_list(node, "keys"), _json_list(node, "values")
        if len(keys) != len(values):
            raise ValueError(f"its structure has a dict node with {len(keys)} keys but "
                             f"{len(values)} values")
        for key in keys:
            if not isinstance(key, _SCALARS):
                raise ValueError(f"its structure has the dict key {short_repr(key)}; expected str, "
                                 "int, float, bool or None")
        obj = dict(zip(keys, (_decode(value, arrays, used) for value in values)))
        if len(obj) != len(keys):
            raise ValueError("its structure has a dict node with duplicate keys")
        return obj
    key = node["key"]
    if not isinstance(key, str) or key not in arrays:
        raise ValueError(f"its structure names the array {short_repr(key)}, which is not a member")
    if key in used:
        raise ValueError(f"its structure uses the array {key!r} twice")
    used.add(key)
    if kind == "scalar":
        if arrays[key].ndim != 0:
            raise ValueError(f"its structure has the scalar {key!r} of shape "
                             f"{arrays[key].shape}, expected 0-d")
        return arrays[key][()]
    return arrays[key]


def _json_list(node, field):
    """The list in ``node[field]``; ValueError if the file put something else there."""
    value = node[field]
    if not isinstance(value, list):
        raise ValueError(f"its structure has a {node['$']} node whose {field!r} is "
                         f"{short_repr(value)}, not a list")
    return value


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
    A save that was killed cannot clean up after itself; the next save of the same ``path``
    removes the temporary it left. Tensors are stored as their arrays and load back as ndarrays.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    _remove_stale_temporaries(folder, name)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=_TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            _claim(file)
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


_TEMPORARY_SUFFIX = ".minigrad.tmp"


def _claim(file):
    """Lock our temporary while it is written, so that other saves' cleanup leaves it alone."""
    if fcntl is not None:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # a file system without locks: no cleanup can lock the file either


def _remove_stale_temporaries(folder, name):
    """Remove the temporaries that killed saves of ``folder/name`` left behind.

    Only names of the exact form ``save`` gives its temporaries for this target count (``.name.``,
    then mkstemp's 8 random characters, then ``.minigrad.tmp``), and only temporaries that no
    running save holds: a save keeps its temporary locked (POSIX) or open (which Windows does not
    let anyone delete) until it is renamed. Whatever cannot be claimed or removed is left alone.
    """
    pattern = re.compile(re.escape(f".{name}.") + "[a-z0-9_]{8}" + re.escape(_TEMPORARY_SUFFIX))
    try:
        with os.scandir(folder) as entries:
            # mkstemp makes regular files; a link or a FIFO of that name is not ours (and
            # opening a FIFO would block).
            candidates = [entry.path for entry in entries if pattern.fullmatch(entry.name)
                          and entry.is_file(follow_symlinks=False)]
    except OSError:
        return
    for temp in candidates:
        _remove_if_abandoned(temp)


def _remove_if_abandoned(temp):
    """Remove the temporary ``temp`` unless a running save holds it."""
    try:
        if fcntl is None:
            os.remove(temp)  # Windows refuses while the saving process has it open
            return
        with open(temp, "rb") as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # refused while held
            os.remove(temp)
    except OSError:
        pass  # held by a live save, already gone, or not ours to remove


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

    A file that is not a minigrad checkpoint (corrupt, truncated, crafted, or some other format)
    raises ValueError naming ``path`` and what was wrong. Nothing in the file is ever unpickled,
    and nothing is allocated on the file's word alone: every declared size is checked against
    the bytes actually there before it is read. The file is read into memory first, so errors
    of the disk itself stay OSErrors while everything after is about the bytes.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:  # a missing file raises FileNotFoundError as usual
        data = file.read()
    try:
        return _read(data)
    except MALFORMED as error:
        raise ValueError(
            f"load: {path!r} is not a valid minigrad checkpoint: {error}"
        ) from error


def _read(data):
    """Rebuild the object from the bytes of a minigrad npz; ValueError if they are not one."""
    arrays = read_npz(data)
    if _STRUCTURE not in arrays:
        raise ValueError(f"it has no {_STRUCTURE!r} member, so minigrad.save did not write it")
    root = _structure_root(arrays.pop(_STRUCTURE))
    used = set()
    try:
        obj = _decode(root, arrays, used)
    except RecursionError:
        raise ValueError("its structure is nested too deeply") from None
    unused = sorted(arrays.keys() - used)
    if unused:
        raise ValueError(f"member '{unused[0]}.npy' is not used by the structure")
    return obj


def _structure_root(array):
    """The ``root`` node of the JSON structure held by ``array``, after checking its header."""
    if array.dtype != np.uint8 or array.ndim != 1:
        raise ValueError(f"its {_STRUCTURE!r} member is not a byte string")
    try:
        header = json.loads(array.tobytes().decode())
    except RecursionError:
        raise ValueError("its structure is nested too deeply") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("its structure header is not minigrad's")
    if header.get("version") != VERSION:
        raise ValueError(f"format version {header.get('version')!r}, expected {VERSION}")
    if "root" not in header:
        raise ValueError("its structure header has no 'root'")
    return header["root"]
