// Built instead of the oneDNN files when oneDNN is not found.
#include <cstdio>
#include "bench_common.h"

namespace rb {

bool have_onednn() { return false; }
void register_onednn(const std::vector<Shape> &) {}
void register_onednn_models(const std::vector<ModelShape> &) {}
int run_crosscheck()
{
    std::printf("recur-bench: built without oneDNN, nothing to cross-check\n");
    return 77; // meson's "skipped"
}

} // namespace rb
