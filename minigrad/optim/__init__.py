"""Optimizers, each one file with its update written once as the paper's equations, run three ways.

Every optimizer takes ``backend='numba'`` (compiled; the default, or $MINIGRAD_OPTIM_BACKEND),
``'python'`` (the same function in the interpreter) or ``'numpy'`` (the same function, vectorised).
"""

from . import lr_scheduler
from .adabelief import AdaBelief
from .adam import Adam, AdamW
from .lion import Lion
from .lookahead import Lookahead
from .lr_finder import LRFinderResult, lr_find
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "AdaBelief", "Lion", "Lookahead",
           "lr_scheduler", "lr_find", "LRFinderResult"]
