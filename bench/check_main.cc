// recur-bench-check: the recur vs oneDNN cross-check alone (a meson test).
#include "bench_common.h"

int main() { return rb::run_crosscheck(); }
