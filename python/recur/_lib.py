"""Finds and loads librecur with ctypes, and declares the C API used by the package.

Where the library is looked for, first match wins:

1. the environment variable RECUR_LIBRARY: a path to librecur.so.0 (or any file name);
2. librecur.so* next to this file (a package that bundles its library);
3. the path meson wrote into _config.py when it installed the package
   (prefix/libdir/librecur.so.0);
4. the source tree, for in-tree use (package at <src>/python/recur): the newest
   <src>/build*/librecur.so.0;
5. the system loader's search path (ctypes.util.find_library('recur')).

In-tree:  PYTHONPATH=python RECUR_LIBRARY=build/librecur.so.0 python3 ...
"""
import ctypes
import ctypes.util
import glob
import os

from . import _errors

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get('RECUR_LIBRARY')
    if env:
        # An explicit choice is never second-guessed: it loads or the import fails.
        yield env
        return
    yield from sorted(glob.glob(os.path.join(_HERE, 'librecur.so*')))
    try:
        from . import _config
        if getattr(_config, 'LIBRARY', ''):
            yield _config.LIBRARY
    except ImportError:
        pass
    src = os.path.dirname(os.path.dirname(_HERE))
    if os.path.isfile(os.path.join(src, 'include', 'recur.h')):
        built = glob.glob(os.path.join(src, 'build*', 'librecur.so.0'))
        yield from sorted(built, key=os.path.getmtime, reverse=True)
    found = ctypes.util.find_library('recur')
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path:
            path = os.path.abspath(path)
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f'{path}: {e}')
    raise ImportError('recur: cannot load librecur (set RECUR_LIBRARY to the path of '
                      'librecur.so.0); tried: ' + ('; '.join(tried) or 'nothing found'))


lib, path = _load()

c_size = ctypes.c_size_t
c_enum = ctypes.c_int  # C enums are int-sized on every ABI recur targets


class ModelConfig(ctypes.Structure):
    _fields_ = [('input_size', c_size), ('hidden_size', c_size), ('output_size', c_size),
                ('num_layers', c_size), ('direction', c_enum), ('merge', c_enum),
                ('hidden_act', c_enum), ('output_act', c_enum), ('seq_layout', c_enum),
                ('state_layout', c_enum), ('y_dir_major', ctypes.c_int),
                ('clip', ctypes.c_float), ('two_biases', ctypes.c_int)]


# Pointer fields as void*: the struct is filled from plain addresses (an int, or None
# for NULL), much cheaper than building a typed ctypes pointer per tensor.
class LayerWeights(ctypes.Structure):
    _fields_ = [('W', ctypes.c_void_p), ('U', ctypes.c_void_p), ('b', ctypes.c_void_p),
                ('b_hh', ctypes.c_void_p)]


class ModelWeights(ctypes.Structure):
    _fields_ = [('layers', ctypes.POINTER(LayerWeights)), ('V', ctypes.c_void_p),
                ('c', ctypes.c_void_p)]


class BackwardOptions(ctypes.Structure):
    _fields_ = [('dy_kind', c_enum), ('bptt_window', c_size), ('accumulate', ctypes.c_int)]


class SgdOptions(ctypes.Structure):
    _fields_ = [('learning_rate', ctypes.c_float), ('momentum', ctypes.c_float),
                ('weight_decay', ctypes.c_float)]


# Enum values of include/recur.h.
ACT = {'tanh': 0, 'relu': 1, 'sigmoid': 2, 'identity': 3, 'softmax': 4}
ISA = {'auto': 0, 'scalar': 1, 'avx2': 2, 'avx512': 3, 'neon': 4}
DIR_FORWARD, DIR_REVERSE, DIR_BIDIRECTIONAL = 0, 1, 2
MERGE = {'concat': 0, 'sum': 1}
LAYOUT_TIME_MAJOR, LAYOUT_BATCH_FIRST = 0, 1
DY_KIND = {'output': 0, 'logits': 1}

_vp = ctypes.c_void_p
_status = ctypes.c_int
_SIGNATURES = {
    'recur_version_string': (ctypes.c_char_p, []),
    'recur_status_string': (ctypes.c_char_p, [_status]),
    'recur_isa_name': (ctypes.c_char_p, [c_enum]),
    'recur_isa_supported': (ctypes.c_int, [c_enum]),
    'recur_context_create': (_status, [ctypes.POINTER(_vp)]),
    'recur_context_destroy': (None, [_vp]),
    'recur_context_set_isa': (_status, [_vp, c_enum]),
    'recur_context_isa': (c_enum, [_vp]),
    'recur_context_set_num_threads': (_status, [_vp, c_size]),
    'recur_context_get_num_threads': (c_size, [_vp]),
    'recur_model_config_default': (ModelConfig, [c_size, c_size]),
    'recur_model_create': (_status, [ctypes.POINTER(_vp), ctypes.POINTER(ModelConfig)]),
    'recur_model_destroy': (None, [_vp]),
    'recur_model_output_width': (c_size, [_vp]),
    'recur_model_forward': (_status, [_vp, _vp, c_size, c_size, _vp,
                                      ctypes.POINTER(ModelWeights), _vp, _vp, _vp, _vp]),
    'recur_model_workspace_size': (_status, [_vp, c_size, c_size, ctypes.POINTER(c_size)]),
    'recur_model_forward_train': (_status, [_vp, _vp, c_size, c_size, _vp,
                                            ctypes.POINTER(ModelWeights), _vp, _vp, _vp, _vp,
                                            _vp, c_size]),
    'recur_model_backward': (_status, [_vp, _vp, c_size, c_size, ctypes.POINTER(ModelWeights),
                                       _vp, _vp, c_size, _vp, _vp,
                                       ctypes.POINTER(BackwardOptions),
                                       ctypes.POINTER(ModelWeights),
                                       _vp, _vp]),
    'recur_model_clip_grad_norm': (_status, [_vp, ctypes.POINTER(ModelWeights), ctypes.c_float,
                                             ctypes.POINTER(ctypes.c_float)]),
    'recur_model_sgd_update': (_status, [_vp, ctypes.POINTER(ModelWeights),
                                         ctypes.POINTER(ModelWeights), ctypes.POINTER(SgdOptions),
                                         ctypes.POINTER(ModelWeights)]),
    'recur_loss_softmax_xent': (_status, [c_size, c_size, _vp, _vp,
                                          ctypes.POINTER(ctypes.c_float), _vp]),
    'recur_loss_mse': (_status, [c_size, _vp, _vp, ctypes.POINTER(ctypes.c_float), _vp]),
}
# recur_model_tensors has the layout of recur_model_weights (pointers only), so the
# writable structs are declared with the same ctypes types.
for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


def check(status):
    """Raises the RecurError subclass of a non-zero recur_status."""
    if status != 0:
        msg = lib.recur_status_string(status).decode()
        raise _errors.error_class(status)(status, msg)


def version():
    return lib.recur_version_string().decode()
