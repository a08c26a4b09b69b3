"""Batch iteration over arrays, and small data sets for examples and tests.

Randomness comes from minigrad's generator (so ``minigrad.manual_seed`` makes it repeatable)
unless a ``seed`` is given, in which case the call has its own generator and is repeatable alone.
All data sets return class labels as int64 and features as float32. ``mnist1d`` builds a
published benchmark through the optional ``mnist1d`` package; the others need nothing.
"""

import math
import random as python_random

import numpy as np

from minigrad import random
from minigrad.tensor import Tensor


def _rng(seed):
    """A generator of its own for an explicit ``seed``, else minigrad's shared one."""
    return random.generator() if seed is None else np.random.default_rng(seed)


class DataLoader:
    """Iterate over equally long arrays in mini-batches, yielding a tuple of Tensors per batch.

    >>> loader = DataLoader(X, y, batch_size=32, shuffle=True, seed=0)
    >>> for xb, yb in loader:          # xb: Tensor (<=32, ...), yb: Tensor (<=32,)
    ...     ...

    Arrays (ndarrays or Tensors) are split along their first axis. With ``shuffle`` each pass
    visits the samples in a new order; with ``seed`` those orders are the same on every run,
    otherwise they come from minigrad's generator. ``drop_last`` skips a final short batch.
    ``len(loader)`` is the number of batches per pass. Batches never require grad.
    """

    def __init__(self, *arrays, batch_size=1, shuffle=False, drop_last=False, seed=None):
        if not arrays:
            raise ValueError("DataLoader: expected at least one array")
        self.arrays = [a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays]
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"DataLoader: arrays have different lengths {lengths}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}")
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.num_samples = lengths[0]
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self):
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self):
        order = None
        if self.shuffle:
            order = (self._rng or random.generator()).permutation(self.num_samples)
        for b in range(len(self)):
            start = b * self.batch_size
            if order is None:  # contiguous slices: views, no copy
                batch = [a[start:start + self.batch_size] for a in self.arrays]
            else:
                rows = order[start:start + self.batch_size]
                batch = [a[rows] for a in self.arrays]
            yield tuple(Tensor._constant(np.ascontiguousarray(a)) for a in batch)


def _split(n, classes):
    """Sizes of ``classes`` groups totalling ``n``, the first ones one larger when uneven."""
    return [n // classes + (k < n % classes) for k in range(classes)]


def spirals(n, classes=3, noise=0.1, turns=1.0, seed=None):
    """Interleaved spiral arms, one per class: the classic not-linearly-separable toy problem.

    Returns ``(X, y)``: X float32 of shape (n, 2), y int64 of shape (n,), with ``n`` the total
    number of points split as evenly as possible between classes and ordered by class. Arm k
    runs from radius 0 to 1 while its angle turns ``turns`` full circles, starting at
    2 pi k / classes; Gaussian noise of standard deviation ``noise`` is added to each coordinate.
    """
    rng = _rng(seed)
    xs, ys = [], []
    for k, m in enumerate(_split(n, classes)):
        radius = np.linspace(0.0, 1.0, m)
        angle = 2 * np.pi * (turns * radius + k / classes)
        xs.append(np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1))
        ys.append(np.full(m, k, dtype=np.int64))
    X = np.concatenate(xs) + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), np.concatenate(ys)


def moons(n, noise=0.1, seed=None):
    """Two interleaving half circles (as scikit-learn's ``make_moons``).

    Returns ``(X, y)``: X float32 (n, 2), y int64 (n,). The first ceil(n/2) points are the upper
    moon (class 0): (cos t, sin t) for t in [0, pi]; the rest the lower one (class 1):
    (1 - cos t, 0.5 - sin t). Gaussian noise of standard deviation ``noise`` is added.
    """
    rng = _rng(seed)
    upper, lower = _split(n, 2)
    t_up, t_low = np.linspace(0, np.pi, upper), np.linspace(0, np.pi, lower)
    X = np.concatenate([
        np.stack([np.cos(t_up), np.sin(t_up)], axis=1),
        np.stack([1 - np.cos(t_low), 0.5 - np.sin(t_low)], axis=1),
    ]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(upper, dtype=np.int64), np.ones(lower, dtype=np.int64)])
    return X.astype(np.float32), y


def sine_sequences(n, length, seed=None):
    """Random sine waves cut into inputs and next-step targets, for sequence regression.

    Each sequence is s_t = A sin(w t dt + phi), t = 0 .. length, with amplitude A ~ U(0.5, 1.5),
    angular frequency w ~ U(1, 3), phase phi ~ U(0, 2 pi) and dt = 0.1.
    Returns ``(X, Y)``, both float32 of shape (n, length, 1) (batch first): X holds s_0 .. s_{T-1}
    and Y holds s_1 .. s_T, so Y[:, t] is the value that follows X[:, t].
    """
    rng = _rng(seed)
    amplitude = rng.uniform(0.5, 1.5, (n, 1))
    frequency = rng.uniform(1.0, 3.0, (n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n, 1))
    t = 0.1 * np.arange(length + 1)
    s = (amplitude * np.sin(frequency * t + phase)).astype(np.float32)
    return s[:, :-1, None].copy(), s[:, 1:, None].copy()


MNIST1D_INSTALL = "pip install mnist1d (or pip install -e '.[datasets]' in minigrad's folder)"


def mnist1d(seed=42, **options):
    """The MNIST-1D data set (Greydanus 2020), generated offline: ``(x, y), (x_test, y_test)``.

    10 classes of 1-D signals of length 40 made from digit-like templates by random padding,
    shear, translation, correlated and white noise (``mnist1d.data.make_dataset``). With the
    package's defaults, 4000 training and 1000 test series; ``seed=42``, the package's own
    default, gives the data set behind its published benchmarks. Features float32 (n, 40),
    labels int64 (n,).

    ``options`` override entries of ``mnist1d.get_dataset_args()`` (e.g. ``num_samples``,
    ``train_split``, ``shuffle_seq``). Generation takes about a second and nothing is cached.
    The package seeds NumPy's and Python's global generators; their states are restored after,
    so the call leaves the caller's random streams as they were.

    Needs the optional ``mnist1d`` package; without it, raises ImportError saying how to
    install it.
    """
    try:
        import mnist1d as package
        from mnist1d.data import make_dataset
    except ImportError as error:
        raise ImportError(f"minigrad.data.mnist1d needs the mnist1d package ({error}): "
                          f"{MNIST1D_INSTALL}") from None
    args = package.get_dataset_args()
    unknown = sorted(set(options) - set(vars(args)))
    if unknown:
        raise ValueError(f"mnist1d: unknown options {unknown}; expected some of "
                         f"{sorted(set(vars(args)) - {'seed', 'url'})}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"mnist1d: seed must be an int >= 0, got {seed!r}")
    vars(args).update(options, seed=int(seed))
    numpy_state, python_state = np.random.get_state(), python_random.getstate()
    try:
        dataset = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        python_random.setstate(python_state)
    return ((dataset["x"].astype(np.float32), dataset["y"].astype(np.int64)),
            (dataset["x_test"].astype(np.float32), dataset["y_test"].astype(np.int64)))
