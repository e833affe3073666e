#include "onednn_model.h"

#include <cstring>

namespace rb {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

OnednnModel::OnednnModel(const ModelShape &m, const std::vector<const float *> &W,
                         const std::vector<const float *> &U,
                         const std::vector<const float *> &b)
    : m_(m), eng_(dnnl::engine::kind::cpu, 0), strm_(eng_)
{
    const memory::dim T = m.T, N = m.N, H = m.H, D = m.D(), OUT = m.out();
    const auto alg = dnnl::algorithm::eltwise_tanh;
    const auto dir = !m.bi ? dnnl::rnn_direction::unidirectional_left2right
                     : m.sum ? dnnl::rnn_direction::bidirectional_sum
                             : dnnl::rnn_direction::bidirectional_concat;
    const md none; // h0 = 0, no final state
    for (size_t l = 0; l < m.L; l++) {
        const memory::dim IN = m.layer_in(l);
        Layer y;
        y.src = md({T, N, IN}, dt::f32, tag::tnc);
        y.dst = md({T, N, OUT}, dt::f32, tag::tnc);
        md w_user({1, D, IN, 1, H}, dt::f32, tag::ldgoi), u_user({1, D, H, 1, H}, dt::f32, tag::ldgoi);
        md w_any({1, D, IN, 1, H}, dt::f32, tag::any), u_any({1, D, H, 1, H}, dt::f32, tag::any);
        md b_md({1, D, 1, H}, dt::f32, tag::ldgo);
        dnnl::vanilla_rnn_forward::desc infer_d(dnnl::prop_kind::forward_inference, alg, dir,
                                                y.src, none, w_any, u_any, b_md, y.dst, none);
        dnnl::vanilla_rnn_forward::desc train_d(dnnl::prop_kind::forward_training, alg, dir,
                                                y.src, none, w_any, u_any, b_md, y.dst, none);
        dnnl::vanilla_rnn_backward::desc bwd_d(dnnl::prop_kind::backward, alg, dir, y.src, none,
                                               w_any, u_any, b_md, y.dst, none, y.src, none,
                                               w_any, u_any, b_md, y.dst, none);
        y.infer_pd = dnnl::vanilla_rnn_forward::primitive_desc(infer_d, eng_);
        y.train_pd = dnnl::vanilla_rnn_forward::primitive_desc(train_d, eng_);
        y.bwd_pd = dnnl::vanilla_rnn_backward::primitive_desc(bwd_d, eng_, y.train_pd);
        y.infer = dnnl::vanilla_rnn_forward(y.infer_pd);
        y.train = dnnl::vanilla_rnn_forward(y.train_pd);
        y.bwd = dnnl::vanilla_rnn_backward(y.bwd_pd);
        y.w_infer = reordered(y.infer_pd.weights_layer_desc(), w_user, W[l]);
        y.u_infer = reordered(y.infer_pd.weights_iter_desc(), u_user, U[l]);
        y.w_train = reordered(y.train_pd.weights_layer_desc(), w_user, W[l]);
        y.u_train = reordered(y.train_pd.weights_iter_desc(), u_user, U[l]);
        y.w_bwd = reordered(y.bwd_pd.weights_layer_desc(), w_user, W[l]);
        y.u_bwd = reordered(y.bwd_pd.weights_iter_desc(), u_user, U[l]);
        y.bias = memory(b_md, eng_);
        std::memcpy(y.bias.get_data_handle(), b[l], (size_t)(D * H) * sizeof(float));
        y.ws = memory(y.train_pd.workspace_desc(), eng_);
        y.dw = memory(y.bwd_pd.diff_weights_layer_desc(), eng_);
        y.du = memory(y.bwd_pd.diff_weights_iter_desc(), eng_);
        y.db = memory(y.bwd_pd.diff_bias_desc(), eng_);
        for (memory *g : {&y.dw, &y.du, &y.db})
            std::memset(g->get_data_handle(), 0, g->get_desc().get_size());
        layers_.push_back(std::move(y));
        if (l + 1 < m.L) {
            mid_.emplace_back(m.T * m.N * m.out());
            dmid_.emplace_back(m.T * m.N * m.out());
        }
    }
}

dnnl::memory OnednnModel::wrap(const md &d, const float *p) const
{
    return memory(d, eng_, const_cast<float *>(p));
}

dnnl::memory OnednnModel::reordered(const md &want, const md &user, const float *p)
{
    memory src = wrap(user, p);
    memory dst(want, eng_);
    dnnl::reorder(src, dst).execute(strm_, src, dst);
    strm_.wait();
    return dst;
}

void OnednnModel::forward_infer(const float *x, float *y)
{
    for (size_t l = 0; l < layers_.size(); l++) {
        Layer &a = layers_[l];
        a.infer.execute(strm_, {{DNNL_ARG_SRC_LAYER, wrap(a.src, layer_src(l, x))},
                                {DNNL_ARG_WEIGHTS_LAYER, a.w_infer},
                                {DNNL_ARG_WEIGHTS_ITER, a.u_infer},
                                {DNNL_ARG_BIAS, a.bias},
                                {DNNL_ARG_DST_LAYER, wrap(a.dst, layer_dst(l, y))}});
    }
    strm_.wait();
}

void OnednnModel::forward_train(const float *x, float *y)
{
    for (size_t l = 0; l < layers_.size(); l++) {
        Layer &a = layers_[l];
        a.train.execute(strm_, {{DNNL_ARG_SRC_LAYER, wrap(a.src, layer_src(l, x))},
                                {DNNL_ARG_WEIGHTS_LAYER, a.w_train},
                                {DNNL_ARG_WEIGHTS_ITER, a.u_train},
                                {DNNL_ARG_BIAS, a.bias},
                                {DNNL_ARG_DST_LAYER, wrap(a.dst, layer_dst(l, y))},
                                {DNNL_ARG_WORKSPACE, a.ws}});
    }
    strm_.wait();
}

void OnednnModel::backward(const float *x, const float *y, const float *dy, float *dx)
{
    for (size_t l = layers_.size(); l-- > 0;) {
        Layer &a = layers_[l];
        const float *out = l + 1 < layers_.size() ? mid_[l].data() : y;
        const float *dout = l + 1 < layers_.size() ? dmid_[l].data() : dy;
        float *din = l ? dmid_[l - 1].data() : dx;
        a.bwd.execute(strm_, {{DNNL_ARG_SRC_LAYER, wrap(a.src, layer_src(l, x))},
                              {DNNL_ARG_WEIGHTS_LAYER, a.w_bwd},
                              {DNNL_ARG_WEIGHTS_ITER, a.u_bwd},
                              {DNNL_ARG_BIAS, a.bias},
                              {DNNL_ARG_DST_LAYER, wrap(a.dst, out)},
                              {DNNL_ARG_WORKSPACE, a.ws},
                              {DNNL_ARG_DIFF_DST_LAYER, wrap(a.dst, dout)},
                              {DNNL_ARG_DIFF_SRC_LAYER, wrap(a.src, din)},
                              {DNNL_ARG_DIFF_WEIGHTS_LAYER, a.dw},
                              {DNNL_ARG_DIFF_WEIGHTS_ITER, a.du},
                              {DNNL_ARG_DIFF_BIAS, a.db}});
    }
    strm_.wait();
}

} // namespace rb
