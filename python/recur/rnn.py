"""recur.RNN: a stacked, optionally bidirectional Elman RNN with NumPy parameters in
PyTorch's layout, inference, training forward, BPTT, clipping and SGD."""
import numpy as np

from ._model import Model


class TrainState:
    """What forward_train keeps for backward: the workspace (h0, every h_t, y_t and the
    lengths, filled by recur_model_forward_train) and a reference to x. x and the
    parameters must not change between forward_train and backward."""
    __slots__ = ('owner', 'x', 'workspace', 'T', 'N', 'used')

    def __init__(self, owner, x, workspace, T, N):
        self.owner, self.x, self.workspace, self.T, self.N = owner, x, workspace, T, N
        self.used = False


class RNN:
    """h_t = f(W x_t + b_ih + U h_{t-1} + b_hh) per layer and direction, as torch.nn.RNN,
    with an optional output layer y_t = g(V x^L_t + c) (output_size > 0).

    Parameters are float32 arrays in self.params (also attributes): weight_ih_l{k},
    weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (+ '_reverse' for the second direction),
    and weight_out [O][Out], bias_out [O] with an output layer. Sequences are [T][N][I]
    (batch_first: [N][T][I]); states h0 / h_n are [num_layers*D][N][H] either way.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity='tanh',
                 bidirectional=False, batch_first=False, output_size=0,
                 output_activation='identity', bias=True, merge='concat', clip=0.0,
                 seed=None, num_threads=None, isa=None):
        self._m = Model(input_size, hidden_size, num_layers, nonlinearity, bidirectional,
                        batch_first, output_size, output_activation, merge, clip, bias,
                        num_threads, isa)
        self._velocity = None
        rng = np.random.default_rng(seed)
        self.params = {}
        for name, shape in self._m.param_shapes().items():
            # torch.nn.RNN's init; the output layer as torch.nn.Linear's.
            k = 1.0 / np.sqrt(self._m.out_width if name.endswith('_out') else hidden_size)
            self.params[name] = rng.uniform(-k, k, shape).astype(np.float32)

    def __getattr__(self, name):
        params = self.__dict__.get('params')
        if params is not None and name in params:
            return params[name]
        raise AttributeError(name)

    def __repr__(self):
        m = self._m
        return (f'recur.RNN({m.input_size}, {m.hidden_size}, num_layers={m.num_layers}, '
                f'nonlinearity={m.nonlinearity!r}, bidirectional={m.bidirectional}, '
                f'batch_first={m.batch_first}, output_size={m.output_size}, '
                f'output_activation={m.output_activation!r}, bias={m.bias})')

    # ------------------------------------------------------------------ properties
    input_size = property(lambda self: self._m.input_size)
    hidden_size = property(lambda self: self._m.hidden_size)
    num_layers = property(lambda self: self._m.num_layers)
    output_size = property(lambda self: self._m.output_size)
    bidirectional = property(lambda self: self._m.bidirectional)
    batch_first = property(lambda self: self._m.batch_first)
    isa = property(lambda self: self._m.isa(), doc='kernels in use: scalar, avx2, avx512, neon')
    num_threads = property(lambda self: self._m.num_threads(),
                           lambda self, n: self._m.set_num_threads(n))

    def named_parameters(self):
        return list(self.params.items())

    def state_dict(self):
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state):
        """Copies float32 arrays of the right shapes into the parameters (every one required)."""
        missing = set(self.params) - set(state)
        extra = set(state) - set(self.params)
        if missing or extra:
            raise ValueError(f'load_state_dict: missing {sorted(missing)}, '
                             f'unexpected {sorted(extra)}')
        for k, v in state.items():
            if not isinstance(v, np.ndarray) or v.dtype != np.float32:
                raise TypeError(f'load_state_dict[{k!r}]: expected a float32 numpy array')
            if v.shape != self.params[k].shape:
                raise ValueError(f'load_state_dict[{k!r}]: shape {v.shape}, '
                                 f'expected {self.params[k].shape}')
        for k, v in state.items():
            np.copyto(self.params[k], v)

    def zero_grads(self):
        return {k: np.zeros_like(v) for k, v in self.params.items()}

    # ------------------------------------------------------------------ forward
    def forward(self, x, h0=None, lengths=None):
        """Inference: returns (y, h_n). lengths: int32 [N] in [1, T] or None; rows of y
        at t >= lengths[n] are zero and h_n holds each sequence's state after its last
        valid step."""
        return self._m.forward(self.params, x, h0, lengths)

    __call__ = forward

    def forward_train(self, x, h0=None, lengths=None):
        """As forward, and returns a TrainState for backward: (y, h_n, state)."""
        T, N = self._m.dims(x)
        ws = np.empty(self._m.workspace_floats(T, N), np.float32)
        y, h_n = self._m.forward(self.params, x, h0, lengths, workspace=ws)
        return y, h_n, TrainState(self, x, ws, T, N)

    def backward(self, state, dy=None, dh_last=None, dy_kind='output', bptt_window=0,
                 need_dx=True, need_dh0=True, grads=None):
        """BPTT. dy: dL/dy in y's layout (dy_kind='logits': dL/d(pre-activation of the
        output layer), as softmax_cross_entropy gives); dh_last: dL/dh_n. Returns a dict
        of parameter gradients (the names of self.params) with 'dx' and 'dh0'. grads: a
        dict from an earlier call (or zero_grads()) to add this call's gradients to."""
        if not isinstance(state, TrainState) or state.owner is not self:
            raise ValueError('backward: state must come from this RNN\'s forward_train')
        x = state.x
        accumulate = grads is not None
        if grads is None:
            grads = {k: np.empty_like(v) for k, v in self.params.items()}
        dx = np.zeros_like(x) if need_dx else None
        dh0 = np.zeros(self._m.state_shape(state.N), np.float32) if need_dh0 else None
        if accumulate:
            dx = grads.get('dx', dx) if need_dx else None
            dh0 = grads.get('dh0', dh0) if need_dh0 else None
        self._m.backward(self.params, x, state.workspace, grads, dy, dh_last, dx, dh0,
                         dy_kind, bptt_window, accumulate)
        if need_dx:
            grads['dx'] = dx
        if need_dh0:
            grads['dh0'] = dh0
        return grads

    # ------------------------------------------------------------------ training
    def clip_grad_norm(self, grads, max_norm):
        """Scales every parameter gradient in place by max_norm / norm when the global L2
        norm exceeds max_norm (0: only measure); returns the norm before clipping."""
        return self._m.clip_grad_norm(grads, max_norm)

    def sgd_step(self, grads, lr, momentum=0.0, weight_decay=0.0):
        """PyTorch's SGD on self.params in place; the momentum buffers are kept here."""
        if momentum and self._velocity is None:
            self._velocity = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._m.sgd_update(self.params, grads, lr, momentum, weight_decay,
                           self._velocity if momentum else None)

    def reset_momentum(self):
        self._velocity = None

