"""The C model and context behind both front ends (recur.RNN and recur.torch.RNN).

A Model holds a recur_model descriptor and a recur_context, knows the PyTorch names and
shapes of the parameters, checks every array against them and makes the C calls. It owns
no parameters: each call takes a dict name -> float32 array."""
import ctypes
import threading

import numpy as np

from . import _lib
from ._arrays import check, check_ndim, ptr

_L = _lib.lib


class Model:
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity='tanh',
                 bidirectional=False, batch_first=False, output_size=0,
                 output_activation='identity', merge='concat', clip=0.0, bias=True,
                 num_threads=None, isa=None):
        for name, v, lo in (('input_size', input_size, 1), ('hidden_size', hidden_size, 1),
                            ('num_layers', num_layers, 1), ('output_size', output_size, 0)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ValueError(f'{name} must be an integer >= {lo}, got {v!r}')
        if nonlinearity not in ('tanh', 'relu', 'sigmoid', 'identity'):
            raise ValueError(f"nonlinearity must be 'tanh', 'relu', 'sigmoid' or 'identity', "
                             f'got {nonlinearity!r}')
        if output_activation not in ('identity', 'softmax', 'sigmoid', 'tanh'):
            raise ValueError(f'output_activation {output_activation!r} is not one of '
                             "'identity', 'softmax', 'sigmoid', 'tanh'")
        if merge not in _lib.MERGE:
            raise ValueError(f"merge must be 'concat' or 'sum', got {merge!r}")
        self._args = (input_size, hidden_size, num_layers, nonlinearity, bidirectional,
                      batch_first, output_size, output_activation, merge, clip, bias,
                      num_threads, isa)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.output_size = int(num_layers), int(output_size)
        self.nonlinearity, self.output_activation = nonlinearity, output_activation
        self.bidirectional, self.batch_first = bool(bidirectional), bool(batch_first)
        self.merge, self.clip, self.bias = merge, float(clip), bool(bias)
        self.D = 2 if self.bidirectional else 1

        cfg = _L.recur_model_config_default(self.input_size, self.hidden_size)
        cfg.output_size = self.output_size
        cfg.num_layers = self.num_layers
        cfg.direction = _lib.DIR_BIDIRECTIONAL if self.bidirectional else _lib.DIR_FORWARD
        cfg.merge = _lib.MERGE[merge]
        cfg.hidden_act = _lib.ACT[nonlinearity]
        cfg.output_act = _lib.ACT[output_activation]
        cfg.seq_layout = _lib.LAYOUT_BATCH_FIRST if self.batch_first else _lib.LAYOUT_TIME_MAJOR
        cfg.state_layout = _lib.LAYOUT_TIME_MAJOR  # PyTorch's h0 / h_n: [L*D][N][H]
        cfg.clip = self.clip
        cfg.two_biases = 1
        self._model = ctypes.c_void_p()
        self._ctx = ctypes.c_void_p()
        _lib.check(_L.recur_model_create(ctypes.byref(self._model), ctypes.byref(cfg)))
        _lib.check(_L.recur_context_create(ctypes.byref(self._ctx)))
        self._lock = threading.Lock()
        if isa is not None:
            if isa not in _lib.ISA:
                raise ValueError(f'isa must be one of {sorted(_lib.ISA)}, got {isa!r}')
            _lib.check(_L.recur_context_set_isa(self._ctx, _lib.ISA[isa]))
        if num_threads is not None:
            self.set_num_threads(num_threads)
        self.out_width = int(_L.recur_model_output_width(self._model))
        self.y_width = self.output_size or self.out_width
        self._shapes = self._param_shapes()
        self._zeros = {}
        self._scratch = {}   # bias stand-ins of weights_at
        self._ws_floats = {}  # (T, N) -> workspace floats

    def __reduce__(self):
        # copy.deepcopy and pickle (torch.save of a module) build a new descriptor and
        # context from the same arguments; the C handles are never copied.
        return (Model, self._args)

    def __del__(self):
        # Module teardown may have cleared _L already; then the process is ending anyway.
        if _L is not None and getattr(self, '_ctx', None) is not None:
            _L.recur_context_destroy(self._ctx)
            _L.recur_model_destroy(self._model)

    # ------------------------------------------------------------------ description
    def _param_shapes(self):
        H, shapes = self.hidden_size, {}
        for l in range(self.num_layers):
            win = self.input_size if l == 0 else (self.D * H if self.merge == 'concat' else H)
            for d in range(self.D):
                s = f'_l{l}' + ('_reverse' if d else '')
                shapes['weight_ih' + s] = (H, win)
                shapes['weight_hh' + s] = (H, H)
                shapes['bias_ih' + s] = (H,)
                shapes['bias_hh' + s] = (H,)
        if self.output_size:
            shapes['weight_out'] = (self.output_size, self.out_width)
            shapes['bias_out'] = (self.output_size,)
        return shapes

    def param_shapes(self):
        """Ordered name -> shape of the parameters (bias tensors omitted with bias=False)."""
        return {k: v for k, v in self._shapes.items()
                if self.bias or not k.startswith('bias_') or k == 'bias_out'}

    def isa(self):
        return _L.recur_isa_name(_L.recur_context_isa(self._ctx)).decode()

    def num_threads(self):
        return int(_L.recur_context_get_num_threads(self._ctx))

    def set_num_threads(self, n):
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f'num_threads must be an integer >= 0, got {n!r}')
        _lib.check(_L.recur_context_set_num_threads(self._ctx, int(n)))

    # ------------------------------------------------------------------ structs
    def _zero(self, name):
        z = self._zeros.get(name)
        if z is None:
            z = self._zeros[name] = np.zeros(self._shapes[name], np.float32)
        return z

    def _struct(self, tensors, what, writable=False):
        """A ModelWeights struct over a dict of arrays; missing biases (bias=False) are
        read as zeros, or written to scratch for gradients. Returns (struct, keep)."""
        if not isinstance(tensors, dict):
            raise TypeError(f'{what}: expected a dict of name -> numpy array')
        keep, layers = [], (_lib.LayerWeights * (self.num_layers * self.D))()
        for name in tensors:
            if name in ('dx', 'dh0'):  # backward's extra results ride along in its dict
                continue
            if name not in self.param_shapes():
                raise ValueError(f'{what}: unexpected entry {name!r}')
        for l in range(self.num_layers):
            for d in range(self.D):
                s = f'_l{l}' + ('_reverse' if d else '')
                arrs = []
                for n in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'):
                    key = n + s
                    if not self.bias and n.startswith('bias'):
                        a = (np.zeros(self._shapes[key], np.float32) if writable
                             else self._zero(key))
                    else:
                        if key not in tensors:
                            raise ValueError(f'{what}: missing {key!r}')
                        a = check(tensors[key], f'{what}[{key!r}]', self._shapes[key],
                                  writable=writable)
                    arrs.append(a)
                keep += arrs
                layers[l * self.D + d] = _lib.LayerWeights(*(ptr(a) for a in arrs))
        V = c = None
        if self.output_size:
            for key in ('weight_out', 'bias_out'):
                if key not in tensors:
                    raise ValueError(f'{what}: missing {key!r}')
            V = check(tensors['weight_out'], f"{what}['weight_out']", self._shapes['weight_out'],
                      writable=writable)
            c = check(tensors['bias_out'], f"{what}['bias_out']", self._shapes['bias_out'],
                      writable=writable)
            keep += [V, c]
        keep.append(layers)
        return _lib.ModelWeights(layers, ptr(V), ptr(c)), keep

    def weights_at(self, addrs, writable=False):
        """A ModelWeights struct from the addresses (ints) of the parameters in
        param_shapes() order, without checks: for callers that checked the tensors
        behind them (recur.torch caches one per set of parameters). Missing biases
        (bias=False) read zeros, or are written to per-model scratch when writable."""
        it = iter(addrs)
        nld = self.num_layers * self.D
        layers = (_lib.LayerWeights * nld)()
        for i in range(nld):
            if self.bias:
                layers[i] = _lib.LayerWeights(next(it), next(it), next(it), next(it))
            else:
                W, U = next(it), next(it)
                b, b_hh = self._bias_scratch(i, writable)
                layers[i] = _lib.LayerWeights(W, U, b, b_hh)
        V = c = None
        if self.output_size:
            V, c = next(it), next(it)
        return _lib.ModelWeights(layers, V, c), layers

    def _bias_scratch(self, i, writable):
        """Addresses standing in for the two biases of layer-direction i with bias=False:
        shared zeros to read, or a scratch pair (never read back) to write."""
        key = i if writable else -1
        z = self._scratch.get(key)
        if z is None:
            z = self._scratch[key] = np.zeros((2, self.hidden_size), np.float32)
        return z[0].ctypes.data, z[1].ctypes.data

    def workspace_floats_cached(self, T, N):
        n = self._ws_floats.get((T, N))
        if n is None:
            if len(self._ws_floats) >= 64:  # many shapes: keep the cache small
                self._ws_floats.clear()
            n = self._ws_floats[(T, N)] = self.workspace_floats(T, N)
        return n

    def forward_at(self, T, N, lengths, w, x, h0, y, h_n, workspace=0, ws_bytes=0):
        """recur_model_forward (workspace 0) or _forward_train on addresses (ints, or
        None for NULL) that the caller checked; raises on a non-zero status."""
        with self._lock:
            if workspace:
                st = _L.recur_model_forward_train(self._ctx, self._model, T, N, lengths,
                                                  ctypes.byref(w), x, h0, y, h_n, workspace,
                                                  ws_bytes)
            else:
                st = _L.recur_model_forward(self._ctx, self._model, T, N, lengths,
                                            ctypes.byref(w), x, h0, y, h_n)
        _lib.check(st)

    def backward_at(self, T, N, w, x, workspace, ws_bytes, dy, dh_last, grads, dx, dh0):
        """recur_model_backward on checked addresses (dy with respect to the output, full
        BPTT, gradients overwritten)."""
        opts = _lib.BackwardOptions(_lib.DY_KIND['output'], 0, 0)
        with self._lock:
            st = _L.recur_model_backward(self._ctx, self._model, T, N, ctypes.byref(w), x,
                                         workspace, ws_bytes, dy, dh_last, ctypes.byref(opts),
                                         ctypes.byref(grads), dx, dh0)
        _lib.check(st)

    # ------------------------------------------------------------------ shapes
    def dims(self, x):
        """(T, N) of an input sequence, after checking it."""
        check_ndim(x, 'x', 3)
        if x.shape[2] != self.input_size:
            raise ValueError(f'x: last dimension is {x.shape[2]}, the model has '
                             f'input_size {self.input_size}')
        N, T = x.shape[:2] if self.batch_first else x.shape[1::-1]
        check(x, 'x', x.shape)
        return T, N

    def seq_shape(self, T, N, width):
        return (N, T, width) if self.batch_first else (T, N, width)

    def state_shape(self, N):
        return (self.num_layers * self.D, N, self.hidden_size)

    def check_lengths(self, lengths, T, N):
        if lengths is None:
            return None
        check(lengths, 'lengths', (N,), dtype=np.int32)
        if lengths.min() < 1 or lengths.max() > T:
            raise ValueError(f'lengths must be in [1, T={T}], got min {lengths.min()} '
                             f'max {lengths.max()}')
        return lengths

    # ------------------------------------------------------------------ calls
    def workspace_floats(self, T, N):
        nbytes = ctypes.c_size_t()
        _lib.check(_L.recur_model_workspace_size(self._model, T, N, ctypes.byref(nbytes)))
        return (nbytes.value + 3) // 4

    def forward(self, params, x, h0=None, lengths=None, y=None, h_n=None, workspace=None):
        """Runs recur_model_forward (workspace None) or recur_model_forward_train into y
        and h_n (allocated when None); returns (y, h_n)."""
        T, N = self.dims(x)
        lengths = self.check_lengths(lengths, T, N)
        if h0 is not None:
            check(h0, 'h0', self.state_shape(N))
        y = np.empty(self.seq_shape(T, N, self.y_width), np.float32) if y is None else \
            check(y, 'y', self.seq_shape(T, N, self.y_width), writable=True)
        h_n = np.empty(self.state_shape(N), np.float32) if h_n is None else \
            check(h_n, 'h_n', self.state_shape(N), writable=True)
        w, keep = self._struct(params, 'params')
        with self._lock:
            if workspace is None:
                st = _L.recur_model_forward(self._ctx, self._model, T, N, ptr(lengths),
                                            ctypes.byref(w), ptr(x), ptr(h0), ptr(y), ptr(h_n))
            else:
                check(workspace, 'workspace', (self.workspace_floats(T, N),), writable=True)
                st = _L.recur_model_forward_train(self._ctx, self._model, T, N, ptr(lengths),
                                                  ctypes.byref(w), ptr(x), ptr(h0), ptr(y),
                                                  ptr(h_n), ptr(workspace), workspace.nbytes)
        _lib.check(st)
        del keep
        return y, h_n

    def backward(self, params, x, workspace, grads, dy=None, dh_last=None, dx=None, dh0=None,
                 dy_kind='output', bptt_window=0, accumulate=False):
        """recur_model_backward: writes (or adds to, with accumulate) grads, dx, dh0."""
        T, N = self.dims(x)
        check(workspace, 'workspace', (self.workspace_floats(T, N),))
        if dy is not None:
            check(dy, 'dy', self.seq_shape(T, N, self.y_width))
        if dh_last is not None:
            check(dh_last, 'dh_last', self.state_shape(N))
        if dx is not None:
            check(dx, 'dx', x.shape, writable=True)
        if dh0 is not None:
            check(dh0, 'dh0', self.state_shape(N), writable=True)
        if dy_kind not in _lib.DY_KIND:
            raise ValueError(f"dy_kind must be 'output' or 'logits', got {dy_kind!r}")
        if not isinstance(bptt_window, (int, np.integer)) or bptt_window < 0:
            raise ValueError(f'bptt_window must be an integer >= 0, got {bptt_window!r}')
        opts = _lib.BackwardOptions(_lib.DY_KIND[dy_kind], int(bptt_window), int(bool(accumulate)))
        w, keep_w = self._struct(params, 'params')
        g, keep_g = self._struct(grads, 'grads', writable=True)
        with self._lock:
            st = _L.recur_model_backward(self._ctx, self._model, T, N, ctypes.byref(w), ptr(x),
                                         ptr(workspace), workspace.nbytes, ptr(dy), ptr(dh_last),
                                         ctypes.byref(opts), ctypes.byref(g), ptr(dx), ptr(dh0))
        _lib.check(st)
        del keep_w, keep_g

    def clip_grad_norm(self, grads, max_norm):
        g, keep = self._struct(grads, 'grads', writable=True)
        norm = ctypes.c_float()
        _lib.check(_L.recur_model_clip_grad_norm(self._model, ctypes.byref(g), float(max_norm),
                                                 ctypes.byref(norm)))
        del keep
        return norm.value

    def sgd_update(self, params, grads, lr, momentum=0.0, weight_decay=0.0, velocity=None):
        p, keep_p = self._struct(params, 'params', writable=True)
        g, keep_g = self._struct(grads, 'grads')
        opts = _lib.SgdOptions(float(lr), float(momentum), float(weight_decay))
        v = None
        if velocity is not None:
            v, keep_v = self._struct(velocity, 'velocity', writable=True)
        _lib.check(_L.recur_model_sgd_update(self._model, ctypes.byref(p), ctypes.byref(g),
                                             ctypes.byref(opts),
                                             None if v is None else ctypes.byref(v)))
        del keep_p, keep_g
