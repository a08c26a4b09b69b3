"""The optimizer family by name, as the examples' ``--optimizer`` flag knows it.

Names are those of the algorithms, not of the classes: 'momentum' and 'nesterov' are SGD with
momentum 0.9 (plain and Nesterov), 'lookahead' is Lookahead around Adam. ``OPTIMIZERS`` also holds
a usual starting learning rate for each (the one its paper or PyTorch suggests); the rate each
example actually uses, per task, is in ``learning_rates.py``.
"""

import numpy as np

from minigrad import optim


def _sgd(params, lr, backend):
    return optim.SGD(params, lr=lr, backend=backend)


def _momentum(params, lr, backend):
    return optim.SGD(params, lr=lr, momentum=0.9, backend=backend)


def _nesterov(params, lr, backend):
    return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, backend=backend)


def _rmsprop(params, lr, backend):
    return optim.RMSprop(params, lr=lr, backend=backend)


def _adam(params, lr, backend):
    return optim.Adam(params, lr=lr, backend=backend)


def _adamw(params, lr, backend):
    return optim.AdamW(params, lr=lr, backend=backend)  # PyTorch's weight_decay=0.01


def _adabelief(params, lr, backend):
    return optim.AdaBelief(params, lr=lr, backend=backend)


def _lion(params, lr, backend):
    return optim.Lion(params, lr=lr, backend=backend)


def _lookahead(params, lr, backend):
    # The Lookahead paper's defaults: k=5 fast steps, then move the slow weights half way.
    return optim.Lookahead(optim.Adam(params, lr=lr, backend=backend), k=5, alpha=0.5)


#: name -> (constructor(params, lr, backend), usual learning rate)
OPTIMIZERS = {
    "sgd": (_sgd, 0.1),
    "momentum": (_momentum, 0.01),  # momentum 0.9 takes ~10x larger effective steps than SGD
    "nesterov": (_nesterov, 0.01),
    "rmsprop": (_rmsprop, 1e-3),
    "adam": (_adam, 1e-3),
    "adamw": (_adamw, 1e-3),
    "adabelief": (_adabelief, 1e-3),
    "lion": (_lion, 1e-4),  # sign updates have norm ~1 per element: 3-10x below Adam's rate
    "lookahead": (_lookahead, 1e-3),
}


def build(name, params, lr, backend):
    """Construct the optimizer called ``name`` over ``params``."""
    make, _ = OPTIMIZERS[name]
    return make(list(params), lr, backend)


def _array_bytes(obj):
    """Total bytes of the ndarrays anywhere inside nested dicts, lists and tuples."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(_array_bytes(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(_array_bytes(v) for v in obj)
    return 0


def state_bytes_per_parameter(optimizer, params):
    """Bytes of optimizer state per trainable scalar, read from ``state_dict()`` after training.

    For float32 parameters: 0 for SGD, 4 per buffer (momentum, square average...), so Adam is 8;
    Lookahead adds its slow copy of the weights to Adam's two moments.
    """
    count = sum(p.data.size for p in params)
    return _array_bytes(optimizer.state_dict()) / count
