// The cpu backend's copy kernels (Slice, Concat, Gather) and views (Reshape,
// Squeeze, ...) against the reference backend on random shapes, axes, negative
// indices and steps: copies are exact, so results must be bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "graph_test_util.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;

Dims random_dims(std::mt19937& rng, int rank, int64_t lo = 1, int64_t hi = 7) {
  Dims d;
  for (int i = 0; i < rank; ++i) d.push_back(std::uniform_int_distribution<int64_t>(lo, hi)(rng));
  return d;
}

// Runs g on both backends and expects identical results; unless an output is empty or a
// scalar (the reference kernels' business), expects the cpu program to use fast kernels only.
void expect_identical(const Graph& g, const std::vector<Tensor>& inputs, const std::string& what) {
  auto want = make_backend("reference")->compile(g, {})->run(inputs);
  auto got = make_backend("cpu")->compile(g, {})->run(inputs);
  EXPECT_EQ(got.size(), want.size()) << what;
  bool plain_outputs = true;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    plain_outputs = plain_outputs && want[i].numel() > 0 && want[i].rank() > 0;
    EXPECT_EQ(got[i].dims(), want[i].dims()) << what;
    if (got[i].dims() != want[i].dims()) continue;
    EXPECT_EQ(std::memcmp(got[i].raw(), want[i].raw(), got[i].nbytes()), 0) << what << " output " << i;
  }
  auto typed = g.clone();
  optimize(*typed);  // shapes, as the backend's pipeline infers them
  if (plain_outputs) {
    EXPECT_EQ(cpu::Program(std::move(typed), {}).fallback_nodes(), std::vector<std::string>{}) << what;
  }
}

// Ends with a Relu half of the time, so the copy's output is an intermediate (planned) tensor.
void finish(Graph& g, const std::string& v, bool relu) {
  if (relu) {
    g.add_node("Relu", {v}, {"out"}).op_version = 14;
    g.outputs = {"out"};
  } else {
    g.outputs = {v};
  }
}

TEST(CpuCopyKernels, SliceMatchesReference) {
  std::mt19937 rng(31);
  for (int c = 0; c < 60; ++c) {
    int rank = std::uniform_int_distribution<int>(1, 4)(rng);
    Dims xd = random_dims(rng, rank);
    std::vector<int64_t> starts, ends, axes, steps;
    for (int a = 0; a < rank; ++a) {
      if (rng() % 3 == 0) continue;  // axis left whole
      int64_t dim = xd[size_t(a)];
      auto pos = [&] { return std::uniform_int_distribution<int64_t>(-dim - 2, dim + 2)(rng); };
      int64_t step = std::uniform_int_distribution<int64_t>(1, 3)(rng) * (rng() % 3 == 0 ? -1 : 1);
      starts.push_back(pos());
      ends.push_back(pos());
      axes.push_back(rng() % 2 ? a : a - rank);  // negative axes too
      steps.push_back(step);
    }
    if (axes.empty()) continue;
    Graph g = input_graph(xd);
    g.initializers["starts"] = ints(starts);
    g.initializers["ends"] = ints(ends);
    g.initializers["axes"] = ints(axes);
    g.initializers["steps"] = ints(steps);
    g.add_node("Slice", {"x", "starts", "ends", "axes", "steps"}, {"y"}).op_version = 13;
    finish(g, "y", c % 2);
    expect_identical(g, {random_tensor(xd, rng)}, "slice case " + std::to_string(c));
  }
}

TEST(CpuCopyKernels, ConcatMatchesReference) {
  std::mt19937 rng(37);
  for (int c = 0; c < 30; ++c) {
    int rank = std::uniform_int_distribution<int>(1, 4)(rng);
    int64_t axis = std::uniform_int_distribution<int64_t>(-rank, rank - 1)(rng);
    Dims base = random_dims(rng, rank);
    Graph g;
    std::vector<Tensor> inputs;
    std::vector<std::string> names;
    int n = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int i = 0; i < n; ++i) {
      Dims d = base;
      d[size_t(axis < 0 ? axis + rank : axis)] = std::uniform_int_distribution<int64_t>(1, 5)(rng);
      std::string name = "in" + std::to_string(i);
      if (i == 1) {
        g.initializers[name] = random_tensor(d, rng);  // a constant operand
      } else {
        g.inputs.push_back(name);
        g.types[name] = ValueType{DType::Float32, Shape::from(d)};
        inputs.push_back(random_tensor(d, rng));
      }
      names.push_back(name);
    }
    g.add_node("Concat", names, {"y"}).attrs["axis"] = Attribute{axis};
    g.nodes.back()->op_version = 13;
    finish(g, "y", c % 2);
    expect_identical(g, inputs, "concat case " + std::to_string(c));
  }
}

TEST(CpuCopyKernels, GatherMatchesReference) {
  std::mt19937 rng(41);
  for (int c = 0; c < 30; ++c) {
    int rank = std::uniform_int_distribution<int>(1, 3)(rng);
    Dims xd = random_dims(rng, rank);
    int64_t axis = std::uniform_int_distribution<int64_t>(-rank, rank - 1)(rng);
    int64_t dim = xd[size_t(axis < 0 ? axis + rank : axis)];
    int irank = std::uniform_int_distribution<int>(0, 2)(rng);
    Dims id = random_dims(rng, irank, 1, 4);
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < element_count(id); ++i)
      idx.push_back(std::uniform_int_distribution<int64_t>(-dim, dim - 1)(rng));  // negative indices too
    Graph g = input_graph(xd);
    g.initializers["i"] = Tensor::from_vector<int64_t>(id, idx);
    Node& n = g.add_node("Gather", {"x", "i"}, {"y"});
    n.op_version = 13;
    n.attrs["axis"] = Attribute{axis};
    finish(g, "y", c % 2);
    expect_identical(g, {random_tensor(xd, rng)}, "gather case " + std::to_string(c));
  }
}

TEST(CpuCopyKernels, ViewsMatchReference) {
  // Reshape (with 0 and -1), Flatten (negative axis), Squeeze, Unsqueeze, Identity chained
  // over a planned intermediate; every one a view.
  std::mt19937 rng(43);
  Graph g = input_graph({3, 1, 4, 5});
  g.initializers["shape"] = ints({0, -1, 5});
  g.initializers["ax1"] = ints({1});
  g.initializers["ax2"] = ints({-1, 0});
  g.add_node("Relu", {"x"}, {"r"}).op_version = 14;
  g.add_node("Squeeze", {"r", "ax1"}, {"s"}).op_version = 13;
  g.add_node("Reshape", {"s", "shape"}, {"v"}).op_version = 14;
  g.add_node("Unsqueeze", {"v", "ax2"}, {"u"}).op_version = 13;
  Node& f = g.add_node("Flatten", {"u"}, {"f"});
  f.op_version = 13;
  f.attrs["axis"] = Attribute{int64_t(-2)};
  g.add_node("Identity", {"f"}, {"i"}).op_version = 16;
  g.add_node("Relu", {"i"}, {"out"}).op_version = 14;
  g.outputs = {"out", "v"};
  expect_identical(g, {random_tensor({3, 1, 4, 5}, rng)}, "views");
}

// In bf16 mode a copy whose readers need no fp32 tensor (a bf16 GEMM) writes a planned
// buffer, not a tensor (ViT's class-token Concat crashed on that before).
TEST(CpuCopyKernels, Bf16ConcatFeedingAMatMulWritesAPlannedBuffer) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << kNoBf16;
  std::mt19937 rng(29);
  Graph g = input_graph({5, 16});
  g.initializers["c"] = random_tensor({1, 16}, rng);
  g.initializers["w"] = random_tensor({16, 8}, rng);
  g.add_node("Concat", {"c", "x"}, {"cat"}).attrs["axis"] = Attribute{int64_t(0)};
  g.nodes.back()->op_version = 13;
  g.add_node("MatMul", {"cat", "w"}, {"y"}).op_version = 13;
  g.outputs = {"y"};
  Tensor x = random_tensor({5, 16}, rng);
  CompileOptions bf16 = bf16_options();
  auto want = make_backend("reference")->compile(g, {})->run({x});
  auto got = make_backend("cpu")->compile(g, bf16)->run({x});
  ASSERT_EQ(got[0].dims(), want[0].dims());
  EXPECT_LT(rel_l2(got[0], want[0]), 2e-2);
}

}  // namespace
}  // namespace wafer
