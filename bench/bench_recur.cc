// recur's four sequence operations, one benchmark per (op, shape, ISA, threads):
//   fwd_infer/recur/<isa>/<shape>/threads:<n>, fwd_train/..., bwd/..., train_step/...
#include "recur_problem.h"

namespace rb {

namespace {

enum class Op { FwdInfer, FwdTrain, Bwd, TrainStep };

struct OpInfo {
    Op op;
    const char *name;
    double flop_factor; // x forward flops
};

const OpInfo ops[] = {
    {Op::FwdInfer, "fwd_infer", 1.0},
    {Op::FwdTrain, "fwd_train", 1.0},
    {Op::Bwd, "bwd", 2.0},
    {Op::TrainStep, "train_step", 3.0},
};

void run_op(benchmark::State &st, OpInfo op, Shape s, recur_isa isa, int threads)
{
    RecurProblem p(s, isa, threads);
    // One untimed call first: context scratch is allocated on first use, and
    // backward needs the workspace filled by forward_train.
    p.forward_train();
    double total = 0.0;
    switch (op.op) {
    case Op::FwdInfer:
        p.forward();
        total = timed_loop(st, [&] { p.forward(); });
        break;
    case Op::FwdTrain:
        total = timed_loop(st, [&] { p.forward_train(); });
        break;
    case Op::Bwd:
        p.backward();
        total = timed_loop(st, [&] { p.backward(); });
        break;
    case Op::TrainStep:
        p.train_step();
        total = timed_loop(st, [&] { p.train_step(); });
        break;
    }
    set_counters(st, op.flop_factor * forward_flops(s), total, recur_isa_name(isa), (double)s.T);
}

} // namespace

void register_recur(const std::vector<Shape> &shapes)
{
    for (const auto &op : ops)
        for (const auto &s : shapes)
            for (recur_isa isa : recur_isas())
                for (int th : thread_counts()) {
                    std::string name = std::string(op.name) + "/recur/" + recur_isa_name(isa) +
                                       "/" + s.name() + "/threads:" + std::to_string(th);
                    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
                        run_op(st, op, s, isa, th);
                    })->UseManualTime()->Unit(benchmark::kMillisecond);
                }
}

} // namespace rb
