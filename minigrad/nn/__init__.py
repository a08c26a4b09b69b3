"""Neural-network building blocks: Module, Parameter, layers, losses, init and functional forms.

>>> from minigrad import nn
>>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
>>> loss = nn.functional.cross_entropy(model(x), y)
"""

from minigrad.nn import functional, init, utils
from minigrad.nn.containers import ModuleList, Sequential
from minigrad.nn.conv import Conv1d, MaxPool1d
from minigrad.nn.layers import (
    Dropout,
    Embedding,
    Flatten,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minigrad.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "Conv1d", "CrossEntropyLoss", "Dropout", "Embedding",
    "Flatten", "GRU", "GRUCell", "L1Loss", "LSTM", "LSTMCell", "Linear", "LogSoftmax", "MSELoss",
    "MaxPool1d", "Module", "ModuleList", "NLLLoss", "Parameter", "RNN", "RNNCell", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "functional", "init", "utils",
]
