// The cpu backend's memory behaviour: steady-state runs allocate no activation
// memory (a counting global operator new sees every allocation, tensor storage
// included), outputs never alias planned buffers, Reshape-like ops are views,
// and weights packed for oneDNN are held once (released plain, recovered exactly).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/program.h"
#include "graph_test_util.h"
#include "passes/pass_manager.h"

namespace {

// Allocation counting, switched on around the code under test only.
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_count{0}, g_bytes{0}, g_large{0};
constexpr size_t kLarge = 4096;  // every activation below is larger; oneDNN's per-call bookkeeping is smaller

void note(size_t n) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  g_count.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(int64_t(n), std::memory_order_relaxed);
  if (n >= kLarge) g_large.fetch_add(1, std::memory_order_relaxed);
}

void* allocate(size_t n, size_t align) {
  note(n);
  size_t size = std::max<size_t>(n, 1);
  void* p = align <= alignof(std::max_align_t) ? std::malloc(size)
                                               : std::aligned_alloc(align, (size + align - 1) / align * align);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(size_t n) {
  return allocate(n, 0);
}
void* operator new[](size_t n) {
  return allocate(n, 0);
}
void* operator new(size_t n, std::align_val_t a) {
  return allocate(n, size_t(a));
}
void* operator new[](size_t n, std::align_val_t a) {
  return allocate(n, size_t(a));
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace wafer {
namespace {

using namespace wafer::test;

struct Allocations {
  int64_t count, bytes, large;
};

template <typename F>
Allocations count_allocations(F&& f) {
  g_count = 0;
  g_bytes = 0;
  g_large = 0;
  g_counting = true;
  f();
  g_counting = false;
  return {g_count.load(), g_bytes.load(), g_large.load()};
}

// Conv (blocked layouts) -> Relu -> Conv + residual -> Flatten (a view) -> MatMul + bias.
std::unique_ptr<Graph> conv_graph(std::mt19937& rng) {
  auto g = std::make_unique<Graph>();
  g->inputs = {"x"};
  g->types["x"] = ValueType{DType::Float32, Shape::from({2, 8, 19, 23})};
  g->initializers["w1"] = random_tensor({16, 8, 3, 3}, rng, 0.2f);
  g->initializers["b1"] = random_tensor({16}, rng);
  g->initializers["w2"] = random_tensor({16, 16, 3, 3}, rng, 0.2f);
  g->initializers["wm"] = random_tensor({16 * 19 * 23, 10}, rng, 0.05f);
  g->initializers["bm"] = random_tensor({10}, rng);
  add(*g, "Conv", {"x", "w1", "b1"}, {"c1"}, 11).attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  add(*g, "Relu", {"c1"}, {"r1"}, 14);
  add(*g, "Conv", {"r1", "w2"}, {"c2"}, 11).attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  add(*g, "Add", {"c2", "r1"}, {"s"}, 14);
  add(*g, "Flatten", {"s"}, {"f"}, 13);
  add(*g, "MatMul", {"f", "wm"}, {"m"}, 13);
  add(*g, "Add", {"m", "bm"}, {"y"}, 14);
  g->outputs = {"y"};
  return g;
}

// MatMul + bias -> Reshape (view) -> Transpose -> Softmax -> Reshape (view) -> LayerNorm; two outputs.
std::unique_ptr<Graph> matmul_graph(std::mt19937& rng) {
  auto g = std::make_unique<Graph>();
  g->inputs = {"x"};
  g->types["x"] = ValueType{DType::Float32, Shape::from({3, 7, 40})};
  g->initializers["w"] = random_tensor({40, 64}, rng, 0.2f);
  g->initializers["b"] = random_tensor({64}, rng);
  g->initializers["shape1"] = Tensor::from_vector<int64_t>({4}, {3, 7, 8, 8});
  g->initializers["shape2"] = Tensor::from_vector<int64_t>({3}, {3, 56, 8});
  g->initializers["gamma"] = random_tensor({8}, rng);
  add(*g, "MatMul", {"x", "w"}, {"m"});
  add(*g, "Add", {"m", "b"}, {"a"}, 14);
  add(*g, "Reshape", {"a", "shape1"}, {"r"}, 14);
  add(*g, "Transpose", {"r"}, {"t"}).attrs["perm"] = Attribute{Dims{0, 2, 1, 3}};
  add(*g, "Softmax", {"t"}, {"sm"});
  add(*g, "Reshape", {"sm", "shape2"}, {"r2"}, 14);
  add(*g, "LayerNormalization", {"r2", "gamma"}, {"y"}, 17);
  add(*g, "Relu", {"a"}, {"z"}, 14);
  g->outputs = {"y", "z"};
  return g;
}

std::vector<Tensor> reference(const Graph& g, const std::vector<Tensor>& inputs) {
  return make_backend("reference")->compile(g, {})->run(inputs);
}

void expect_steady_state_allocates_only_outputs(const Graph& g, const Dims& in_dims) {
  std::mt19937 rng(5);
  Tensor x1 = random_tensor(in_dims, rng), x2 = random_tensor(in_dims, rng);
  auto want1 = reference(g, {x1}), want2 = reference(g, {x2});
  auto exe = make_backend("cpu")->compile_owned(g.clone(), {});
  auto first = exe->run({x1});  // the first run may size oneDNN's scratchpad and the like
  std::vector<Tensor> second;
  Allocations a = count_allocations([&] { second = exe->run({x2}); });
  int64_t out_bytes = 0, large_outputs = 0;
  for (const auto& t : second) {
    out_bytes += int64_t(t.nbytes());
    large_outputs += t.nbytes() >= kLarge;
  }
  // Only the outputs handed to the caller are tensor-sized; the rest is small bookkeeping
  // (the outputs vector, oneDNN's per-execute argument maps).
  EXPECT_EQ(a.large, large_outputs) << a.count << " allocations, " << a.bytes << " bytes";
  EXPECT_LE(a.bytes, out_bytes + 64 * int64_t(second.size()) + 16384) << a.count << " allocations";
  // Outputs are the caller's: the second run did not overwrite the first run's.
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_LE(rel_l2(first[i], want1[i]), 1e-5) << "output " << i;
    EXPECT_LE(rel_l2(second[i], want2[i]), 1e-5) << "output " << i;
  }
}

TEST(CpuMemory, ConvGraphSteadyStateAllocatesOnlyOutputs) {
  std::mt19937 rng(1);
  expect_steady_state_allocates_only_outputs(*conv_graph(rng), {2, 8, 19, 23});
}

TEST(CpuMemory, MatMulGraphSteadyStateAllocatesOnlyOutputs) {
  std::mt19937 rng(2);
  expect_steady_state_allocates_only_outputs(*matmul_graph(rng), {3, 7, 40});
}

TEST(CpuMemory, ReshapesAreViewsAndPlainTensorsArePlanned) {
  std::mt19937 rng(3);
  auto g = matmul_graph(rng);
  optimize(*g);
  cpu::Program p(std::move(g), {});
  EXPECT_TRUE(p.fallback_nodes().empty());
  // a, t, sm, r2 are planned plain tensors (the views r and r2 share a's and sm's blocks).
  EXPECT_GE(p.planned_bytes(), size_t(3 * 7 * 64 * 4));
}

TEST(CpuMemory, ViewsOfInputsOutputsAndFallbackResults) {
  // A view of an input, a view that is a graph output (copied: outputs are fresh), a view of a
  // reference-kernel result, and a view of a graph output read by a later step.
  Graph g = input_graph({4, 6});
  g.initializers["s1"] = Tensor::from_vector<int64_t>({3}, {2, 2, 6});
  g.initializers["ax"] = ints({0});
  add(g, "Reshape", {"x", "s1"}, {"v"}, 14);    // view of an input
  add(g, "Sin", {"v"}, {"n"});                  // reference kernel
  add(g, "Unsqueeze", {"n", "ax"}, {"u"}, 13);  // view of a reference result
  add(g, "Relu", {"u"}, {"o1"}, 14);            // output, read by the next view
  add(g, "Squeeze", {"o1", "ax"}, {"o2"}, 13);  // view of an output; is an output: a copy
  add(g, "Flatten", {"o2"}, {"f"}, 13);         // view
  add(g, "Identity", {"f"}, {"o3"}, 16);        // output
  g.outputs = {"o1", "o2", "o3"};
  std::mt19937 rng(4);
  for (int rep = 0; rep < 2; ++rep) {
    Tensor x = random_tensor({4, 6}, rng);
    auto want = reference(g, {x});
    auto exe = make_backend("cpu")->compile(g, {});
    auto got = exe->run({x});
    auto again = exe->run({random_tensor({4, 6}, rng)});
    ASSERT_EQ(got.size(), 3u);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(rel_l2(got[i], want[i]), 0.0) << "output " << i;
    EXPECT_FALSE(got[1].same_buffer(got[0]));
    EXPECT_FALSE(got[2].same_buffer(got[1]));
    EXPECT_FALSE(again[0].same_buffer(got[0]));
  }
  auto copy = g.clone();
  optimize(*copy);
  cpu::Program p(std::move(copy), {});
  ASSERT_EQ(p.fallback_nodes().size(), 1u);  // the views are no reference steps
  EXPECT_NE(p.fallback_nodes()[0].find("Sin"), std::string::npos);
}

TEST(CpuMemory, PackedWeightsAreReleasedAndRecoveredExactly) {
  std::mt19937 rng(6);
  auto g = conv_graph(rng);
  std::map<std::string, Tensor> original = g->initializers;
  std::map<std::string, Tensor> lender = g->initializers;  // a caller holding the same buffers
  auto typed = g->clone();
  optimize(*typed);
  cpu::Program p(std::move(typed), {}, &lender);
  auto released = p.released_weights();
  // Conv weights and biases and the MatMul weight are only read packed.
  for (const char* name : {"w1", "b1", "w2", "wm"}) {
    EXPECT_NE(std::find(released.begin(), released.end(), name), released.end()) << name;
    EXPECT_EQ(lender.count(name), 0u) << name << " is still held by the lender";
    Tensor back = p.recover_weight(name);
    EXPECT_EQ(back.dims(), original[name].dims());
    EXPECT_EQ(rel_l2(back, original[name]), 0.0) << name;
  }
  EXPECT_THROW(p.recover_weight("x"), Error);
}

TEST(CpuMemory, RecompileForNewShapesRecoversReleasedWeights) {
  // Symbolic batch: each new batch size compiles a new program from weights the
  // first program released (fp32: recovered exactly; bf16: rounded, still close).
  std::mt19937 rng(7);
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = ValueType{DType::Float32, Shape({Dim::named("batch"), 24})};
  g.initializers["w"] = random_tensor({24, 33}, rng);
  g.initializers["b"] = random_tensor({33}, rng);
  g.initializers["w2"] = random_tensor({40, 33}, rng);
  add(g, "MatMul", {"x", "w"}, {"m"});
  add(g, "Add", {"m", "b"}, {"a"}, 14);
  add(g, "Relu", {"a"}, {"r"}, 14);
  Node& gemm = add(g, "Gemm", {"r", "w2"}, {"y"});
  gemm.attrs["transB"] = Attribute{int64_t(1)};
  g.outputs = {"y"};
  for (Precision precision : {Precision::fp32, Precision::bf16}) {
    CompileOptions opts;
    opts.precision = precision;
    auto exe = make_backend("cpu")->compile_owned(g.clone(), opts);
    double tol = precision == Precision::fp32 ? 1e-6 : 2e-2;
    for (int64_t n : {2, 5, 2, 9}) {
      Tensor x = random_tensor({n, 24}, rng);
      auto got = exe->run({x});
      EXPECT_LE(rel_l2(got[0], reference(g, {x})[0]), tol) << precision_name(precision) << " batch " << n;
    }
  }
}

}  // namespace
}  // namespace wafer
