"""recur.torch.RNN: a drop-in torch.nn.RNN (CPU, float32) running on recur.

Same constructor, parameters (names, shapes, init) and forward as torch.nn.RNN:
(input, h0=None) -> (output, h_n), with padded or PackedSequence input; autograd goes
through recur's BPTT (gradients for the input, h0 and every parameter). Build one from an
existing model with RNN.from_torch(torch_rnn). Only dropout=0, CPU and float32."""
import math

import numpy as np

try:
    import torch
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError('recur.torch needs PyTorch (Debian: apt-get install python3-torch)') from e
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ._model import Model

__all__ = ['RNN']


def _np(t, name):
    """A NumPy view of a CPU float32 tensor (no copy); anything else raises."""
    return _dense(t, name).detach().numpy()


def _dense(t, name):
    """t itself when it is a contiguous CPU float32 tensor, a contiguous copy when only
    the layout differs (as torch.nn.RNN accepts); anything else raises."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f'{name}: expected a torch.Tensor, got {type(t).__name__}')
    if t.dtype != torch.float32:
        raise TypeError(f'{name}: recur.torch needs float32, got {t.dtype}')
    if t.device.type != 'cpu':
        raise ValueError(f'{name}: recur.torch runs on the CPU only, got a tensor on {t.device}')
    if t.layout != torch.strided:
        raise TypeError(f'{name}: dense tensors only, got {t.layout}')
    return t.contiguous()


def _addr(t):
    return None if t is None else t.data_ptr()


class _RecurRNN(torch.autograd.Function):
    """(x, h0, *params) -> (y, h_n) through recur_model_forward_train and, backwards,
    recur_model_backward. x and h0 come checked and contiguous (RNN.forward); the
    parameters' struct comes from RNN._weights."""

    @staticmethod
    def forward(ctx, module, lengths, x, h0, *params):
        m = module._recur
        T, N = module._dims(x)
        nws = m.workspace_floats_cached(T, N)
        ws = torch.empty(nws, dtype=torch.float32)
        y = torch.empty(m.seq_shape(T, N, m.y_width), dtype=torch.float32)
        h_n = torch.empty(m.state_shape(N), dtype=torch.float32)
        w = module._weights(params)
        m.forward_at(T, N, None if lengths is None else lengths.ctypes.data, w, x.data_ptr(),
                     _addr(h0), y.data_ptr(), h_n.data_ptr(), ws.data_ptr(), nws * 4)
        ctx.module, ctx.ws, ctx.has_h0, ctx.TN = module, ws, h0 is not None, (T, N)
        # Saved through autograd: an in-place change before backward is an error, as in torch.
        ctx.save_for_backward(x, *params)
        return y, h_n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy, dh_n):
        x, *params = ctx.saved_tensors
        module, (T, N) = ctx.module, ctx.TN
        m = module._recur
        grads = [torch.empty(p.shape, dtype=torch.float32) for p in params]
        need_dx, need_dh0 = ctx.needs_input_grad[2], ctx.has_h0 and ctx.needs_input_grad[3]
        dx = torch.empty(x.shape, dtype=torch.float32) if need_dx else None
        dh0 = torch.empty(m.state_shape(N), dtype=torch.float32) if need_dh0 else None
        dy = None if dy is None else _dense(dy, 'grad of output')
        dh_n = None if dh_n is None else _dense(dh_n, 'grad of h_n')
        g, keep = m.weights_at([t.data_ptr() for t in grads], writable=True)
        m.backward_at(T, N, module._weights(params), x.data_ptr(), ctx.ws.data_ptr(),
                      ctx.ws.numel() * 4, _addr(dy), _addr(dh_n), g, _addr(dx), _addr(dh0))
        del keep
        return (None, None, dx, dh0) + tuple(grads)


class RNN(nn.Module):
    """torch.nn.RNN's interface on recur's kernels. num_threads: threads of recur's calls
    (default: torch.get_num_threads() at each call); isa: force recur's kernels."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
                 *, num_threads=None, isa=None):
        super().__init__()
        if nonlinearity not in ('tanh', 'relu'):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. "
                             "Select from 'tanh' or 'relu'.")
        if dropout:
            raise ValueError('recur.torch.RNN: dropout is not supported (only dropout=0)')
        if device is not None and torch.device(device).type != 'cpu':
            raise ValueError(f'recur.torch.RNN runs on the CPU only, got device={device}')
        if dtype is not None and dtype != torch.float32:
            raise TypeError(f'recur.torch.RNN is float32 only, got dtype={dtype}')
        self.mode = 'RNN_TANH' if nonlinearity == 'tanh' else 'RNN_RELU'
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = 0.0, bidirectional, 0
        self._recur = Model(input_size, hidden_size, num_layers, nonlinearity, bidirectional,
                            batch_first, bias=bias, num_threads=num_threads, isa=isa)
        self._threads = num_threads
        self._last_threads = None  # the count last given to the context
        self._wcache = None         # (key, struct, ...) of _weights
        self._flat_weights_names = list(self._recur.param_shapes())
        for name, shape in self._recur.param_shapes().items():
            self.register_parameter(name, nn.Parameter(torch.empty(shape, dtype=torch.float32)))
        self.reset_parameters()

    def __getstate__(self):
        # The cached C struct holds raw pointers: never copied or pickled.
        state = super().__getstate__() if hasattr(super(), '__getstate__') else self.__dict__
        state = dict(state)
        state['_wcache'] = None
        return state

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -stdv, stdv)

    def flatten_parameters(self):
        """No-op (torch.nn.RNN compacts cuDNN weights here)."""

    def extra_repr(self):
        s = f'{self.input_size}, {self.hidden_size}'
        if self.num_layers != 1:
            s += f', num_layers={self.num_layers}'
        if self.nonlinearity != 'tanh':
            s += f', nonlinearity={self.nonlinearity!r}'
        if not self.bias:
            s += ', bias=False'
        if self.batch_first:
            s += ', batch_first=True'
        if self.bidirectional:
            s += ', bidirectional=True'
        return s + f', isa={self._recur.isa()}'

    @classmethod
    def from_torch(cls, rnn, **kwargs):
        """A recur.torch.RNN with the configuration and a copy of the parameters of a
        torch.nn.RNN (its state_dict as is)."""
        if not isinstance(rnn, nn.RNN):
            raise TypeError(f'from_torch: expected a torch.nn.RNN, got {type(rnn).__name__}')
        if rnn.dropout:
            raise ValueError('from_torch: dropout is not supported (only dropout=0)')
        if getattr(rnn, 'proj_size', 0):
            raise ValueError('from_torch: proj_size is not supported')
        new = cls(rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.nonlinearity, rnn.bias,
                  rnn.batch_first, 0.0, rnn.bidirectional, **kwargs)
        for name, t in rnn.state_dict().items():
            _np(t, name)  # CPU float32 only, the same as for our own tensors
        new.load_state_dict(rnn.state_dict())
        return new

    def forward(self, input, hx=None):
        packed = isinstance(input, PackedSequence)
        lengths = None
        if packed:
            x, lens = pad_packed_sequence(input, batch_first=self.batch_first)
            lengths = lens.numpy().astype(np.int32)
            unbatched = False
        else:
            if not isinstance(input, torch.Tensor):
                raise TypeError('input: expected a Tensor or PackedSequence, '
                                f'got {type(input).__name__}')
            if input.dim() not in (2, 3):
                raise ValueError(f'RNN: Expected input to be 2D or 3D, got {input.dim()}D tensor')
            unbatched = input.dim() == 2
            x = input.unsqueeze(0 if self.batch_first else 1) if unbatched else input
            if hx is not None and unbatched:
                if hx.dim() != 2:
                    raise ValueError('For unbatched 2-D input, hx should also be 2-D '
                                     f'but got {hx.dim()}-D tensor')
                hx = hx.unsqueeze(1)
        x = _dense(x, 'input')
        hx = None if hx is None else _dense(hx, 'hx')
        T, N = self._dims(x)
        if hx is not None and tuple(hx.shape) != self._recur.state_shape(N):
            raise ValueError(f'h0: expected shape {self._recur.state_shape(N)}, '
                             f'got {tuple(hx.shape)}')
        if self._threads is None:
            n = torch.get_num_threads()
            if n != self._last_threads:
                self._recur.set_num_threads(n)
                self._last_threads = n
        params = [self._parameters[n] for n in self._flat_weights_names]
        needs_grad = torch.is_grad_enabled() and (
            x.requires_grad or (hx is not None and hx.requires_grad)
            or any(p.requires_grad for p in params))
        if needs_grad:
            y, h_n = _RecurRNN.apply(self, lengths, x, hx, *params)
        else:
            y, h_n = self._infer(x, hx, lengths, params, T, N)
        if packed:
            y = self._pack(y, input, lengths)
        elif unbatched:
            y, h_n = y.squeeze(0 if self.batch_first else 1), h_n.squeeze(1)
        return y, h_n

    def _dims(self, x):
        """(T, N) of a checked 3-D input."""
        if x.shape[2] != self.input_size:
            raise ValueError(f'input: last dimension is {x.shape[2]}, the model has '
                             f'input_size {self.input_size}')
        if 0 in x.shape:
            raise ValueError(f'input: empty dimension in shape {tuple(x.shape)}')
        return (x.shape[1], x.shape[0]) if self.batch_first else (x.shape[0], x.shape[1])

    def _weights(self, params):
        """The C struct over the parameters, rebuilt (after full checks) only when a
        parameter's storage, shape or strides changed since the last call."""
        key = tuple((p.data_ptr(), p.shape, p.stride()) for p in params)
        if self._wcache is not None and self._wcache[0] == key:
            return self._wcache[1]
        shapes = self._recur.param_shapes()
        for n, p in zip(self._flat_weights_names, params):
            t = _dense(p, n)
            if t.data_ptr() != p.data_ptr():
                raise ValueError(f'{n}: the parameter must be contiguous')
            if tuple(p.shape) != shapes[n]:
                raise ValueError(f'{n}: expected shape {shapes[n]}, got {tuple(p.shape)}')
        w, layers = self._recur.weights_at([p.data_ptr() for p in params])
        self._wcache = (key, w, layers)  # layers: the array the struct points to
        return w

    def _infer(self, x, hx, lengths, params, T, N):
        m = self._recur
        y = torch.empty(m.seq_shape(T, N, m.y_width), dtype=torch.float32)
        h_n = torch.empty(m.state_shape(N), dtype=torch.float32)
        m.forward_at(T, N, None if lengths is None else lengths.ctypes.data,
                     self._weights(params), x.data_ptr(), _addr(hx), y.data_ptr(),
                     h_n.data_ptr())
        return y, h_n

    def _pack(self, y, input, lengths):
        """y (padded, caller's batch order) packed like input: same batch_sizes and indices."""
        bdim = 0 if self.batch_first else 1
        lens = torch.from_numpy(lengths.astype(np.int64))
        if input.sorted_indices is not None:
            y = y.index_select(bdim, input.sorted_indices)
            lens = lens.index_select(0, input.sorted_indices)
        data = pack_padded_sequence(y, lens, batch_first=self.batch_first).data
        return PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
