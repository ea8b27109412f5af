// The per-step profile (`wafer run --profile`): every step of a cpu program once,
// with the kernel that ran it (oneDNN's implementation name, our kernel at the
// ISA level in force, or the reference kernel), shares that add up to the whole,
// and FLOPs from the IR's cost model. The reference backend profiles per node.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "backends/reference/interpreter.h"
#include "graph_test_util.h"
#include "ir/cost.h"
#include "passes/cpu_pipeline.h"

namespace wafer {
namespace {

using namespace wafer::test;

// x [1,3,8,8] -> Conv (4 filters 3x3, no bias: its reader cannot be fused) -> Flatten -> MatMul [256,16]
// -> Mul by the input z (our elementwise kernel) -> Sin (no fast kernel: the reference kernel runs it).
Graph conv_matmul_elementwise(std::mt19937& rng) {
  Graph g = input_graph({1, 3, 8, 8});
  g.inputs.push_back("z");
  g.types["z"] = f32({1, 16});
  g.initializers["w"] = random_tensor({4, 3, 3, 3}, rng, 0.3f);
  g.initializers["w2"] = random_tensor({256, 16}, rng, 0.1f);
  Node& conv = add_named(g, "Conv", {"x", "w"}, {"c"}, 11);
  conv.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  add_named(g, "Flatten", {"c"}, {"f"}, 13).attrs["axis"] = Attribute{int64_t(1)};
  add_named(g, "MatMul", {"f", "w2"}, {"m"});
  add_named(g, "Mul", {"m", "z"}, {"p"}, 14);
  add_named(g, "Sin", {"p"}, {"y"});
  g.outputs = {"y"};
  return g;
}

std::vector<Tensor> inputs(std::mt19937& rng) {
  return {random_tensor({1, 3, 8, 8}, rng), random_tensor({1, 16}, rng)};
}

const StepProfile* find_op(const Profile& p, const std::string& op) {
  for (const auto& s : p.steps)
    if (s.op == op) return &s;
  return nullptr;
}

TEST(CpuProfile, EveryStepOnceWithItsKernelSharesAndCosts) {
  std::mt19937 rng(7);
  Graph g = conv_matmul_elementwise(rng);
  auto lowered = g.clone();
  cpu_pipeline(*lowered);
  // The cost model's view of the fused conv, before the program packs (and frees) its weights.
  const Node* fused = nullptr;
  for (const auto& n : lowered->nodes)
    if (n->op_type == "FusedConv") fused = n.get();
  ASSERT_NE(fused, nullptr);
  NodeCost conv_cost = node_cost(*lowered, *fused);
  ASSERT_TRUE(conv_cost.macs.has_value());
  EXPECT_EQ(*conv_cost.macs, 1 * 4 * 8 * 8 * (3 * 3 * 3));  // output elements x (C/group x kernel)

  cpu::Program p(std::move(lowered), CompileOptions{});
  auto in = inputs(rng);
  p.run(in);  // a warm-up run is not profiled
  EXPECT_EQ(p.profile().runs, 0);
  p.set_profiling(true);
  for (int i = 0; i < 3; ++i) p.run(in);
  Profile prof = p.profile();
  EXPECT_EQ(prof.runs, 3);

  // Every step appears once, in run order, with who ran it.
  auto labels = p.step_labels();
  ASSERT_EQ(prof.steps.size(), labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    const StepProfile& s = prof.steps[i];
    EXPECT_EQ(s.label, labels[i]);
    EXPECT_FALSE(s.kernel.empty()) << s.label;
    EXPECT_FALSE(s.op.empty()) << s.label;
    ASSERT_EQ(s.run_ms.size(), 3u) << s.label;  // one time per profiled run
    for (double ms : s.run_ms) EXPECT_GE(ms, 0) << s.label;
    if (s.library == "oneDNN") {
      EXPECT_NE(s.kernel, "unknown") << s.label;  // impl_info_str() of its descriptor
    }
  }
  const StepProfile* conv = find_op(prof, "wafer.FusedConv");
  const StepProfile* mm = find_op(prof, "MatMul");
  const StepProfile* mul = find_op(prof, "Mul");
  const StepProfile* sin_step = find_op(prof, "Sin");
  ASSERT_TRUE(conv && mm && mul && sin_step);
  EXPECT_EQ(conv->library, "oneDNN");
  EXPECT_EQ(mm->library, "oneDNN");
  EXPECT_EQ(mul->library, "wafer");
  EXPECT_EQ(mul->kernel, "elementwise");
  EXPECT_EQ(mul->isa, cpu::isa_name(cpu::cpu_isa()));
  EXPECT_EQ(sin_step->library, "reference");
  EXPECT_EQ(sin_step->kernel, "reference");

  // FLOPs and bytes from the cost model: a conv is 2 FLOPs per MAC, a matmul too.
  ASSERT_TRUE(conv->flops && mm->flops && mul->flops && sin_step->flops);
  EXPECT_EQ(*conv->flops, 2 * *conv_cost.macs);
  EXPECT_EQ(conv->flops, conv_cost.flops);
  EXPECT_TRUE(conv->compute);
  EXPECT_EQ(*mm->flops, 2 * 256 * 16);
  EXPECT_EQ(*mul->flops, 16);
  EXPECT_FALSE(mul->compute);
  ASSERT_TRUE(mul->bytes.has_value());
  EXPECT_EQ(*mul->bytes, 3 * 16 * 4);  // reads m and z, writes p

  double total_share = 0;
  for (const auto& r : profile_rows(prof)) {
    total_share += r.share;
    EXPECT_EQ(r.ms, median(r.step->run_ms)) << r.step->label;  // a row's time is its median run
  }
  EXPECT_NEAR(total_share, 1.0, 1e-6);

  // Turning profiling back on starts over.
  p.set_profiling(true);
  EXPECT_EQ(p.profile().runs, 0);
}

TEST(CpuProfile, ThroughTheExecutableAndOnTheReferenceBackend) {
  std::mt19937 rng(8);
  Graph g = conv_matmul_elementwise(rng);
  auto in = inputs(rng);
  CompileOptions opts;
  auto cpu = make_backend("cpu", &opts)->compile(g, opts);
  ASSERT_TRUE(cpu->can_profile());
  cpu->set_profiling(true);
  auto got = cpu->run(in);
  cpu->run(in);
  Profile prof = cpu->profile();
  EXPECT_EQ(prof.runs, 2);
  auto summary = cpu->program_summary();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->steps, prof.steps.size());

  auto ref = make_backend("reference", &opts)->compile(g, opts);
  ASSERT_TRUE(ref->can_profile());
  ref->set_profiling(true);
  auto want = ref->run(in);
  EXPECT_LE(rel_l2(got[0], want[0]), 1e-5);
  Profile rp = ref->profile();
  EXPECT_EQ(rp.runs, 1);
  ASSERT_EQ(rp.steps.size(), g.nodes.size());  // one row per node
  for (const auto& s : rp.steps) EXPECT_EQ(s.library, "reference");
  const StepProfile* conv = find_op(rp, "Conv");
  ASSERT_TRUE(conv && conv->flops);
  EXPECT_EQ(*conv->flops, 2 * 4 * 8 * 8 * 27);  // costed from the shapes of the run
  double total_share = 0;
  for (const auto& r : profile_rows(rp)) total_share += r.share;
  EXPECT_NEAR(total_share, 1.0, 1e-6);
}

// A row's time is the step's median over the runs, not its mean: one run that stalled (preempted,
// or waiting at an OpenMP barrier for a descheduled thread) must not make a 0.05 ms model read as
// ~10 ms per run, which is what the mean of these runs gives.
TEST(CpuProfile, RowsTakeTheMedianRunSoOneStalledRunDoesNotCount) {
  EXPECT_EQ(median({}), 0);
  EXPECT_EQ(median({3}), 3);
  EXPECT_EQ(median({4, 1, 3}), 3);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  Profile p;
  p.runs = 5;
  StepProfile conv, relu;
  conv.run_ms = {0.04, 0.05, 48.0, 0.05, 0.06};
  conv.flops = 2'000'000;
  conv.compute = true;
  relu.run_ms = {0.01, 0.01, 0.01, 0.01, 0.01};
  p.steps = {conv, relu};
  auto rows = profile_rows(p);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].ms, 0.05);
  EXPECT_NEAR(rows[0].mean_ms, (0.04 + 0.05 + 48.0 + 0.05 + 0.06) / 5, 1e-12);  // what the mean would say
  EXPECT_NEAR(rows[0].share, 0.05 / 0.06, 1e-12);
  ASSERT_TRUE(rows[0].gflops.has_value());
  EXPECT_NEAR(*rows[0].gflops, 2e6 / 0.05e-3 / 1e9, 1e-9);  // 40 GFLOP/s at its typical time
  EXPECT_DOUBLE_EQ(rows[1].ms, 0.01);
}

// The same on a real run: four runs of a small input and one of a 4096x larger one (a stand-in
// for a stalled run, deterministic) on the reference backend's per-node profiler (the one the cpu
// backend uses for control-flow graphs). Each node's time is that of a small run; the mean would
// carry a fifth of the large run.
TEST(CpuProfile, OneSlowRunDoesNotSetTheNodeTimes) {
  Graph g;
  g.inputs = {"x"};
  add_named(g, "Sin", {"x"}, {"s"});
  add_named(g, "Exp", {"s"}, {"y"});
  g.outputs = {"y"};
  std::mt19937 rng(9);
  CompileOptions opts;
  auto ref = make_backend("reference", &opts)->compile(g, opts);
  ref->set_profiling(true);
  Tensor small = random_tensor({256}, rng), large = random_tensor({256 * 4096}, rng);
  double small_ms = 1e9, large_ms = 0;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ref->run({i == 2 ? large : small});
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i == 2)
      large_ms = ms;
    else
      small_ms = std::min(small_ms, ms);
  }
  Profile prof = ref->profile();
  ASSERT_EQ(prof.runs, 5);
  ASSERT_EQ(prof.steps.size(), 2u);
  double sum = 0, mean_sum = 0;
  for (const auto& r : profile_rows(prof)) {
    ASSERT_EQ(r.step->run_ms.size(), 5u) << r.step->label;
    sum += r.ms;
    mean_sum += r.mean_ms;
  }
  ASSERT_GT(large_ms, 50 * small_ms);  // the large run is the outlier it stands for
  EXPECT_LT(sum, large_ms / 20);       // the per-run sum of medians: a small run's time...
  EXPECT_GT(mean_sum, large_ms / 10);  // ...where the means (the old report) carry a fifth of the large one
}

}  // namespace
}  // namespace wafer
