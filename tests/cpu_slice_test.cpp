// Slice on the cpu backend (slice_kernel.cpp, a strided oneDNN reorder)
// against the reference backend: negative and clamped starts and ends,
// several axes, axes omitted, the attribute form of opset 1; plus the bf16
// input of a bf16 matmul and the cases left to the reference kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "graph_test_util.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;

struct SliceCase {
  std::vector<int64_t> starts, ends, axes, steps;  // axes/steps empty: omitted
};

TEST(CpuSlice, MatchesReferenceExactly) {
  std::mt19937 rng(61);
  const Dims xd = {3, 7, 10};
  std::vector<SliceCase> cases = {
      {{8}, {10}, {-1}, {}},           // last axis, negative axis
      {{-4}, {100}, {2}, {1}},         // negative start, end clamped
      {{1, 2}, {3, -1}, {0, 1}, {}},   // two axes, negative end
      {{0, 0, 5}, {1, 7, 6}, {}, {}},  // axes omitted
      {{-100}, {2}, {1}, {}},          // start clamped to 0
  };
  for (const auto& c : cases) {
    Graph g = input_graph(xd);
    g.initializers["st"] = ints(c.starts);
    g.initializers["en"] = ints(c.ends);
    std::vector<std::string> ins = {"x", "st", "en"};
    if (!c.axes.empty()) {
      g.initializers["ax"] = ints(c.axes);
      ins.push_back("ax");
      if (!c.steps.empty()) {
        g.initializers["sp"] = ints(c.steps);
        ins.push_back("sp");
      }
    }
    g.add_node("Slice", ins, {"y"}).op_version = 13;
    g.outputs = {"y"};
    Tensor x = random_tensor(xd, rng);
    auto want = run_on("reference", g, {x}), got = run_on("cpu", g, {x});
    SCOPED_TRACE(dims_to_string(c.starts) + " " + dims_to_string(c.ends));
    ASSERT_EQ(got[0].dims(), want[0].dims());
    for (int64_t i = 0; i < want[0].numel(); ++i) ASSERT_EQ(got[0].data<float>()[i], want[0].data<float>()[i]);
    auto copy = g.clone();
    optimize(*copy);
    EXPECT_TRUE(cpu::Program(std::move(copy), {}).fallback_nodes().empty());  // the reorder ran
  }
}

TEST(CpuSlice, StepsAndAttributesFormsStillMatch) {
  std::mt19937 rng(67);
  // Step 2: not a strided reorder; the copy kernel (copy_kernel.cpp) runs it.
  Graph g = input_graph({4, 9});
  g.initializers["st"] = ints({1});
  g.initializers["en"] = ints({9});
  g.initializers["ax"] = ints({1});
  g.initializers["sp"] = ints({2});
  g.add_node("Slice", {"x", "st", "en", "ax", "sp"}, {"y"}, "step2").op_version = 13;
  // Opset 1: starts/ends/axes as attributes.
  Node& old = g.add_node("Slice", {"x"}, {"z"}, "attrs");
  old.op_version = 1;
  old.attrs["starts"] = Attribute{Dims{1, 2}};
  old.attrs["ends"] = Attribute{Dims{3, 8}};
  old.attrs["axes"] = Attribute{Dims{0, 1}};
  g.outputs = {"y", "z"};
  Tensor x = random_tensor({4, 9}, rng);
  auto want = run_on("reference", g, {x}), got = run_on("cpu", g, {x});
  for (size_t o = 0; o < 2; ++o) {
    ASSERT_EQ(got[o].dims(), want[o].dims());
    for (int64_t i = 0; i < want[o].numel(); ++i) EXPECT_EQ(got[o].data<float>()[i], want[o].data<float>()[i]);
  }
  auto copy = g.clone();
  optimize(*copy);
  EXPECT_TRUE(cpu::Program(std::move(copy), {}).fallback_nodes().empty());
}

// With --precision bf16 a matmul writes bf16; the Slice reads that buffer as it is.
TEST(CpuSlice, ReadsABf16MatmulOutputDirectly) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << kNoBf16;
  std::mt19937 rng(71);
  Graph g = input_graph({5, 16});
  g.initializers["w"] = random_tensor({16, 48}, rng);
  g.initializers["st"] = ints({16});
  g.initializers["en"] = ints({32});
  g.initializers["ax"] = ints({1});
  g.add_node("MatMul", {"x", "w"}, {"m"}).op_version = 13;
  g.add_node("Slice", {"m", "st", "en", "ax"}, {"y"}, "mid").op_version = 13;
  g.outputs = {"y"};
  Tensor x = random_tensor({5, 16}, rng);
  CompileOptions bf = bf16_options();
  auto want = run_on("reference", g, {x}), got = run_on("cpu", g, {x}, bf);
  double err = rel_l2(got[0], want[0]);
  EXPECT_LE(err, 2e-2);
  EXPECT_GT(err, 1e-6);  // the matmul really ran in bf16
  auto copy = g.clone();
  optimize(*copy);
  for (const auto& l : cpu::Program(std::move(copy), bf).step_labels()) EXPECT_NE(l, "to plain m");
}

}  // namespace
}  // namespace wafer
