// A stacked (bi)directional vanilla RNN in oneDNN that computes recur_model's model.
//
// oneDNN 2.6.3 with L > 1 in ONE primitive requires every layer's input width SLC to
// equal DHC (SLC = 2*DHC is rejected for bidirectional_concat, and so is I != H), and
// runs each direction as its own L-layer stack, merging (concat or sum) only the last
// layer's outputs. recur (like PyTorch and ONNX) feeds layer l+1 the merged output of
// both directions of layer l. The same model in oneDNN is therefore one L = 1
// primitive per layer, chained through a [T][N][2H] (concat) or [T][N][H] (sum)
// buffer: layer 0 has SLC = I, the layers above SLC = 2H or H. That is what this
// class builds.
//
// Weights: per layer [D][H][in_l] (W), [D][H][H] (U), [D][H] (b), direction 0 = left to
// right; that is oneDNN's ldgoi / ldgo with L = 1, G = 1, and recur's layers[l*D + d].
// They are reordered to the primitives' layouts at construction. h0 = 0 (no src_iter),
// no dst_iter.
#ifndef RECUR_BENCH_ONEDNN_MODEL_H
#define RECUR_BENCH_ONEDNN_MODEL_H

#include <oneapi/dnnl/dnnl.hpp>
#include "bench_common.h"

namespace rb {

class OnednnModel {
public:
    OnednnModel(const ModelShape &m, const std::vector<const float *> &W,
                const std::vector<const float *> &U, const std::vector<const float *> &b);

    // x [T][N][I] -> y [T][N][out] (inference, or training: workspaces filled).
    void forward_infer(const float *x, float *y);
    void forward_train(const float *x, float *y);
    // After forward_train with the same x, y: from dy (layout of y), layer by layer down,
    // gives dx [T][N][I] (oneDNN always computes it) and the weight gradients (added
    // into the primitive's buffers; values are not read here).
    void backward(const float *x, const float *y, const float *dy, float *dx);

private:
    using md = dnnl::memory::desc;
    struct Layer {
        md src, dst;
        dnnl::vanilla_rnn_forward::primitive_desc infer_pd, train_pd;
        dnnl::vanilla_rnn_backward::primitive_desc bwd_pd;
        dnnl::vanilla_rnn_forward infer, train;
        dnnl::vanilla_rnn_backward bwd;
        dnnl::memory w_infer, u_infer, w_train, u_train, w_bwd, u_bwd, bias;
        dnnl::memory ws, dw, du, db;
    };
    ModelShape m_;
    dnnl::engine eng_;
    dnnl::stream strm_;
    std::vector<Layer> layers_;
    std::vector<FloatBuf> mid_, dmid_; // outputs of layers 0 .. L-2 and their gradients

    dnnl::memory wrap(const md &d, const float *p) const;
    dnnl::memory reordered(const md &want, const md &user, const float *p);
    const float *layer_src(size_t l, const float *x) const { return l ? mid_[l - 1].data() : x; }
    float *layer_dst(size_t l, float *y) { return l + 1 < layers_.size() ? mid_[l].data() : y; }
};

} // namespace rb

#endif
