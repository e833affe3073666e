// One recur_model problem (ModelShape) with the buffers of its timed operations.
#ifndef RECUR_BENCH_MODEL_PROBLEM_H
#define RECUR_BENCH_MODEL_PROBLEM_H

#include "recur_problem.h"

namespace rb {

// The inputs of a model problem, shared by the recur and oneDNN rows. Per layer, both
// directions back to back as oneDNN's ldgoi stores them: W[l] [D][H][in_l], U[l]
// [D][H][H], b[l] [D][H]. Weights ~ U(-1/sqrt(H), 1/sqrt(H)) as in RecurProblem,
// b ~ U(-0.1, 0.1), x ~ U(-1, 1), dy ~ U(-0.01, 0.01); h0 = 0.
struct ModelData {
    ModelShape m;
    std::vector<FloatBuf> W, U, b;
    FloatBuf x, dy;
    std::vector<int32_t> lengths; // empty: NULL (all T)
    explicit ModelData(const ModelShape &shape);
    static std::vector<const float *> ptrs(const std::vector<FloatBuf> &v);
};

struct ModelProblem : ModelData {
    recur_context *ctx = nullptr;
    recur_model *model = nullptr;
    std::vector<FloatBuf> gW, gU, gb; // gradients, laid out as W, U, b
    FloatBuf y;
    std::vector<recur_layer_weights> lw;
    std::vector<recur_layer_tensors> lg;
    float *ws_store = nullptr;
    size_t ws_bytes = 0;

    ModelProblem(const ModelShape &shape, recur_isa isa, int threads);
    ~ModelProblem();
    ModelProblem(const ModelProblem &) = delete;
    ModelProblem &operator=(const ModelProblem &) = delete;

    const int32_t *lens() const { return lengths.empty() ? nullptr : lengths.data(); }
    recur_model_weights weights() const { return {lw.data(), nullptr, nullptr}; }

    void forward();       // recur_model_forward
    void forward_train(); // recur_model_forward_train
    void train();         // forward_train + backward (weight gradients; dx and dh0 off)
};

} // namespace rb

#endif
