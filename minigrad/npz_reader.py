"""Reading .npz archives that may be corrupt or crafted, without trusting what they declare.

``read_npz(data)`` turns the bytes of an archive into ``{name: ndarray}``, or raises one of
``MALFORMED`` (ValueError for everything it checks itself) saying what was wrong. It reads only
what ``numpy.savez`` writes: stored (uncompressed) ``.npy`` members without objects. So that a
crafted file cannot make it allocate what it merely claims, every declared size is checked
against the bytes that are really there before anything is allocated:

- a member may not claim more bytes than the whole archive has (hence no compression: a
  deflated member may inflate to any size);
- an array's shape times its item size must be exactly its member's data size;
- an array header is parsed with ``ast.literal_eval`` (as NumPy does), limited to NumPy's 10 kB,
  with every failure it can raise turned into a ValueError, then checked field by field.

The zip layer (``zipfile``) checks each member's CRC and raises the other classes in
``MALFORMED`` for broken archives. No pickle is ever involved: object dtypes are refused.
"""

import ast
import io
import math
import zipfile

import numpy as np

# What reading a bad archive raises: ValueError from every check here (and from BytesIO, JSON,
# text decoding), and from zipfile BadZipFile (bad structure or CRC), EOFError (a member cut
# short) and NotImplementedError (zip versions and features it does not support).
MALFORMED = (ValueError, zipfile.BadZipFile, EOFError, NotImplementedError)


def read_npz(data):
    """Return the arrays of the .npz archive in the bytes ``data`` as ``{name: ndarray}``.

    ``name`` is the member's name without ``.npy``, as ``numpy.load`` gives it.
    """
    if not data.startswith(b"PK\x03\x04"):  # every .npz is a zip archive, which starts so
        raise ValueError("it is not an .npz (zip) archive")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = _members(archive, len(data))
        return {key: _read_array(archive, info) for key, info in members.items()}


def _members(archive, size):
    """The archive's members by array name, each checked to be one ``numpy.savez`` writes.

    Stored members cannot hold more bytes than the archive (``size``): refusing compression is
    what bounds what reading may allocate.
    """
    members = {}
    for info in archive.infolist():
        name = info.filename
        if not name.endswith(".npy"):
            raise ValueError(f"member {name!r} is not an .npy array")
        if name[:-4] in members:
            raise ValueError(f"member {name!r} appears twice")
        if info.flag_bits & 0x1:
            raise ValueError(f"member {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(
                f"member {name!r} is compressed (zip method {info.compress_type}); "
                "only stored (uncompressed) members are read"
            )
        if info.file_size != info.compress_size or info.file_size > size:
            raise ValueError(
                f"member {name!r} claims {info.file_size} bytes ({info.compress_size} stored) "
                f"in a file of {size} bytes"
            )
        members[name[:-4]] = info
    return members


def _read_array(archive, info):
    """Read one stored ``.npy`` member, checking its declared size against its real size first."""
    name = info.filename
    with archive.open(info) as member:
        shape, fortran_order, dtype, header_size = _read_npy_header(member, name)
        count = math.prod(shape)
        nbytes = count * dtype.itemsize  # Python ints: no overflow, however absurd the shape
        if header_size + nbytes != info.file_size:
            raise ValueError(
                f"member {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                f"{info.file_size - header_size} bytes of data"
            )
        flat = np.ndarray(count, dtype=dtype)  # not np.empty, which widens 'S0' to 'S1'
        raw = flat.view(np.uint8) if nbytes else None
        for start in range(0, nbytes, _CHUNK):  # in chunks: no second full-size copy
            chunk = _read_exactly(member, min(_CHUNK, nbytes - start), name)
            raw[start : start + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        member.read()  # reaching the end makes zipfile check the CRC
    if fortran_order:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


_CHUNK = 1 << 20
_NPY_MAGIC = b"\x93NUMPY"
_NPY_VERSIONS = {(1, 0): (2, "latin1"), (2, 0): (4, "latin1"), (3, 0): (4, "utf8")}
_NPY_MAX_HEADER = 10_000  # NumPy's own limit for headers it parses without trusting the file


def _read_npy_header(member, name):
    """Parse an ``.npy`` header: ``(shape, fortran_order, dtype, header size in bytes)``.

    The header is the text of a Python dict, which NumPy itself parses with
    ``ast.literal_eval``; here every way that can fail (SyntaxError, ValueError, TypeError,
    MemoryError, RecursionError, as documented) becomes a ValueError, and the parts are checked
    one by one. NumPy's fallback for Python 2 headers, which raises tokenize errors, is not used.
    """
    magic = _read_exactly(member, 8, name)
    if magic[:6] != _NPY_MAGIC:
        raise ValueError(f"member {name!r} is not an .npy array")
    if (magic[6], magic[7]) not in _NPY_VERSIONS:
        raise ValueError(f"member {name!r} has unknown .npy version {magic[6]}.{magic[7]}")
    length_size, encoding = _NPY_VERSIONS[magic[6], magic[7]]
    length = int.from_bytes(_read_exactly(member, length_size, name), "little")
    if length > _NPY_MAX_HEADER:
        raise ValueError(f"member {name!r} declares a header of {length} bytes")
    text = _read_exactly(member, length, name).decode(encoding)  # UnicodeDecodeError: ValueError
    try:
        header = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as error:
        raise ValueError(f"member {name!r} has an unreadable header {short_repr(text)}") from error
    if not isinstance(header, dict) or header.keys() != {"descr", "fortran_order", "shape"}:
        raise ValueError(f"member {name!r} has header {short_repr(header)}, not an .npy header")
    shape, fortran_order = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"member {name!r} has shape {short_repr(shape)}, not a tuple of sizes")
    if type(fortran_order) is not bool:
        raise ValueError(f"member {name!r} has fortran_order {short_repr(fortran_order)}")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except Exception as error:  # NumPy documents no particular error for a bad description
        raise ValueError(
            f"member {name!r} has an invalid dtype {short_repr(header['descr'])}"
        ) from error
    if dtype.hasobject:
        raise ValueError(f"member {name!r} holds Python objects (dtype {dtype}): that needs pickle")
    if dtype.shape != ():
        raise ValueError(f"member {name!r} has the sub-array dtype {dtype}")
    return shape, fortran_order, dtype, 8 + length_size + length


def _read_exactly(member, size, name):
    """Read ``size`` bytes of ``member``; ValueError if it ends first."""
    data = member.read(size)
    if len(data) != size:
        raise ValueError(f"member {name!r} ends early")
    return data


def short_repr(value, limit=60):
    """``repr(value)``, cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
