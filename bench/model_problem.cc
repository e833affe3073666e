#include "model_problem.h"

#include <cmath>
#include <cstring>
#include <new>

namespace rb {

ModelData::ModelData(const ModelShape &shape)
    : m(shape), x(m.T * m.N * m.I, 1.0f, 14), dy(m.T * m.N * m.out(), 0.01f, 17),
      lengths(model_lengths(m))
{
    const size_t D = m.D(), H = m.H;
    const float ws = 1.0f / std::sqrt((float)H);
    for (size_t l = 0; l < m.L; l++) {
        W.emplace_back(D * H * m.layer_in(l), ws, 100 + 10 * (unsigned)l);
        U.emplace_back(D * H * H, ws, 101 + 10 * (unsigned)l);
        b.emplace_back(D * H, 0.1f, 102 + 10 * (unsigned)l);
    }
}

std::vector<const float *> ModelData::ptrs(const std::vector<FloatBuf> &v)
{
    std::vector<const float *> p;
    for (const auto &f : v)
        p.push_back(f.data());
    return p;
}

ModelProblem::ModelProblem(const ModelShape &shape, recur_isa isa, int threads)
    : ModelData(shape), y(m.T * m.N * m.out())
{
    const size_t D = m.D(), H = m.H;
    for (size_t l = 0; l < m.L; l++) {
        const size_t in = m.layer_in(l);
        gW.emplace_back(D * H * in);
        gU.emplace_back(D * H * H);
        gb.emplace_back(D * H);
    }
    for (size_t l = 0; l < m.L; l++)
        for (size_t d = 0; d < D; d++) {
            const size_t in = m.layer_in(l);
            lw.push_back({W[l].data() + d * H * in, U[l].data() + d * H * H, b[l].data() + d * H,
                          nullptr});
            lg.push_back({gW[l].data() + d * H * in, gU[l].data() + d * H * H,
                          gb[l].data() + d * H, nullptr});
        }
    check(recur_context_create(&ctx), "recur_context_create");
    check(recur_context_set_isa(ctx, isa), "recur_context_set_isa");
    set_threads(ctx, threads);
    recur_model_config c = recur_model_config_default(m.I, m.H);
    c.num_layers = m.L;
    c.direction = m.bi ? RECUR_DIR_BIDIRECTIONAL : RECUR_DIR_FORWARD;
    c.merge = m.sum ? RECUR_MERGE_SUM : RECUR_MERGE_CONCAT;
    c.hidden_act = RECUR_ACT_TANH;
    check(recur_model_create(&model, &c), "recur_model_create");
    check(recur_model_workspace_size(model, m.T, m.N, &ws_bytes), "recur_model_workspace_size");
    ws_store = static_cast<float *>(std::aligned_alloc(64, (ws_bytes + 63) / 64 * 64));
    if (!ws_store)
        throw std::bad_alloc();
    std::memset(ws_store, 0, (ws_bytes + 63) / 64 * 64);
}

ModelProblem::~ModelProblem()
{
    std::free(ws_store);
    recur_model_destroy(model);
    recur_context_destroy(ctx);
}

void ModelProblem::forward()
{
    recur_model_weights w = weights();
    check(recur_model_forward(ctx, model, m.T, m.N, lens(), &w, x.data(), nullptr, y.data(),
                              nullptr),
          "recur_model_forward");
}

void ModelProblem::forward_train()
{
    recur_model_weights w = weights();
    check(recur_model_forward_train(ctx, model, m.T, m.N, lens(), &w, x.data(), nullptr, y.data(),
                                    nullptr, ws_store, ws_bytes),
          "recur_model_forward_train");
}

void ModelProblem::train()
{
    forward_train();
    recur_model_weights w = weights();
    recur_model_tensors g = {lg.data(), nullptr, nullptr};
    check(recur_model_backward(ctx, model, m.T, m.N, &w, x.data(), ws_store, ws_bytes, dy.data(),
                               nullptr, nullptr, &g, nullptr, nullptr),
          "recur_model_backward");
}

} // namespace rb
