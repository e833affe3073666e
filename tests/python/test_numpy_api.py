"""recur.RNN (the NumPy API): bitwise against the same calls made from C
(tests/python/model_ref.c, compiled here against the library the package loaded),
losses, clipping and SGD, and argument checks."""
import os
import shutil
import subprocess

import numpy as np
import pytest

import recur
from recur import _lib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ACT = {'tanh': 0, 'relu': 1, 'sigmoid': 2, 'identity': 3, 'softmax': 4}


@pytest.fixture(scope='module')
def model_ref(tmp_path_factory):
    cc = shutil.which(os.environ.get('CC', 'cc'))
    if cc is None:
        pytest.skip('no C compiler to build tests/python/model_ref.c')
    exe = str(tmp_path_factory.mktemp('ref') / 'model_ref')
    lib = recur.library_path
    subprocess.run([cc, '-std=c11', '-O1', '-I', os.path.join(ROOT, 'include'),
                    os.path.join(HERE, 'model_ref.c'), lib,
                    '-Wl,-rpath,' + os.path.dirname(os.path.abspath(lib)), '-o', exe],
                   check=True)
    return exe


REF_CASES = [
    # L, bidir, batch_first, act, O, out_act, h0, lengths
    (1, False, False, 'tanh', 0, 'identity', False, False),
    (2, True, True, 'relu', 0, 'identity', True, True),
    (3, True, False, 'tanh', 0, 'identity', True, False),
    (2, False, True, 'sigmoid', 6, 'softmax', False, True),
    (1, True, False, 'tanh', 3, 'tanh', True, True),
]


@pytest.mark.parametrize('case', REF_CASES, ids=lambda c: '-'.join(map(str, c)))
def test_bitwise_against_c(model_ref, case):
    L, bidir, bf, act, O, oact, has_h0, has_len = case
    I, H, T, N = 4, 9, 6, 3
    rnn = recur.RNN(I, H, L, act, bidir, bf, O, oact, seed=11)
    rng = np.random.default_rng(12)
    D = 2 if bidir else 1
    x = rng.standard_normal((N, T, I) if bf else (T, N, I), dtype=np.float32)
    h0 = rng.standard_normal((L * D, N, H), dtype=np.float32) if has_h0 else None
    lengths = np.array([4, 6, 1], np.int32) if has_len else None
    yw = O or D * H
    dy = rng.standard_normal((N, T, yw) if bf else (T, N, yw), dtype=np.float32)
    dy_kind = 'logits' if oact == 'softmax' else 'output'

    y, h_n = rnn.forward(x, h0, lengths)
    y2, h_n2, state = rnn.forward_train(x, h0, lengths)
    g = rnn.backward(state, dy, dy_kind=dy_kind)

    stdin = b''.join(p.tobytes() for p in rnn.params.values()) + x.tobytes()
    stdin += (h0.tobytes() if has_h0 else b'') + (lengths.tobytes() if has_len else b'')
    stdin += dy.tobytes()
    args = [I, H, L, int(bidir), int(bf), ACT[act], O, ACT[oact], T, N, int(has_h0),
            int(has_len), 1 if dy_kind == 'logits' else 0]
    out = subprocess.run([model_ref] + [str(a) for a in args], input=stdin,
                         capture_output=True, check=True).stdout
    expect = [y, h_n] + [g[k] for k in rnn.params] + [g['dx'], g['dh0']]
    assert len(out) == sum(a.nbytes for a in expect)
    off = 0
    for name, got in zip(['y', 'h_n'] + list(rnn.params) + ['dx', 'dh0'], expect):
        ref = np.frombuffer(out, np.float32, got.size, off).reshape(got.shape)
        off += got.nbytes
        assert np.array_equal(got.view(np.uint32), ref.view(np.uint32)), f'{name} differs'
    assert np.array_equal(y, y2) and np.array_equal(h_n, h_n2)


def test_losses_against_torch():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 3, 7)).astype(np.float32)
    probs = torch.softmax(torch.from_numpy(logits), -1).numpy()
    targets = rng.integers(-1, 7, (5, 3)).astype(np.int32)
    loss, dl = recur.softmax_cross_entropy(probs, targets)
    t = torch.from_numpy(logits).requires_grad_(True)
    ref = torch.nn.functional.cross_entropy(t.reshape(-1, 7), torch.from_numpy(targets).long()
                                            .reshape(-1), ignore_index=-1)
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-5 * max(1, abs(ref.item()))
    assert np.abs(dl - t.grad.numpy()).max() <= 1e-6
    y = rng.standard_normal((4, 6)).astype(np.float32)
    tgt = rng.standard_normal((4, 6)).astype(np.float32)
    loss, dy = recur.mse(y, tgt)
    ty = torch.from_numpy(y).requires_grad_(True)
    ref = torch.nn.functional.mse_loss(ty, torch.from_numpy(tgt))
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-6 * max(1, ref.item())
    assert np.abs(dy - ty.grad.numpy()).max() <= 1e-6


def test_clip_and_sgd_against_torch():
    torch = pytest.importorskip('torch')
    rnn = recur.RNN(3, 5, 2, bidirectional=True, output_size=4, seed=2)
    x = np.random.default_rng(3).standard_normal((6, 2, 3)).astype(np.float32)
    y, _, s = rnn.forward_train(x)
    g = rnn.backward(s, np.ones_like(y))
    tp = {k: torch.nn.Parameter(torch.from_numpy(v.copy())) for k, v in rnn.params.items()}
    for k, p in tp.items():
        p.grad = torch.from_numpy(g[k].copy())
    norm = rnn.clip_grad_norm(g, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(list(tp.values()), 1.0)
    assert abs(norm - ref.item()) <= 1e-5 * ref.item()
    for k, p in tp.items():
        assert np.abs(g[k] - p.grad.numpy()).max() <= 1e-6
    opt = torch.optim.SGD(tp.values(), lr=0.05, momentum=0.9, weight_decay=0.01)
    for _ in range(2):
        rnn.sgd_step(g, 0.05, momentum=0.9, weight_decay=0.01)
        opt.step()
    for k, p in tp.items():
        assert np.abs(rnn.params[k] - p.detach().numpy()).max() <= 1e-6, k


def test_accumulate_and_truncation():
    rnn = recur.RNN(3, 4, seed=4)
    x = np.random.default_rng(5).standard_normal((8, 2, 3)).astype(np.float32)
    y, _, s = rnn.forward_train(x)
    dy = np.ones_like(y)
    g1 = rnn.backward(s, dy)
    g2 = rnn.backward(s, dy, grads=rnn.backward(s, dy))
    for k in g1:
        np.testing.assert_allclose(g2[k], 2 * g1[k], rtol=1e-6, atol=1e-6)
    gt = rnn.backward(s, dy, bptt_window=2)
    assert not np.allclose(gt['weight_hh_l0'], g1['weight_hh_l0'])
    full = rnn.backward(s, dy, bptt_window=8)
    assert all(np.array_equal(full[k], g1[k]) for k in g1)


def test_state_dict_roundtrip_and_bias_false():
    a = recur.RNN(3, 4, 2, seed=1)
    b = recur.RNN(3, 4, 2, seed=2)
    b.load_state_dict(a.state_dict())
    x = np.ones((5, 1, 3), np.float32)
    assert np.array_equal(a(x)[0], b(x)[0])
    nb = recur.RNN(3, 4, 2, bias=False, seed=1)
    assert not any(k.startswith('bias') for k in nb.params)
    y, _, s = nb.forward_train(x)
    g = nb.backward(s, y)
    assert set(g) == set(nb.params) | {'dx', 'dh0'}
    nb.sgd_step(g, 0.1)


def test_bad_arrays_raise():
    rnn = recur.RNN(3, 4, 2, bidirectional=True, seed=0)
    x = np.zeros((5, 2, 3), np.float32)
    for bad, exc in [(x.astype(np.float64), TypeError), (x.tolist(), TypeError),
                     (x.astype(np.float16), TypeError), (np.zeros((5, 2, 4), np.float32), ValueError),
                     (np.zeros((5, 2), np.float32), ValueError),
                     (np.zeros((5, 4, 3), np.float32)[:, ::2], ValueError),
                     (np.asfortranarray(np.zeros((5, 2, 3), np.float32)), ValueError),
                     (np.zeros((0, 2, 3), np.float32), ValueError)]:
        with pytest.raises(exc):
            rnn.forward(bad)
    buf = np.zeros(5 * 2 * 3 * 4 + 1, np.uint8)[1:].view(np.float32).reshape(5, 2, 3)
    with pytest.raises(ValueError, match='aligned'):
        rnn.forward(buf)
    with pytest.raises(ValueError, match='h0'):
        rnn.forward(x, np.zeros((2, 2, 4), np.float32))
    with pytest.raises(TypeError, match='lengths'):
        rnn.forward(x, lengths=np.array([1, 2]))
    for lengths in ([0, 5], [1, 6]):
        with pytest.raises(ValueError, match='lengths'):
            rnn.forward(x, lengths=np.array(lengths, np.int32))
    y, _, s = rnn.forward_train(x)
    with pytest.raises(ValueError, match='dy'):
        rnn.backward(s, np.zeros((5, 2, 4), np.float32))
    with pytest.raises(TypeError, match='dy'):
        rnn.backward(s, y.astype(np.float64))
    with pytest.raises(ValueError, match='state'):
        recur.RNN(3, 4, 2, bidirectional=True).backward(s, y)
    with pytest.raises(ValueError):
        rnn.backward(s, y, dy_kind='probs')
    g = rnn.backward(s, y)
    g['weight_hh_l0'] = g['weight_hh_l0'].T
    with pytest.raises(ValueError, match='weight_hh_l0'):
        rnn.clip_grad_norm(g, 1.0)
    with pytest.raises(ValueError, match='missing'):
        rnn.sgd_step({}, 0.1)
    ro = rnn.zero_grads()
    ro['weight_ih_l0'].flags.writeable = False
    with pytest.raises(ValueError, match='read-only'):
        rnn.backward(s, y, grads=ro)
    with pytest.raises(TypeError):
        recur.softmax_cross_entropy(np.zeros((2, 3), np.float32), np.zeros(2, np.int64))
    with pytest.raises(ValueError):
        recur.mse(np.zeros(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError):
        recur.RNN(0, 4)
    with pytest.raises(ValueError):
        recur.RNN(3, 4, nonlinearity='gelu')


def test_library_errors_are_recur_errors():
    from recur._errors import error_class
    for status in range(1, 11):
        cls = error_class(status)
        assert issubclass(cls, recur.RecurError) and cls is not recur.RecurError
        assert cls.status == status and cls.__name__ in recur.__all__
    assert error_class(99) is recur.RecurError
    probs = np.full((2, 3), 1 / 3, np.float32)
    with pytest.raises(recur.InvalidArgumentError) as e:
        recur.softmax_cross_entropy(probs, np.array([0, 3], np.int32))
    assert isinstance(e.value, recur.RecurError) and e.value.status == 4
    assert e.value.message == _lib.lib.recur_status_string(4).decode()
    with pytest.raises(recur.InvalidArgumentError):
        recur.RNN(3, 4, clip=-1.0)
    with pytest.raises(recur.RecurError):
        recur.RNN(3, 4).sgd_step(recur.RNN(3, 4).zero_grads(), -1.0)
    missing = [i for i in ('avx2', 'avx512', 'neon') if not recur.isa_supported(i)]
    if missing:
        with pytest.raises(recur.UnsupportedIsaError):
            recur.RNN(3, 4, isa=missing[0])
    assert recur.RNN(3, 4, isa='scalar').isa == 'scalar'
