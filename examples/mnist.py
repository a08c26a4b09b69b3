"""MNIST: download the four IDX files once into the user's cache, check them, and parse them.

The files are the original gzipped IDX files of LeCun, Cortes and Burges, fetched from the two
mirrors that torchvision and TensorFlow use (the original site often refuses downloads). Each
file is checked against its published SHA-256 before it is kept, so a truncated or altered
download is never parsed. ``MINIGRAD_MNIST_MIRROR`` (a URL ending in '/'; ``file://`` works
too) replaces the two mirrors, e.g. with a local copy.
"""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request

import numpy as np
from cli import ExampleError

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: file name -> SHA-256 of the gzipped file, as published (TensorFlow Datasets, torchvision...)
FILES = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
#: IDX type codes (the third byte of the magic number) -> big-endian NumPy dtypes
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def cache_dir():
    """Where MNIST is kept: $XDG_CACHE_HOME/minigrad/mnist, by default ~/.cache/minigrad/mnist."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minigrad", "mnist")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mirrors():
    mirror = os.environ.get("MINIGRAD_MNIST_MIRROR")
    return (mirror,) if mirror else MIRRORS


def _download(name, folder):
    """Fetch ``name`` into ``folder`` from the first mirror that serves the right bytes."""
    expected = FILES[name]
    target = os.path.join(folder, name)
    problems = []
    for mirror in _mirrors():
        url = mirror + name
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as file, urllib.request.urlopen(url, timeout=30) as answer:
                shutil.copyfileobj(answer, file)
            actual = _sha256(temp)
            if actual != expected:
                problems.append(f"{url} has SHA-256 {actual[:12]}..., expected {expected[:12]}...")
                continue
            os.replace(temp, target)  # only a verified file ever gets the real name
            return target
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            problems.append(f"{url}: {reason}")
        finally:
            if os.path.exists(temp):
                os.remove(temp)
    raise ExampleError(f"could not download MNIST file {name} (are you offline?): "
                       + "; ".join(problems) + f". To use copies you have, put the four .gz "
                       f"files ({', '.join(FILES)}) in {folder}")


def fetch(folder=None):
    """Make sure the four files are in ``folder`` (default ``cache_dir()``), verified; return it.

    Files already there are checked again, and fetched again if their checksum is wrong.
    """
    folder = folder or cache_dir()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise ExampleError(f"cannot create the MNIST cache folder {folder}: {error}") from None
    for name, expected in FILES.items():
        path = os.path.join(folder, name)
        if not (os.path.exists(path) and _sha256(path) == expected):
            _download(name, folder)
    return folder


def read_idx(path):
    """Parse an IDX file (gzipped when the name ends in .gz) into a NumPy array.

    IDX (as described on the MNIST page): two zero bytes, a type code, the number of dimensions
    n, then n big-endian uint32 sizes and the data, row-major and big-endian. Raises ValueError
    naming ``path`` when the file is not valid IDX.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as file:
        raw = file.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: {len(raw) - header} data bytes, expected {expected} for "
                         f"shape {shape}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def load(folder=None):
    """Return (train_images, train_labels, test_images, test_labels) as the files hold them.

    Images are uint8 of shape (n, 28, 28), labels uint8 of shape (n,); downloads on first use.
    """
    folder = fetch(folder)
    return tuple(read_idx(os.path.join(folder, name)) for name in FILES)
