"""recur: fast Elman RNNs on multi-core CPUs, from Python (ctypes over librecur).

    import recur
    rnn = recur.RNN(input_size, hidden_size, num_layers=2, bidirectional=True)
    y, h_n = rnn.forward(x)                       # x: float32 [T][N][I]

recur.torch (when PyTorch is installed) has a drop-in torch.nn.RNN replacement.
"""
from . import _lib
from ._errors import (CommunicationError, InvalidArgumentError, InvalidSizeError,
                      NullPointerError, OutOfMemoryError, RecurError, SizeOverflowError,
                      UnsupportedError, UnsupportedIsaError, WorkspaceMismatchError,
                      WorkspaceTooSmallError)
from .losses import mse, softmax_cross_entropy
from .rnn import RNN, TrainState

__version__ = _lib.version()
library_path = _lib.path


def isa_supported(name):
    """True when this build and CPU can run the kernels named (scalar, avx2, avx512, neon)."""
    if name not in _lib.ISA:
        raise ValueError(f'unknown ISA {name!r}')
    return bool(_lib.lib.recur_isa_supported(_lib.ISA[name]))


__all__ = ['RNN', 'TrainState', 'softmax_cross_entropy', 'mse', 'isa_supported',
           'library_path', '__version__', 'RecurError', 'NullPointerError',
           'InvalidSizeError', 'SizeOverflowError', 'InvalidArgumentError', 'OutOfMemoryError',
           'UnsupportedIsaError', 'WorkspaceTooSmallError', 'WorkspaceMismatchError',
           'UnsupportedError', 'CommunicationError']
