// One recur RNN problem with every buffer the four timed operations need.
#ifndef RECUR_BENCH_RECUR_PROBLEM_H
#define RECUR_BENCH_RECUR_PROBLEM_H

#include <stdexcept>
#include "bench_common.h"

namespace rb {

// The ISAs recur can run here, in enum order (scalar first).
std::vector<recur_isa> recur_isas();

struct RecurProblem {
    Shape s;
    recur_context *ctx = nullptr;
    recur_rnn *rnn = nullptr;
    FloatBuf W, U, b, x, h0, y, target, dy, dx, dh0, gW, gU, gb;
    float *ws_store = nullptr;   // workspace of recur_forward_train, 64-byte aligned like
                                 // a caller's own buffers (the states start at +64 bytes)
    size_t ws_bytes = 0;

    // Weights ~ U(-1/sqrt(H), 1/sqrt(H)) keep tanh away from saturation at every size.
    RecurProblem(const Shape &shape, recur_isa isa, int threads);
    ~RecurProblem();
    RecurProblem(const RecurProblem &) = delete;
    RecurProblem &operator=(const RecurProblem &) = delete;

    recur_weights weights() const { return {W.data(), U.data(), b.data(), nullptr, nullptr}; }
    recur_tensors grads() { return {gW.data(), gU.data(), gb.data(), nullptr, nullptr}; }
    void *ws() { return ws_store; }

    void forward();       // recur_forward
    void forward_train(); // recur_forward_train
    void backward();      // recur_backward with dx and dh0 (what the 2x-forward flop count assumes)
    void train_step();    // forward_train + MSE loss + backward (with dx, as in a stack) + clip + SGD
};

inline void check(recur_status st, const char *what)
{
    if (st != RECUR_OK)
        throw std::runtime_error(std::string(what) + ": " + recur_status_string(st));
}

} // namespace rb

#endif
