"""Argument checks for arrays handed to the C library: dtype, shape, C-contiguity,
alignment and (for outputs) writability. Nothing is ever converted or copied here: a
wrong array raises TypeError (not an ndarray, wrong dtype) or ValueError (shape,
layout), before any C call."""
import numpy as np


def _describe(a):
    return f'{a.dtype} array of shape {a.shape}'


def check(a, name, shape, dtype=np.float32, writable=False):
    """Returns a as it is after checking it; shape is a tuple of ints."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f'{name}: expected a numpy.ndarray of {np.dtype(dtype)}, '
                        f'got {type(a).__name__}')
    if a.dtype != dtype:
        raise TypeError(f'{name}: expected dtype {np.dtype(dtype)}, got {_describe(a)} '
                        f'(convert it explicitly, e.g. a.astype(np.{np.dtype(dtype)}))')
    if a.shape != tuple(shape):
        raise ValueError(f'{name}: expected shape {tuple(shape)}, got {a.shape}')
    if not a.flags.c_contiguous:
        raise ValueError(f'{name}: the array must be C-contiguous '
                         '(np.ascontiguousarray makes a contiguous copy)')
    if not a.flags.aligned:
        raise ValueError(f'{name}: the array is not aligned for its dtype')
    if writable and not a.flags.writeable:
        raise ValueError(f'{name}: the array is read-only but is written by this call')
    return a


def check_ndim(a, name, ndim, dtype=np.float32):
    """Checks the type and rank of an array whose sizes are read from it."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f'{name}: expected a numpy.ndarray of {np.dtype(dtype)}, '
                        f'got {type(a).__name__}')
    if a.dtype != dtype:
        raise TypeError(f'{name}: expected dtype {np.dtype(dtype)}, got {_describe(a)}')
    if a.ndim != ndim:
        raise ValueError(f'{name}: expected {ndim} dimensions, got shape {a.shape}')
    if 0 in a.shape:
        raise ValueError(f'{name}: empty dimension in shape {a.shape}')
    return a


def ptr(a):
    """The data pointer of a checked array, or None (NULL) for None."""
    return None if a is None else a.ctypes.data
