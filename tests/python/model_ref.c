/*
 * Reference runner for tests/python/test_numpy_api.py: the same model run straight from
 * C, to compare the Python package with bitwise (its ctypes structs, argument order and
 * layouts included).
 *
 *   model_ref I H L bidir batch_first act O out_act T N has_h0 has_lengths dy_kind
 *
 * stdin (float32 / int32, native order): every parameter in PyTorch order (per layer and
 * direction W, U, b_ih, b_hh; then V, c when O > 0), x, h0 (when has_h0), lengths (when
 * has_lengths), dy. stdout: y, h_n, every parameter gradient in the same order, dx, dh0.
 * Everything through recur_model_forward (inference), then forward_train + backward;
 * exits 3 if the two forwards differ, 2 on a recur error, 1 on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recur.h"

static void *take(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p || fread(p, 1, bytes, stdin) != bytes) {
        fprintf(stderr, "model_ref: short input\n");
        exit(1);
    }
    return p;
}

static void put(const void *p, size_t bytes)
{
    fwrite(p, 1, bytes, stdout);
}

#define CHECK(call)                                                                        \
    do {                                                                                   \
        recur_status st_ = (call);                                                         \
        if (st_ != RECUR_OK) {                                                             \
            fprintf(stderr, "%s: %s\n", #call, recur_status_string(st_));                 \
            exit(2);                                                                       \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 14) {
        fprintf(stderr, "usage: see the top of model_ref.c\n");
        return 1;
    }
    size_t a[13];
    for (int i = 0; i < 13; i++)
        a[i] = (size_t)strtoul(argv[i + 1], NULL, 10);
    size_t I = a[0], H = a[1], L = a[2], D = a[3] ? 2 : 1, O = a[6], T = a[8], N = a[9];
    recur_model_config cfg = recur_model_config_default(I, H);
    cfg.num_layers = L;
    cfg.direction = a[3] ? RECUR_DIR_BIDIRECTIONAL : RECUR_DIR_FORWARD;
    cfg.seq_layout = a[4] ? RECUR_LAYOUT_BATCH_FIRST : RECUR_LAYOUT_TIME_MAJOR;
    cfg.hidden_act = (recur_activation)a[5];
    cfg.output_size = O;
    cfg.output_act = (recur_activation)a[7];
    cfg.two_biases = 1;
    recur_model *m;
    recur_context *ctx;
    CHECK(recur_model_create(&m, &cfg));
    CHECK(recur_context_create(&ctx));

    size_t LD = L * D, out = recur_model_output_width(m), yw = O ? O : out;
    recur_layer_weights *lw = calloc(LD, sizeof *lw);
    recur_layer_tensors *lg = calloc(LD, sizeof *lg);
    size_t *win = calloc(LD, sizeof *win);
    for (size_t k = 0; k < LD; k++) {
        win[k] = recur_model_layer_input_size(m, k / D);
        lw[k].W = take(H * win[k] * 4);
        lw[k].U = take(H * H * 4);
        lw[k].b = take(H * 4);
        lw[k].b_hh = take(H * 4);
        lg[k].W = malloc(H * win[k] * 4);
        lg[k].U = malloc(H * H * 4);
        lg[k].b = malloc(H * 4);
        lg[k].b_hh = malloc(H * 4);
    }
    recur_model_weights w = {lw, O ? take(O * out * 4) : NULL, O ? take(O * 4) : NULL};
    recur_model_tensors g = {lg, O ? malloc(O * out * 4) : NULL, O ? malloc(O * 4) : NULL};
    float *x = take(T * N * I * 4);
    float *h0 = a[10] ? take(LD * N * H * 4) : NULL;
    int32_t *lengths = a[11] ? take(N * 4) : NULL;
    float *dy = take(T * N * yw * 4);

    float *y = malloc(T * N * yw * 4), *y2 = malloc(T * N * yw * 4);
    float *hn = malloc(LD * N * H * 4), *hn2 = malloc(LD * N * H * 4);
    float *dx = malloc(T * N * I * 4), *dh0 = malloc(LD * N * H * 4);
    CHECK(recur_model_forward(ctx, m, T, N, lengths, &w, x, h0, y, hn));
    size_t wsb;
    CHECK(recur_model_workspace_size(m, T, N, &wsb));
    void *ws = malloc(wsb);
    CHECK(recur_model_forward_train(ctx, m, T, N, lengths, &w, x, h0, y2, hn2, ws, wsb));
    if (memcmp(y, y2, T * N * yw * 4) || memcmp(hn, hn2, LD * N * H * 4))
        return 3;
    recur_backward_options bo = recur_backward_options_default();
    bo.dy_kind = (recur_dy_kind)a[12];
    CHECK(recur_model_backward(ctx, m, T, N, &w, x, ws, wsb, dy, NULL, &bo, &g, dx, dh0));

    put(y, T * N * yw * 4);
    put(hn, LD * N * H * 4);
    for (size_t k = 0; k < LD; k++) {
        put(lg[k].W, H * win[k] * 4);
        put(lg[k].U, H * H * 4);
        put(lg[k].b, H * 4);
        put(lg[k].b_hh, H * 4);
    }
    if (O) {
        put(g.V, O * out * 4);
        put(g.c, O * 4);
    }
    put(dx, T * N * I * 4);
    put(dh0, LD * N * H * 4);
    recur_context_destroy(ctx);
    recur_model_destroy(m);
    return 0; /* the rest is freed at exit */
}
