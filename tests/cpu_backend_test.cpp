// The cpu backend against the reference backend: every fast kernel and fusion
// on random shapes (odd sizes, strides, padding, dilation, groups, depthwise,
// broadcasting, batch > 1), plus the memory plan, threads and bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "backends/cpu/threading.h"
#include "graph_test_util.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;

// Runs on both backends (the expected graph may differ: fused ops vs their composition).
void expect_close(const Graph& cpu_graph, const Graph& ref_graph, const std::vector<Tensor>& inputs,
                  double tol = 1e-4) {
  auto want = run_on("reference", ref_graph, inputs);
  auto got = run_on("cpu", cpu_graph, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LE(rel_l2(got[i], want[i]), tol) << "output " << i;
}

struct ConvCase {
  Dims x;  // N, C, H, W
  int64_t oc, kh, kw, group, stride, dil;
  Dims pads;
  bool bias;
};

std::unique_ptr<Graph> conv_graph(const ConvCase& c, std::mt19937& rng, const std::string& act = "") {
  auto g = std::make_unique<Graph>();
  g->inputs = {"x"};
  g->types["x"] = f32(c.x);
  g->initializers["w"] = random_tensor({c.oc, c.x[1] / c.group, c.kh, c.kw}, rng);
  std::vector<std::string> ins = {"x", "w"};
  if (c.bias) {
    g->initializers["b"] = random_tensor({c.oc}, rng);
    ins.push_back("b");
  }
  Node& n = add(*g, "Conv", ins, {act.empty() ? "y" : "c"}, 11);
  n.attrs["group"] = Attribute{c.group};
  n.attrs["strides"] = Attribute{Dims{c.stride, c.stride}};
  n.attrs["dilations"] = Attribute{Dims{c.dil, c.dil}};
  n.attrs["pads"] = Attribute{c.pads};
  if (!act.empty()) add(*g, act, {"c"}, {"y"}, 14);
  g->outputs = {"y"};
  return g;
}

TEST(CpuBackend, ConvMatchesReferenceOnVariedShapes) {
  std::mt19937 rng(7);
  std::vector<ConvCase> cases = {
      {{1, 3, 17, 13}, 8, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true},   // odd sizes, padding
      {{2, 5, 11, 9}, 7, 3, 2, 1, 2, 1, {0, 1, 2, 0}, false},   // batch 2, stride 2, asymmetric pads
      {{1, 6, 15, 15}, 6, 3, 3, 6, 1, 1, {1, 1, 1, 1}, true},   // depthwise
      {{1, 8, 12, 10}, 12, 3, 3, 4, 1, 2, {2, 2, 2, 2}, true},  // groups + dilation
      {{3, 16, 7, 7}, 32, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true},   // pointwise, batch 3
      {{1, 4, 9, 9}, 5, 5, 5, 1, 3, 1, {2, 2, 2, 2}, false},    // big kernel, stride 3
  };
  for (const auto& c : cases) {
    auto g = conv_graph(c, rng);
    Tensor x = random_tensor(c.x, rng);
    SCOPED_TRACE(dims_to_string(c.x) + " group " + std::to_string(c.group));
    expect_close(*g, *g, {x});
  }
}

TEST(CpuBackend, ConvChainWithPoolReluAndResidualAdd) {
  // conv -> relu -> conv -> add(residual) -> maxpool -> conv -> globalavgpool: blocked layouts flow
  // between the oneDNN kernels and the layout-agnostic elementwise ones.
  std::mt19937 rng(11);
  Graph g = input_graph({2, 16, 14, 14});
  for (const char* w : {"w1", "w2", "w3"}) g.initializers[w] = random_tensor({16, 16, 3, 3}, rng, 0.2f);
  auto conv = [&](const std::string& in, const std::string& w, const std::string& out) {
    Node& n = add(g, "Conv", {in, w}, {out}, 11);
    n.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  };
  conv("x", "w1", "c1");
  add(g, "Relu", {"c1"}, {"r1"}, 14);
  conv("r1", "w2", "c2");
  add(g, "Add", {"c2", "c1"}, {"s"}, 14);
  Node& mp = add(g, "MaxPool", {"s"}, {"p"}, 12);
  mp.attrs["kernel_shape"] = Attribute{Dims{3, 3}};
  mp.attrs["strides"] = Attribute{Dims{2, 2}};
  mp.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  conv("p", "w3", "c3");
  add(g, "GlobalAveragePool", {"c3"}, {"y"}, 1);
  g.outputs = {"y", "s"};
  expect_close(g, g, {random_tensor({2, 16, 14, 14}, rng)});
}

TEST(CpuBackend, AveragePoolVariants) {
  std::mt19937 rng(3);
  for (int include_pad : {0, 1})
    for (int ceil : {0, 1}) {
      Graph g = input_graph({2, 3, 10, 11});
      Node& n = add(g, "AveragePool", {"x"}, {"y"}, 19);
      n.attrs["kernel_shape"] = Attribute{Dims{3, 2}};
      n.attrs["strides"] = Attribute{Dims{2, 2}};
      n.attrs["pads"] = Attribute{Dims{1, 0, 1, 1}};
      n.attrs["count_include_pad"] = Attribute{int64_t(include_pad)};
      n.attrs["ceil_mode"] = Attribute{int64_t(ceil)};
      g.outputs = {"y"};
      SCOPED_TRACE("include_pad " + std::to_string(include_pad) + " ceil " + std::to_string(ceil));
      expect_close(g, g, {random_tensor({2, 3, 10, 11}, rng)});
    }
}

TEST(CpuBackend, MatMulBatchedBroadcastAndGemm) {
  std::mt19937 rng(5);
  {  // batched activations x constant 2-D weights (broadcast), odd sizes
    Graph g;
    g.inputs = {"a"};
    g.types["a"] = f32({2, 3, 7, 33});
    g.initializers["b"] = random_tensor({33, 19}, rng);
    add(g, "MatMul", {"a", "b"}, {"y"});
    g.outputs = {"y"};
    expect_close(g, g, {random_tensor({2, 3, 7, 33}, rng)});
  }
  {  // both operands at run time, same batch
    Graph g;
    g.inputs = {"a", "b"};
    g.types["a"] = f32({4, 5, 9});
    g.types["b"] = f32({4, 9, 6});
    add(g, "MatMul", {"a", "b"}, {"y"});
    g.outputs = {"y"};
    expect_close(g, g, {random_tensor({4, 5, 9}, rng), random_tensor({4, 9, 6}, rng)});
  }
  {  // Gemm with transB and a bias row
    Graph g;
    g.inputs = {"a"};
    g.types["a"] = f32({3, 20});
    g.initializers["b"] = random_tensor({10, 20}, rng);
    g.initializers["c"] = random_tensor({10}, rng);
    Node& n = add(g, "Gemm", {"a", "b", "c"}, {"y"});
    n.attrs["transB"] = Attribute{int64_t(1)};
    g.outputs = {"y"};
    expect_close(g, g, {random_tensor({3, 20}, rng)});
  }
}

// Fused ops compared with the composition of plain ops on the reference backend.
TEST(CpuBackend, FusedConvWithSumAndActivations) {
  std::mt19937 rng(9);
  for (const std::string act : {"", "Relu", "Clip", "Sigmoid", "LeakyRelu", "HardSigmoid"}) {
    Dims xd = {2, 6, 9, 7};
    Tensor w = random_tensor({8, 3, 3, 3}, rng), b = random_tensor({8}, rng);
    auto build = [&](bool fused) {
      auto g = std::make_unique<Graph>();
      g->inputs = {"x", "s"};
      g->types["x"] = f32(xd);
      g->types["s"] = f32({2, 8, 5, 4});
      g->initializers["w"] = w;
      g->initializers["b"] = b;
      auto conv_attrs = [](Node& n) {
        n.attrs["group"] = Attribute{int64_t(2)};
        n.attrs["strides"] = Attribute{Dims{2, 2}};
        n.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
      };
      std::vector<float> params = act == "Clip"          ? std::vector<float>{-0.5f, 0.7f}
                                  : act == "LeakyRelu"   ? std::vector<float>{0.1f}
                                  : act == "HardSigmoid" ? std::vector<float>{0.3f, 0.4f}
                                                         : std::vector<float>{};
      if (fused) {
        Node& n = add(*g, "FusedConv", {"x", "w", "b", "s"}, {"y"}, 1);
        n.domain = "wafer";
        conv_attrs(n);
        n.attrs["activation"] = Attribute{act};
        n.attrs["activation_params"] = Attribute{params};
        g->types["y"] = f32({2, 8, 5, 4});
      } else {
        conv_attrs(add(*g, "Conv", {"x", "w", "b"}, {"c"}, 11));
        add(*g, "Add", {"c", "s"}, {act.empty() ? "y" : "a"}, 14);
        if (act == "Clip") {
          g->initializers["lo"] = Tensor::scalar(params[0]);
          g->initializers["hi"] = Tensor::scalar(params[1]);
          add(*g, "Clip", {"a", "lo", "hi"}, {"y"}, 13);
        } else if (act == "LeakyRelu") {
          add(*g, "LeakyRelu", {"a"}, {"y"}, 16).attrs["alpha"] = Attribute{params[0]};
        } else if (act == "HardSigmoid") {
          Node& n = add(*g, "HardSigmoid", {"a"}, {"y"}, 6);
          n.attrs["alpha"] = Attribute{params[0]};
          n.attrs["beta"] = Attribute{params[1]};
        } else if (!act.empty()) {
          add(*g, act, {"a"}, {"y"}, act == "Relu" ? 14 : 13);
        }
      }
      g->outputs = {"y"};
      return g;
    };
    SCOPED_TRACE("activation '" + act + "'");
    expect_close(*build(true), *build(false), {random_tensor(xd, rng), random_tensor({2, 8, 5, 4}, rng)});
  }
}

TEST(CpuBackend, FusedMatMulWithBiasSumGelu) {
  std::mt19937 rng(13);
  Tensor b = random_tensor({16, 24}, rng), bias = random_tensor({16}, rng);  // trans_b: B is [N, K]
  auto build = [&](bool fused) {
    auto g = std::make_unique<Graph>();
    g->inputs = {"a", "s"};
    g->types["a"] = f32({2, 5, 24});
    g->types["s"] = f32({2, 5, 16});
    g->initializers["bias"] = bias;
    if (fused) {
      g->initializers["b"] = b;
      Node& n = add(*g, "FusedMatMul", {"a", "b", "bias", "s"}, {"y"}, 1);
      n.domain = "wafer";
      n.attrs["trans_b"] = Attribute{int64_t(1)};
      n.attrs["activation"] = Attribute{std::string("Gelu")};
      g->types["y"] = f32({2, 5, 16});
    } else {
      g->initializers["b"] = b;
      Node& t = add(*g, "Transpose", {"b"}, {"bt"});
      t.attrs["perm"] = Attribute{Dims{1, 0}};
      add(*g, "MatMul", {"a", "bt"}, {"m"});
      add(*g, "Add", {"m", "bias"}, {"m2"}, 14);
      add(*g, "Add", {"m2", "s"}, {"z"}, 14);
      // Gelu(z) = 0.5 z (1 + erf(z / sqrt 2))
      g->initializers["rs2"] = Tensor::scalar(float(M_SQRT1_2));
      g->initializers["one"] = Tensor::scalar(1.f);
      g->initializers["half"] = Tensor::scalar(0.5f);
      add(*g, "Mul", {"z", "rs2"}, {"z1"}, 14);
      add(*g, "Erf", {"z1"}, {"e"});
      add(*g, "Add", {"e", "one"}, {"e1"}, 14);
      add(*g, "Mul", {"z", "e1"}, {"z2"}, 14);
      add(*g, "Mul", {"z2", "half"}, {"y"}, 14);
    }
    g->outputs = {"y"};
    return g;
  };
  expect_close(*build(true), *build(false), {random_tensor({2, 5, 24}, rng), random_tensor({2, 5, 16}, rng)});
  // Which oneDNN kernel took it: capped at AVX2 a 1x1 convolution over the 10 rows (matmul_kernel.cpp: oneDNN's
  // AVX2 matmul re-packs the weights every call), else the matmul.
  cpu::Program prog(build(true), {});
  prog.set_profiling(true);
  prog.run({random_tensor({2, 5, 24}, rng), random_tensor({2, 5, 16}, rng)});
  std::string kernels;
  for (const auto& st : prog.profile().steps) kernels += st.kernel + ";";
  if (cpu::cpu_isa() == cpu::Isa::avx2)
    EXPECT_NE(kernels.find("1x1"), std::string::npos) << kernels;
  else
    EXPECT_EQ(kernels.find("1x1"), std::string::npos) << kernels;
}

TEST(CpuBackend, LayerNormAndSoftmaxOverLastAxes) {
  std::mt19937 rng(29);
  for (int64_t axis : {-1, -2}) {
    Graph g = input_graph({3, 5, 37});
    Dims nd = axis == -1 ? Dims{37} : Dims{5, 37};
    g.initializers["s"] = random_tensor(nd, rng);
    g.initializers["b"] = random_tensor(nd, rng);
    Node& ln = add(g, "LayerNormalization", {"x", "s", "b"}, {"n"}, 17);
    ln.attrs["axis"] = Attribute{axis};
    ln.attrs["epsilon"] = Attribute{1e-3f};
    add(g, "Softmax", {"n"}, {"y"}, 13);
    g.outputs = {"y", "n"};
    SCOPED_TRACE("axis " + std::to_string(axis));
    expect_close(g, g, {random_tensor({3, 5, 37}, rng, 3.f)}, 1e-5);
    auto copy = g.clone();
    optimize(*copy);
    EXPECT_TRUE(cpu::Program(std::move(copy), {}).fallback_nodes().empty());  // the fast kernels ran
  }
}

TEST(CpuBackend, ElementwiseBroadcastRowsAndScalars) {
  std::mt19937 rng(31);
  Graph g = input_graph({2, 3, 5});
  g.initializers["row"] = random_tensor({5}, rng);
  g.initializers["row1"] = random_tensor({1, 5}, rng);
  g.initializers["k"] = Tensor::scalar(2.5f);
  add(g, "Add", {"x", "row"}, {"a"}, 14);
  add(g, "Div", {"a", "k"}, {"b"}, 14);
  add(g, "Sub", {"k", "b"}, {"c"}, 14);
  add(g, "Mul", {"row1", "c"}, {"d"}, 14);
  add(g, "Div", {"row", "d"}, {"y"}, 14);
  g.outputs = {"y", "c"};
  expect_close(g, g, {random_tensor({2, 3, 5}, rng)}, 1e-6);
  auto copy = g.clone();
  optimize(*copy);
  EXPECT_TRUE(cpu::Program(std::move(copy), {}).fallback_nodes().empty());
}

TEST(CpuBackend, TransposeAsReorder) {
  std::mt19937 rng(37);
  for (Dims perm : {Dims{0, 2, 1, 3}, Dims{3, 1, 0, 2}, Dims{}}) {
    Graph g = input_graph({2, 3, 5, 7});
    Node& t = add(g, "Transpose", {"x"}, {"y"});
    if (!perm.empty()) t.attrs["perm"] = Attribute{perm};
    g.outputs = {"y"};
    Tensor x = random_tensor({2, 3, 5, 7}, rng);
    auto got = run_on("cpu", g, {x}), want = run_on("reference", g, {x});
    EXPECT_EQ(got[0].dims(), want[0].dims());
    EXPECT_EQ(rel_l2(got[0], want[0]), 0.0);  // a pure copy: exact
    auto copy = g.clone();
    optimize(*copy);
    EXPECT_TRUE(cpu::Program(std::move(copy), {}).fallback_nodes().empty());
  }
}

TEST(CpuBackend, SymbolicBatchCompilesPerShape) {
  std::mt19937 rng(17);
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = ValueType{DType::Float32, Shape({Dim::named("batch"), 4, 6, 6})};
  g.initializers["w"] = random_tensor({3, 4, 3, 3}, rng);
  add(g, "Conv", {"x", "w"}, {"y"}, 11);
  g.outputs = {"y"};
  auto exe = make_backend("cpu")->compile(g, {});
  auto ref = make_backend("reference")->compile(g, {});
  for (int64_t n : {1, 3, 1}) {
    Tensor x = random_tensor({n, 4, 6, 6}, rng);
    auto got = exe->run({x}), want = ref->run({x});
    EXPECT_EQ(got[0].dims(), (Dims{n, 3, 4, 4}));
    EXPECT_LE(rel_l2(got[0], want[0]), 1e-5);
  }
  EXPECT_THROW(exe->run({random_tensor({1, 5, 6, 6}, rng)}), Error);  // wrong channel count
}

TEST(CpuBackend, MemoryPlanReusesBuffers) {
  // Eight chained convolutions: with liveness-based reuse the plan needs a few
  // activation buffers, not eight.
  std::mt19937 rng(19);
  auto g = std::make_unique<Graph>();
  g->inputs = {"x"};
  g->types["x"] = f32({1, 16, 32, 32});
  std::string prev = "x";
  for (int i = 0; i < 8; ++i) {
    std::string w = "w", y = "y";  // appended, not operator+: dodges a GCC 12 -Wrestrict false positive
    w += std::to_string(i);
    y += std::to_string(i);
    g->initializers[w] = random_tensor({16, 16, 3, 3}, rng, 0.1f);
    add(*g, "Conv", {prev, w}, {y}, 11).attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
    prev = y;
  }
  add(*g, "Relu", {prev}, {"out"}, 14);
  g->outputs = {"out"};
  optimize(*g);
  cpu::Program p(std::move(g), {});
  size_t one = 16 * 32 * 32 * sizeof(float);
  EXPECT_GE(p.planned_bytes(), one);
  EXPECT_LE(p.planned_bytes(), 3 * one);
  EXPECT_TRUE(p.fallback_nodes().empty());
}

TEST(CpuBackend, ReferenceFallbackForOpsWithoutFastKernels) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = ValueType{DType::Int64, Shape::from({2, 3})};
  add(g, "Neg", {"x"}, {"y"});
  g.outputs = {"y"};
  auto out = run_on("cpu", g, {Tensor::from_vector<int64_t>({2, 3}, {1, -2, 3, 4, 5, -6})});
  EXPECT_EQ(out[0].to_int_vector(), (std::vector<int64_t>{-1, 2, -3, -4, -5, 6}));
}

TEST(CpuBackend, ThreadsAreSettable) {
  cpu::set_threads(1);
  EXPECT_EQ(cpu::current_threads(), 1);
  cpu::set_threads(0);
  EXPECT_GE(cpu::current_threads(), 1);
}

// With AVX512_BF16 bf16 really runs (close, not exact); without it the fp32 program runs.
TEST(CpuBackend, Bf16ConvIsCloseButNotExact) {
  std::mt19937 rng(23);
  ConvCase c{{1, 32, 12, 12}, 32, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true};
  auto g = conv_graph(c, rng);
  Tensor x = random_tensor(c.x, rng);
  CompileOptions bf = bf16_options();
  auto got = run_on("cpu", *g, {x}, bf), want = run_on("reference", *g, {x});
  double err = rel_l2(got[0], want[0]);
  if (!cpu::has_avx512_bf16()) {
    EXPECT_LE(err, 1e-5);
    return;
  }
  EXPECT_LE(err, 2e-2);
  EXPECT_GT(err, 1e-6);  // bf16 really ran
}

}  // namespace
}  // namespace wafer
