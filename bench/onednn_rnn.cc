#include "onednn_rnn.h"

#include <cstring>

namespace rb {

using dnnl::memory;
using dt = dnnl::memory::data_type;

OnednnRnn::OnednnRnn(const Shape &s, const float *W, const float *U, const float *b)
    : s_(s), eng_(dnnl::engine::kind::cpu, 0), strm_(eng_)
{
    const memory::dim T = s.T, N = s.N, I = s.I, H = s.H;
    x_md_ = md({T, N, I}, dt::f32, tag::tnc);
    hi_md_ = md({1, 1, N, H}, dt::f32, tag::ldnc);
    y_md_ = md({T, N, H}, dt::f32, tag::tnc);
    ho_md_ = md({1, 1, N, H}, dt::f32, tag::ldnc);
    w_user_md_ = md({1, 1, I, 1, H}, dt::f32, tag::ldgoi);
    u_user_md_ = md({1, 1, H, 1, H}, dt::f32, tag::ldgoi);
    b_md_ = md({1, 1, 1, H}, dt::f32, tag::ldgo);
    md w_any({1, 1, I, 1, H}, dt::f32, tag::any), u_any({1, 1, H, 1, H}, dt::f32, tag::any);
    const auto alg = dnnl::algorithm::eltwise_tanh;
    const auto dir = dnnl::rnn_direction::unidirectional_left2right;

    dnnl::vanilla_rnn_forward::desc infer_d(dnnl::prop_kind::forward_inference, alg, dir, x_md_,
                                            hi_md_, w_any, u_any, b_md_, y_md_, ho_md_);
    infer_pd_ = dnnl::vanilla_rnn_forward::primitive_desc(infer_d, eng_);
    dnnl::vanilla_rnn_forward::desc train_d(dnnl::prop_kind::forward_training, alg, dir, x_md_,
                                            hi_md_, w_any, u_any, b_md_, y_md_, ho_md_);
    train_pd_ = dnnl::vanilla_rnn_forward::primitive_desc(train_d, eng_);
    dnnl::vanilla_rnn_backward::desc bwd_d(dnnl::prop_kind::backward, alg, dir, x_md_, hi_md_,
                                           w_any, u_any, b_md_, y_md_, ho_md_, x_md_, hi_md_,
                                           w_any, u_any, b_md_, y_md_, ho_md_);
    bwd_pd_ = dnnl::vanilla_rnn_backward::primitive_desc(bwd_d, eng_, train_pd_);
    infer_ = dnnl::vanilla_rnn_forward(infer_pd_);
    train_ = dnnl::vanilla_rnn_forward(train_pd_);
    bwd_ = dnnl::vanilla_rnn_backward(bwd_pd_);

    w_infer_ = reordered(infer_pd_.weights_layer_desc(), w_user_md_, W);
    u_infer_ = reordered(infer_pd_.weights_iter_desc(), u_user_md_, U);
    w_train_ = reordered(train_pd_.weights_layer_desc(), w_user_md_, W);
    u_train_ = reordered(train_pd_.weights_iter_desc(), u_user_md_, U);
    w_bwd_ = reordered(bwd_pd_.weights_layer_desc(), w_user_md_, W);
    u_bwd_ = reordered(bwd_pd_.weights_iter_desc(), u_user_md_, U);
    bias_ = memory(b_md_, eng_);
    std::memcpy(bias_.get_data_handle(), b, (size_t)H * sizeof(float));

    ws_ = memory(train_pd_.workspace_desc(), eng_);
    h_last_ = memory(ho_md_, eng_);
    dh_last_ = memory(ho_md_, eng_);
    std::memset(dh_last_.get_data_handle(), 0, ho_md_.get_size());
    dw_ = memory(bwd_pd_.diff_weights_layer_desc(), eng_);
    du_ = memory(bwd_pd_.diff_weights_iter_desc(), eng_);
    db_ = memory(bwd_pd_.diff_bias_desc(), eng_);
    zero_grads();
}

dnnl::memory OnednnRnn::wrap(const md &d, const float *p) const
{
    return memory(d, eng_, const_cast<float *>(p));
}

dnnl::memory OnednnRnn::reordered(const md &want, const md &user, const float *p)
{
    memory src = wrap(user, p);
    memory dst(want, eng_);
    dnnl::reorder(src, dst).execute(strm_, src, dst);
    strm_.wait();
    return dst;
}

void OnednnRnn::forward_infer(const float *x, const float *h0, float *y)
{
    infer_.execute(strm_, {{DNNL_ARG_SRC_LAYER, wrap(x_md_, x)},
                           {DNNL_ARG_SRC_ITER, wrap(hi_md_, h0)},
                           {DNNL_ARG_WEIGHTS_LAYER, w_infer_},
                           {DNNL_ARG_WEIGHTS_ITER, u_infer_},
                           {DNNL_ARG_BIAS, bias_},
                           {DNNL_ARG_DST_LAYER, wrap(y_md_, y)},
                           {DNNL_ARG_DST_ITER, h_last_}});
    strm_.wait();
}

void OnednnRnn::forward_train(const float *x, const float *h0, float *y)
{
    train_.execute(strm_, {{DNNL_ARG_SRC_LAYER, wrap(x_md_, x)},
                           {DNNL_ARG_SRC_ITER, wrap(hi_md_, h0)},
                           {DNNL_ARG_WEIGHTS_LAYER, w_train_},
                           {DNNL_ARG_WEIGHTS_ITER, u_train_},
                           {DNNL_ARG_BIAS, bias_},
                           {DNNL_ARG_DST_LAYER, wrap(y_md_, y)},
                           {DNNL_ARG_DST_ITER, h_last_},
                           {DNNL_ARG_WORKSPACE, ws_}});
    strm_.wait();
}

void OnednnRnn::backward(const float *x, const float *h0, const float *y, const float *dy,
                         float *dx, float *dh0)
{
    bwd_.execute(strm_, {{DNNL_ARG_SRC_LAYER, wrap(x_md_, x)},
                         {DNNL_ARG_SRC_ITER, wrap(hi_md_, h0)},
                         {DNNL_ARG_WEIGHTS_LAYER, w_bwd_},
                         {DNNL_ARG_WEIGHTS_ITER, u_bwd_},
                         {DNNL_ARG_BIAS, bias_},
                         {DNNL_ARG_DST_LAYER, wrap(y_md_, y)},
                         {DNNL_ARG_DST_ITER, h_last_},
                         {DNNL_ARG_WORKSPACE, ws_},
                         {DNNL_ARG_DIFF_DST_LAYER, wrap(y_md_, dy)},
                         {DNNL_ARG_DIFF_DST_ITER, dh_last_},
                         {DNNL_ARG_DIFF_SRC_LAYER, wrap(x_md_, dx)},
                         {DNNL_ARG_DIFF_SRC_ITER, wrap(hi_md_, dh0)},
                         {DNNL_ARG_DIFF_WEIGHTS_LAYER, dw_},
                         {DNNL_ARG_DIFF_WEIGHTS_ITER, du_},
                         {DNNL_ARG_DIFF_BIAS, db_}});
    strm_.wait();
}

void OnednnRnn::zero_grads()
{
    for (memory *m : {&dw_, &du_, &db_})
        std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
}

void OnednnRnn::read_grads(float *dW, float *dU, float *db)
{
    memory w = wrap(w_user_md_, dW), u = wrap(u_user_md_, dU), bb = wrap(b_md_, db);
    dnnl::reorder(dw_, w).execute(strm_, dw_, w);
    dnnl::reorder(du_, u).execute(strm_, du_, u);
    dnnl::reorder(db_, bb).execute(strm_, db_, bb);
    strm_.wait();
}

std::string OnednnRnn::effective_isa()
{
    switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

} // namespace rb
