#!/usr/bin/env python3
"""The course's example from Python (the NumPy API of the recur package): a word-level
Elman RNN language model learns which cuisine a dish belongs to, then completes
"my favourite dish is sushi . so , my favourite cuisine is" -> japanese.

The same recipe as examples/cuisine_lm.c: one-hot words in, softmax over the vocabulary
out, softmax cross-entropy (padding steps ignored), full BPTT, gradient clipping at 5,
SGD with momentum 0.9 and a learning rate decaying linearly to a tenth, batches of 16,
the same splitmix64 seed for the initialisation and the shuffles. Here the batch is
batch-first with per-sentence lengths, and the hidden layer has PyTorch's two biases.

usage: PYTHONPATH=python RECUR_LIBRARY=build/librecur.so.0 python3 examples/python/cuisine.py [corpus]
RECUR_EXAMPLE_EPOCHS and RECUR_EXAMPLE_LR override the schedule. Exits 1 unless the
sushi probe's top-1 word is "japanese".
"""
import os
import sys
import time

import numpy as np

import recur

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, '..', 'data', 'cuisine_corpus.txt')
HIDDEN, BATCH = 64, 16
MASK = (1 << 64) - 1


class SplitMix64:
    """The C example's generator: uniform [0, 1) from splitmix64."""

    def __init__(self, seed):
        self.state = seed

    def __call__(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return ((z ^ (z >> 31)) >> 11) / 9007199254740992.0


def load(path):
    vocab, sents = {}, []
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            ids = [vocab.setdefault(w, len(vocab)) for w in line.split()]
            if len(ids) >= 2:
                sents.append(ids)
    return vocab, sents


def batch(sents, V):
    """Batch-first one-hot inputs [N][T][V], lengths and targets (-1 on padding)."""
    T = max(len(s) for s in sents) - 1
    x = np.zeros((len(sents), T, V), np.float32)
    targets = np.full((len(sents), T), -1, np.int32)
    for n, s in enumerate(sents):
        x[n, np.arange(len(s) - 1), s[:-1]] = 1.0
        targets[n, :len(s) - 1] = s[1:]
    return x, np.array([len(s) - 1 for s in sents], np.int32), targets


def predict(rnn, vocab, words, text):
    ids = [vocab.get(w) for w in text.split()]
    if None in ids:
        print(f'  (probe has unknown words) {text}')
        return None
    x = np.zeros((1, len(ids), len(vocab)), np.float32)
    x[0, np.arange(len(ids)), ids] = 1.0
    p = rnn.forward(x)[0][0, -1]
    top = np.argsort(-p, kind='stable')[:3]
    print(f'  "{text}" -> ' + ', '.join(f'{words[i]} ({p[i]:.3f})' for i in top))
    return words[top[0]]


def main(argv):
    vocab, sents = load(argv[1] if len(argv) > 1 else CORPUS)
    words = list(vocab)
    V = len(vocab)
    print(f'corpus: {len(sents)} sentences, {V} words in the vocabulary')
    rnd = SplitMix64(42)
    rnn = recur.RNN(V, HIDDEN, batch_first=True, output_size=V, output_activation='softmax')
    print(f'recur {recur.__version__} ({recur.library_path}), kernels: {rnn.isa}')

    def uniform(shape, scale):
        return np.array([(2 * rnd() - 1) * scale for _ in range(int(np.prod(shape)))],
                        np.float32).reshape(shape)

    rnn.load_state_dict({
        'weight_ih_l0': uniform((HIDDEN, V), 1 / np.sqrt(V)),
        'weight_hh_l0': uniform((HIDDEN, HIDDEN), 1 / np.sqrt(HIDDEN)),
        'bias_ih_l0': np.zeros(HIDDEN, np.float32), 'bias_hh_l0': np.zeros(HIDDEN, np.float32),
        'weight_out': uniform((V, HIDDEN), 1 / np.sqrt(HIDDEN)),
        'bias_out': np.zeros(V, np.float32)})

    epochs = int(os.environ.get('RECUR_EXAMPLE_EPOCHS', 200))
    base_lr = float(os.environ.get('RECUR_EXAMPLE_LR', 0.15))
    order = list(range(len(sents)))
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for s in range(len(order) - 1, 0, -1):  # Fisher-Yates, as the C example
            j = int(rnd() * (s + 1))
            order[s], order[j] = order[j], order[s]
        lr = base_lr * (1 - 0.9 * (epoch - 1) / epochs)
        losses = []
        for b0 in range(0, len(order), BATCH):
            x, lengths, targets = batch([sents[i] for i in order[b0:b0 + BATCH]], V)
            y, _, state = rnn.forward_train(x, lengths=lengths)
            loss, dlogits = recur.softmax_cross_entropy(y, targets)
            grads = rnn.backward(state, dlogits, dy_kind='logits', need_dx=False,
                                 need_dh0=False)
            rnn.clip_grad_norm(grads, 5.0)
            rnn.sgd_step(grads, lr, momentum=0.9)
            losses.append(loss)
        if epoch == 1 or epoch % 10 == 0:
            print(f'epoch {epoch:3d}  loss {np.mean(losses):.4f}')
    print(f'trained in {time.perf_counter() - t0:.2f} s')

    print('next-word predictions (top 3):')
    top = predict(rnn, vocab, words, 'my favourite dish is sushi . so , my favourite cuisine is')
    predict(rnn, vocab, words, 'my favourite dish is pizza . so , my favourite cuisine is')
    predict(rnn, vocab, words, 'i love eating paella , because i like')
    predict(rnn, vocab, words, 'when i want indian food i order')
    print('held out from training:')
    predict(rnn, vocab, words, 'my favourite dish is ramen . so , my favourite cuisine is')
    predict(rnn, vocab, words, 'my favourite dish is tapas . so , my favourite cuisine is')
    ok = top == 'japanese'
    print(f'{"OK" if ok else "FAIL"}: sushi -> {top}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
