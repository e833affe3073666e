// oneDNN vanilla RNN (tanh, 1 layer, left-to-right) set up from recur's plain layouts.
// Mapping: oneDNN's weights have logical dims {L, D, I, G, O}; the plain tag ldgoi
// stores them as [G=1][O=H][I], which is exactly recur's W[H][I] (and U[H][H]), so the
// user memories wrap recur's arrays without copying. The primitives pick their own
// weight layouts (format_tag::any); the weights are reordered once, at construction,
// never inside the timed calls. src_iter = h0, dst_layer = recur's h (O = 0).
#ifndef RECUR_BENCH_ONEDNN_RNN_H
#define RECUR_BENCH_ONEDNN_RNN_H

#include <oneapi/dnnl/dnnl.hpp>
#include "bench_common.h"

namespace rb {

class OnednnRnn {
public:
    // W [H][I], U [H][H], b [H] are read at construction (reordered copies are kept).
    OnednnRnn(const Shape &s, const float *W, const float *U, const float *b);

    // Inference forward: x [T][N][I], h0 [N][H] -> y [T][N][H].
    void forward_infer(const float *x, const float *h0, float *y);
    // Training forward (fills the primitive's workspace for backward).
    void forward_train(const float *x, const float *h0, float *y);
    // Backward after forward_train with the same x, h0, y: from dy [T][N][H] (and zero
    // gradient at h_{T-1}) gives dx [T][N][I], dh0 [N][H] and the weight gradients,
    // which stay in the primitive's layout until read_grads.
    void backward(const float *x, const float *h0, const float *y, const float *dy, float *dx,
                  float *dh0);
    // dW [H][I], dU [H][H], db [H] in recur's layout (a reorder; for the check only).
    void read_grads(float *dW, float *dU, float *db);
    // Zeroes the weight gradients (oneDNN's RNN backward adds into them).
    void zero_grads();

    static std::string effective_isa();

private:
    using md = dnnl::memory::desc;
    using tag = dnnl::memory::format_tag;
    Shape s_;
    dnnl::engine eng_;
    dnnl::stream strm_;
    md x_md_, hi_md_, y_md_, ho_md_, w_user_md_, u_user_md_, b_md_;
    dnnl::vanilla_rnn_forward::primitive_desc infer_pd_, train_pd_;
    dnnl::vanilla_rnn_backward::primitive_desc bwd_pd_;
    dnnl::vanilla_rnn_forward infer_, train_;
    dnnl::vanilla_rnn_backward bwd_;
    dnnl::memory w_infer_, u_infer_, w_train_, u_train_, w_bwd_, u_bwd_, bias_;
    dnnl::memory ws_, h_last_, dw_, du_, db_, dh_last_;

    dnnl::memory wrap(const md &d, const float *p) const;
    dnnl::memory reordered(const md &want, const md &user, const float *p);
};

} // namespace rb

#endif
