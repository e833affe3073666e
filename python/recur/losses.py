"""Losses: recur_loss_softmax_xent and recur_loss_mse over NumPy arrays."""
import ctypes

import numpy as np

from . import _lib
from ._arrays import check, check_ndim, ptr


def softmax_cross_entropy(probs, targets):
    """probs: float32 [..., C] softmax outputs (an RNN with output_activation='softmax');
    targets: int32 of shape probs.shape[:-1], each in [0, C) or -1 (ignored, e.g. padding
    steps). Returns (loss, dlogits): the mean over counted rows of -log p[target], and its
    gradient w.r.t. the logits, to pass to backward with dy_kind='logits'."""
    if isinstance(probs, np.ndarray) and probs.ndim == 0:
        raise ValueError('probs: expected at least one dimension')
    check_ndim(probs, 'probs', getattr(probs, 'ndim', 1))
    check(probs, 'probs', probs.shape)
    check(targets, 'targets', probs.shape[:-1], dtype=np.int32)
    C = probs.shape[-1]
    rows = probs.size // C
    loss = ctypes.c_float()
    dl = np.empty_like(probs)
    _lib.check(_lib.lib.recur_loss_softmax_xent(rows, C, ptr(probs), ptr(targets),
                                                ctypes.byref(loss), ptr(dl)))
    return loss.value, dl


def mse(y, target):
    """Mean squared error over every element; returns (loss, dL/dy)."""
    check_ndim(y, 'y', getattr(y, 'ndim', 1))
    check(y, 'y', y.shape)
    check(target, 'target', y.shape)
    loss = ctypes.c_float()
    dy = np.empty_like(y)
    _lib.check(_lib.lib.recur_loss_mse(y.size, ptr(y), ptr(target), ctypes.byref(loss), ptr(dy)))
    return loss.value, dy
