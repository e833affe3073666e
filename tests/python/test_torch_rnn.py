"""recur.torch.RNN against torch.nn.RNN: outputs, h_n and the gradients of the input,
h0 and every parameter, within the bound of tolerance.py."""
import io
import itertools

import numpy as np
import pytest

torch = pytest.importorskip('torch')
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence  # noqa: E402

import recur.torch as rt  # noqa: E402
from tolerance import assert_close  # noqa: E402

I, H, T, N = 5, 8, 7, 4
LENGTHS = [3, 7, 1, 5]  # unsorted, so the packed path needs its index permutations


def _bounds(L, D):
    k_out = max(I, D * H) + H + 2
    k_grad = T * N + H + 2
    return k_out, k_grad, T * L * D


def _run(model, x, h0, lengths, batch_first, gy, gh):
    """Forward, a fixed random linear loss on output and h_n, backward. Returns
    (output padded, h_n, {param: grad}, dx, dh0)."""
    x = x.clone().requires_grad_(True)
    h0 = h0.clone().requires_grad_(True)
    model.zero_grad()
    if lengths is None:
        out, h_n = model(x, h0)
        y = out
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                      enforce_sorted=False)
        out, h_n = model(packed, h0)
        assert isinstance(out, PackedSequence)
        y = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first,
                                                   total_length=T)[0]
    loss = (y * gy).sum() + (h_n * gh).sum()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return y.detach(), h_n.detach(), grads, x.grad.detach(), h0.grad.detach()


CASES = list(itertools.product([1, 2, 3], [False, True], [False, True], ['tanh', 'relu'],
                               [False, True]))


@pytest.mark.parametrize('L,bidir,batch_first,act,packed', CASES,
                         ids=[f'L{c[0]}-{"bi" if c[1] else "uni"}-{"bf" if c[2] else "tm"}-'
                              f'{c[3]}-{"packed" if c[4] else "padded"}' for c in CASES])
def test_matches_torch(L, bidir, batch_first, act, packed):
    torch.manual_seed(1000 * L + 100 * bidir + 10 * batch_first + (act == 'relu'))
    ref = torch.nn.RNN(I, H, L, nonlinearity=act, batch_first=batch_first,
                       bidirectional=bidir)
    mine = rt.RNN.from_torch(ref)
    D = 2 if bidir else 1
    x = torch.randn((N, T, I) if batch_first else (T, N, I))
    h0 = torch.randn(L * D, N, H) * 0.5
    gy = torch.randn((N, T, D * H) if batch_first else (T, N, D * H))
    gh = torch.randn(L * D, N, H)
    lengths = LENGTHS if packed else None
    a = _run(ref, x, h0, lengths, batch_first, gy, gh)
    b = _run(mine, x, h0, lengths, batch_first, gy, gh)
    k_out, k_grad, depth = _bounds(L, D)
    assert_close(b[0], a[0], k_out, depth, 'output')
    assert_close(b[1], a[1], k_out, depth, 'h_n')
    assert set(a[2]) == set(b[2])
    for n in a[2]:
        assert_close(b[2][n], a[2][n], k_grad, depth, f'grad {n}')
    assert_close(b[3], a[3], k_grad, depth, 'grad input')
    assert_close(b[4], a[4], k_grad, depth, 'grad h0')


@pytest.mark.parametrize('bidir', [False, True])
def test_bias_false(bidir):
    torch.manual_seed(7)
    ref = torch.nn.RNN(I, H, 2, bias=False, bidirectional=bidir)
    mine = rt.RNN.from_torch(ref)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in ref.named_parameters()]
    D = 2 if bidir else 1
    x, h0 = torch.randn(T, N, I), torch.randn(2 * D, N, H)
    gy, gh = torch.randn(T, N, D * H), torch.randn(2 * D, N, H)
    for packed in (None, LENGTHS):
        a = _run(ref, x, h0, packed, False, gy, gh)
        b = _run(mine, x, h0, packed, False, gy, gh)
        k_out, k_grad, depth = _bounds(2, D)
        assert_close(b[0], a[0], k_out, depth, 'output')
        assert_close(b[1], a[1], k_out, depth, 'h_n')
        for n in a[2]:
            assert_close(b[2][n], a[2][n], k_grad, depth, f'grad {n}')


def test_defaults_and_unbatched():
    """h0 omitted, unbatched (2-D) input, no_grad inference, torch's init and state_dict."""
    torch.manual_seed(3)
    ref = torch.nn.RNN(I, H, 2, bidirectional=True)
    mine = rt.RNN(I, H, 2, bidirectional=True)
    mine.load_state_dict(ref.state_dict())
    assert mine.state_dict().keys() == ref.state_dict().keys()
    x = torch.randn(T, I)
    y1, h1 = ref(x)
    y2, h2 = mine(x)
    assert y2.shape == y1.shape and h2.shape == h1.shape
    assert_close(y2.detach(), y1.detach(), 2 * H + H + 2, 2 * T * 2, 'unbatched output')
    with torch.no_grad():
        y3, h3 = mine(x.unsqueeze(1))
    assert not y3.requires_grad
    assert torch.equal(y3.squeeze(1), y2.detach()), 'inference and training forward differ'
    # h0 omitted: gradient w.r.t. the input still flows
    xb = torch.randn(T, N, I, requires_grad=True)
    mine(xb)[0].sum().backward()
    assert xb.grad is not None and torch.isfinite(xb.grad).all()
    # torch's initialisation range
    for p in mine.parameters():
        assert p.abs().max() <= 1 / np.sqrt(H)


def test_training_step_matches_torch():
    """A few SGD steps with torch's optimizer on both models stay together."""
    torch.manual_seed(5)
    ref = torch.nn.RNN(I, H, 2, batch_first=True)
    mine = rt.RNN.from_torch(ref)
    opt_a = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    opt_b = torch.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9)
    x, target = torch.randn(N, T, I), torch.randn(N, T, H)
    for _ in range(3):
        for m, opt in ((ref, opt_a), (mine, opt_b)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(m(x)[0], target).backward()
            opt.step()
    for (n, a), (_, b) in zip(ref.named_parameters(), mine.named_parameters()):
        assert_close(b.detach(), a.detach(), T * N + H + 2, 3 * T * 2, n)


def test_rejects_what_it_cannot_run():
    with pytest.raises(ValueError, match='dropout'):
        rt.RNN(I, H, 2, dropout=0.5)
    with pytest.raises(ValueError, match='dropout'):
        rt.RNN.from_torch(torch.nn.RNN(I, H, 2, dropout=0.5))
    with pytest.raises(TypeError):
        rt.RNN(I, H, dtype=torch.float64)
    with pytest.raises(ValueError, match='CPU'):
        rt.RNN(I, H, device='cuda')
    with pytest.raises(ValueError):
        rt.RNN(I, H, nonlinearity='sigmoid')
    with pytest.raises(TypeError):
        rt.RNN.from_torch(torch.nn.LSTM(I, H))
    m = rt.RNN(I, H)
    with pytest.raises(TypeError, match='float32'):
        m(torch.randn(T, N, I, dtype=torch.float64))
    with pytest.raises(ValueError, match='h0'):
        m(torch.randn(T, N, I), torch.randn(2, N, H))
    with pytest.raises(ValueError):
        m(torch.randn(T, N, I + 1))
    with pytest.raises(ValueError):
        m(torch.randn(T))
    with pytest.raises(TypeError):
        m(np.zeros((T, N, I), np.float32))
    with pytest.raises(TypeError, match='float32'):
        m.double()(torch.randn(T, N, I, dtype=torch.float64))


def test_copy_and_save():
    """deepcopy and torch.save/load make new C handles (never copied pointers)."""
    import copy
    import io
    m = rt.RNN(I, H, 2, bidirectional=True)
    x = torch.randn(T, N, I)
    m2 = copy.deepcopy(m)
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    m3 = torch.load(buf)
    y = m(x)[0]
    del m
    assert torch.equal(m2(x)[0], y) and torch.equal(m3(x)[0], y)


def test_weights_cache_follows_parameters():
    """The module caches the C struct over its parameters: in-place updates, new
    tensors behind a parameter, a transposed view and copies after a call all behave as
    with torch.nn.RNN."""
    import copy
    torch.manual_seed(3)
    ref = torch.nn.RNN(I, H, 2)
    m = rt.RNN.from_torch(ref)
    x = torch.randn(T, N, I)
    with torch.no_grad():
        assert_close(m(x)[0], ref(x)[0], H + H + 2, T * 2, 'before any change')
        for p, q in zip(m.parameters(), ref.parameters()):  # in place: same storage
            p.mul_(0.5)
            q.mul_(0.5)
        assert_close(m(x)[0], ref(x)[0], H + H + 2, T * 2, 'after an in-place update')
        new = torch.randn(H, H)
        m.weight_hh_l1.data = new.clone()  # new storage behind the same parameter
        ref.weight_hh_l1.data = new.clone()
        assert_close(m(x)[0], ref(x)[0], H + H + 2, T * 2, 'after new storage')
        m.weight_hh_l0.data = m.weight_hh_l0.data.t()  # same storage, not contiguous
        with pytest.raises(ValueError, match='contiguous'):
            m(x)
        m.weight_hh_l0.data = m.weight_hh_l0.data.t()
        y = m(x)[0]
    m2 = copy.deepcopy(m)  # after calls: the cached struct is not copied
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    m3 = torch.load(buf)
    assert torch.equal(m2(x)[0], y) and torch.equal(m3(x)[0], y)
