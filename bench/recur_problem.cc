#include "recur_problem.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

namespace rb {

std::vector<recur_isa> recur_isas()
{
    std::vector<recur_isa> v;
    for (recur_isa isa : {RECUR_ISA_SCALAR, RECUR_ISA_AVX2, RECUR_ISA_AVX512, RECUR_ISA_NEON})
        if (recur_isa_supported(isa))
            v.push_back(isa);
    return v;
}

RecurProblem::RecurProblem(const Shape &shape, recur_isa isa, int threads)
    : s(shape),
      W(s.H * s.I, 1.0f / std::sqrt((float)s.H), 11), U(s.H * s.H, 1.0f / std::sqrt((float)s.H), 12),
      b(s.H, 0.1f, 13), x(s.T * s.N * s.I, 1.0f, 14), h0(s.N * s.H, 0.5f, 15),
      y(s.T * s.N * s.H), target(s.T * s.N * s.H, 0.5f, 16), dy(s.T * s.N * s.H, 0.01f, 17),
      dx(s.T * s.N * s.I), dh0(s.N * s.H), gW(s.H * s.I), gU(s.H * s.H), gb(s.H)
{
    check(recur_context_create(&ctx), "recur_context_create");
    check(recur_context_set_isa(ctx, isa), "recur_context_set_isa");
    set_threads(ctx, threads);
    recur_rnn_config cfg = {s.I, s.H, 0, RECUR_ACT_TANH, RECUR_ACT_IDENTITY};
    check(recur_rnn_create(&rnn, &cfg), "recur_rnn_create");
    check(recur_workspace_size(rnn, s.T, s.N, &ws_bytes), "recur_workspace_size");
    ws_store = static_cast<float *>(std::aligned_alloc(64, (ws_bytes + 63) / 64 * 64));
    if (!ws_store)
        throw std::bad_alloc();
    std::memset(ws_store, 0, (ws_bytes + 63) / 64 * 64);
}

RecurProblem::~RecurProblem()
{
    std::free(ws_store);
    recur_rnn_destroy(rnn);
    recur_context_destroy(ctx);
}

void RecurProblem::forward()
{
    recur_weights w = weights();
    check(recur_forward(ctx, rnn, s.T, s.N, &w, x.data(), h0.data(), y.data(), nullptr),
          "recur_forward");
}

void RecurProblem::forward_train()
{
    recur_weights w = weights();
    check(recur_forward_train(ctx, rnn, s.T, s.N, &w, x.data(), h0.data(), y.data(), nullptr,
                              ws(), ws_bytes),
          "recur_forward_train");
}

void RecurProblem::backward()
{
    recur_weights w = weights();
    recur_tensors g = grads();
    check(recur_backward(ctx, rnn, s.T, s.N, &w, x.data(), ws(), ws_bytes, dy.data(), nullptr,
                         nullptr, &g, dx.data(), dh0.data()),
          "recur_backward");
}

void RecurProblem::train_step()
{
    forward_train();
    check(recur_loss_mse(s.T * s.N * s.H, y.data(), target.data(), nullptr, dy.data()),
          "recur_loss_mse");
    recur_weights w = weights();
    recur_tensors g = grads();
    check(recur_backward(ctx, rnn, s.T, s.N, &w, x.data(), ws(), ws_bytes, dy.data(), nullptr,
                         nullptr, &g, dx.data(), nullptr),
          "recur_backward");
    check(recur_clip_grad_norm(rnn, &g, 1.0f, nullptr), "recur_clip_grad_norm");
    recur_tensors p = {W.data(), U.data(), b.data(), nullptr, nullptr};
    recur_sgd_options o = {1e-3f, 0.0f, 0.0f};
    check(recur_sgd_update(rnn, &p, &g, &o, nullptr), "recur_sgd_update");
}

} // namespace rb
