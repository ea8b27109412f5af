// The cpu backend's in-place residual (a fused Sum overwrites the residual's
// buffer instead of copying it) and its ablation switches (WAFER_CPU_DISABLE):
// every variant against the reference backend, and each switch must change the
// lowered program (its fingerprint) on a graph where it applies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/ablation.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "backends/reference/interpreter.h"
#include "graph_test_util.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;
using testing::HasSubstr;

void conv(Graph& g, std::mt19937& rng, const std::string& in, const std::string& out, int64_t ic, int64_t oc) {
  std::string w = out + "_w", b = out + "_b";
  g.initializers[w] = random_tensor({oc, ic, 3, 3}, rng, 0.15f);
  g.initializers[b] = random_tensor({oc}, rng, 0.1f);
  add(g, "Conv", {in, w, b}, {out}, 11).attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
}

// What the cpu backend does with a graph (pipeline with the switches applied, then lowering).
std::unique_ptr<cpu::Program> compile(const Graph& g, const cpu::Ablation& off, const CompileOptions& o = {}) {
  auto copy = g.clone();
  CpuPipelineOptions opts;
  opts.optimize.verify = 1;
  cpu::apply_ablation(off, opts);
  cpu_pipeline(*copy, opts);
  return std::make_unique<cpu::Program>(std::move(copy), o, nullptr, off);
}

void expect_matches_reference(const Graph& g, cpu::Program& p, const std::vector<Tensor>& inputs, double tol) {
  Interpreter ref;
  auto want = ref.run(g, inputs);
  auto got = p.run(inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LE(rel_l2(got[i], want[i]), tol) << "output " << i;
}

int residual_copies(const cpu::Program& p) {
  auto counts = p.step_counts();
  return counts.count("residual") ? counts.at("residual") : 0;
}

// The start of both residual graphs below: r = relu(conv(x)), then c1 = conv(r), 32 channels.
Graph relu_conv_then_conv(std::mt19937& rng, const Dims& x) {
  Graph g = input_graph(x);
  conv(g, rng, "x", "c0", 32, 32);
  add(g, "Relu", {"c0"}, {"r"}, 14);
  conv(g, rng, "r", "c1", 32, 32);
  return g;
}

// A ResNet-style block: r = relu(conv(x)); y = relu(conv(relu(conv(r))) + r). With `r_read_later`
// r is also read after the block (its buffer must survive), with `r_output` it is a graph output.
Graph residual_block(std::mt19937& rng, bool r_read_later, bool r_output) {
  Graph g = relu_conv_then_conv(rng, {2, 32, 10, 10});
  add(g, "Relu", {"c1"}, {"t"}, 14);
  conv(g, rng, "t", "c2", 32, 32);
  add(g, "Add", {"c2", "r"}, {"s"}, 14);
  add(g, "Relu", {"s"}, {"y"}, 14);
  g.outputs = {"y"};
  if (r_read_later) {
    add(g, "Mul", {"y", "r"}, {"z"}, 14);
    g.outputs = {"z"};
  }
  if (r_output) g.outputs.push_back("r");
  return g;
}

TEST(CpuInPlaceResidual, DeadResidualIsOverwrittenWithoutACopy) {
  std::mt19937 rng(5);
  Graph g = residual_block(rng, false, false);
  Tensor x = random_tensor({2, 32, 10, 10}, rng);
  auto p = compile(g, {});
  EXPECT_EQ(residual_copies(*p), 0);
  expect_matches_reference(g, *p, {x}, 1e-5);
  // The same program with the switch off copies the residual, and its buffer cannot be shared.
  cpu::Ablation off;
  off.inplace = true;
  auto q = compile(g, off);
  EXPECT_EQ(residual_copies(*q), 1);
  EXPECT_GT(q->step_counts().at("wafer.FusedConv"), 0);
  EXPECT_NE(p->fingerprint(), q->fingerprint());
  expect_matches_reference(g, *q, {x}, 1e-5);
  // Repeated runs reuse the buffers: in-place must not leave state behind.
  expect_matches_reference(g, *p, {random_tensor({2, 32, 10, 10}, rng)}, 1e-5);
}

TEST(CpuInPlaceResidual, LiveResidualIsCopied) {
  for (bool later : {true, false}) {
    std::mt19937 rng(6);
    Graph g = residual_block(rng, later, !later);
    SCOPED_TRACE(later ? "residual read after the block" : "residual is a graph output");
    auto p = compile(g, {});
    EXPECT_EQ(residual_copies(*p), 1);
    expect_matches_reference(g, *p, {random_tensor({2, 32, 10, 10}, rng)}, 1e-5);
  }
}

TEST(CpuInPlaceResidual, ConvReadingItsOwnResidualKeepsTheCopy) {
  // y = conv(r) + r: the conv reads r while the sum writes, so r's buffer cannot be the output.
  std::mt19937 rng(7);
  Graph g = relu_conv_then_conv(rng, {1, 32, 9, 11});
  add(g, "Add", {"r", "c1"}, {"y"}, 14);
  g.outputs = {"y"};
  auto p = compile(g, {});
  EXPECT_EQ(residual_copies(*p), 1);
  expect_matches_reference(g, *p, {random_tensor({1, 32, 9, 11}, rng)}, 1e-5);
}

TEST(CpuInPlaceResidual, PlainGraphEpilogueAndBf16MatMul) {
  // Without the pipeline the lowering fuses Conv -> Add -> Relu itself; in place too.
  std::mt19937 rng(8);
  Graph g = residual_block(rng, false, false);
  Tensor x = random_tensor({2, 32, 10, 10}, rng);
  auto typed = g.clone();
  optimize(*typed);  // shapes only: no fused ops
  cpu::Program plain(std::move(typed), {});
  EXPECT_EQ(residual_copies(plain), 0);
  expect_matches_reference(g, plain, {x}, 1e-5);
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16: the f32 matmul residual is a plain tensor";
  // bf16 matmuls keep activations in planned bf16 buffers: h = a W1; y = (h W2) W3 + h; z = y W4.
  // y feeds a bf16 GEMM, so its dst is bf16 like h and the sum can overwrite h's buffer.
  Graph m;
  m.inputs = {"a"};
  m.types["a"] = f32({6, 40});
  m.initializers["w1"] = random_tensor({40, 24}, rng, 0.3f);
  m.initializers["w2"] = random_tensor({24, 24}, rng, 0.3f);
  add(m, "MatMul", {"a", "w1"}, {"h"});
  m.initializers["w3"] = random_tensor({24, 24}, rng, 0.3f);
  m.initializers["w4"] = random_tensor({24, 8}, rng, 0.3f);
  add(m, "MatMul", {"h", "w2"}, {"t"});
  add(m, "MatMul", {"t", "w3"}, {"u"});
  add(m, "Add", {"u", "h"}, {"y"}, 14);
  add(m, "MatMul", {"y", "w4"}, {"z"});
  m.outputs = {"z"};
  CompileOptions bf16 = bf16_options();
  Tensor a = random_tensor({6, 40}, rng);
  auto p = compile(m, {}, bf16);
  EXPECT_EQ(residual_copies(*p), 0);
  expect_matches_reference(m, *p, {a}, 2e-2);
  cpu::Ablation off;
  off.inplace = true;
  auto q = compile(m, off, bf16);
  EXPECT_EQ(residual_copies(*q), 1);
  expect_matches_reference(m, *q, {a}, 2e-2);
}

TEST(CpuAblation, ParsesListsAndRejectsUnknownNames) {
  EXPECT_EQ(cpu::parse_ablation(""), cpu::Ablation{});
  cpu::Ablation a = cpu::parse_ablation(" residual, inplace,,memory_reuse ");
  EXPECT_TRUE(a.residual && a.inplace && a.memory_reuse);
  EXPECT_FALSE(a.blocked || a.bias_act || a.conv_bn);
  try {
    cpu::parse_ablation("blocked,fast_mode");
    FAIL() << "unknown name accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("WAFER_CPU_DISABLE"));
    EXPECT_THAT(e.what(), HasSubstr("'fast_mode'"));
    for (const auto& s : cpu::ablation_switches()) EXPECT_THAT(e.what(), HasSubstr(s.name));
  }
}

// One graph where every switch but attention and reshape (tested with the attention
// kernel, tests/cpu_attention_test.cpp) has something to act on: Conv+BN+Relu, a residual block, pooling,
// a MatMul with bias and the erf GELU, and a decomposed layer norm.
Graph everything(std::mt19937& rng) {
  Graph g = residual_block(rng, false, false);
  g.initializers["scale"] = random_tensor({32}, rng);
  g.initializers["beta"] = random_tensor({32}, rng);
  g.initializers["mean"] = random_tensor({32}, rng);
  Tensor var = random_tensor({32}, rng);
  for (int64_t i = 0; i < 32; ++i) var.data<float>()[i] = 0.5f + std::abs(var.data<float>()[i]);
  g.initializers["var"] = var;
  conv(g, rng, "y", "c3", 32, 32);
  add(g, "BatchNormalization", {"c3", "scale", "beta", "mean", "var"}, {"bn"}, 15);
  add(g, "Relu", {"bn"}, {"br"}, 14);
  add(g, "GlobalAveragePool", {"br"}, {"gp"}, 1);
  add(g, "Flatten", {"gp"}, {"f"}, 13);
  g.initializers["wm"] = random_tensor({32, 24}, rng, 0.3f);
  g.initializers["bm"] = random_tensor({24}, rng);
  add(g, "MatMul", {"f", "wm"}, {"mm"});
  add(g, "Add", {"mm", "bm"}, {"h"}, 14);
  g.initializers["sqrt2"] = Tensor::scalar(float(std::sqrt(2.0)));
  g.initializers["one"] = Tensor::scalar(1.f);
  g.initializers["half"] = Tensor::scalar(0.5f);
  add(g, "Div", {"h", "sqrt2"}, {"hd"}, 14);
  add(g, "Erf", {"hd"}, {"he"});
  add(g, "Add", {"he", "one"}, {"h1"}, 14);
  add(g, "Mul", {"h", "h1"}, {"hm"}, 14);
  add(g, "Mul", {"hm", "half"}, {"gelu"}, 14);
  add(g, "ReduceMean", {"gelu"}, {"mu"}).attrs["axes"] = Attribute{Dims{-1}};
  add(g, "Sub", {"gelu", "mu"}, {"d"}, 14);
  add(g, "Mul", {"d", "d"}, {"d2"}, 14);
  add(g, "ReduceMean", {"d2"}, {"v"}).attrs["axes"] = Attribute{Dims{-1}};
  g.initializers["eps"] = Tensor::scalar(1e-5f);
  add(g, "Add", {"v", "eps"}, {"ve"}, 14);
  add(g, "Sqrt", {"ve"}, {"sd"});
  add(g, "Div", {"d", "sd"}, {"out"}, 14);
  g.outputs = {"out"};
  return g;
}

// Which convolutions ask for nChw16c: all of them on Zen 4 or in a graph with a grouped
// convolution, else only the 1x1 ones (conv_kernel.cpp has the measurements); none below
// AVX-512 or with the switch off. Results stay the same either way.
TEST(CpuAblation, Nchw16cPreferencePerCpuGraphAndKernel) {
  std::mt19937 rng(5);
  Graph g = input_graph({1, 32, 8, 8});
  conv(g, rng, "x", "c1", 32, 32);  // 3x3
  g.initializers["w1"] = random_tensor({32, 32, 1, 1}, rng, 0.2f);
  add(g, "Conv", {"c1", "w1"}, {"y"}, 11);
  g.outputs = {"y"};
  const Node& k3 = *g.nodes[0];
  const Node& k1 = *g.nodes[1];
  const bool avx512 = cpu::cpu_isa() == cpu::Isa::avx512;
  EXPECT_EQ(cpu::prefer_nchw16c(g, k1, {}), avx512);
  EXPECT_EQ(cpu::prefer_nchw16c(g, k3, {}), avx512 && cpu::amd_family_19h());
  cpu::Ablation off;
  off.nchw16c = true;
  EXPECT_FALSE(cpu::prefer_nchw16c(g, k1, off));
  EXPECT_FALSE(cpu::has_grouped_conv(g));
  Tensor x = random_tensor({1, 32, 8, 8}, rng);
  expect_matches_reference(g, *compile(g, {}), {x}, 1e-4);

  // A depthwise convolution anywhere in the graph: every convolution asks for nChw16c.
  g.initializers["wd"] = random_tensor({32, 1, 3, 3}, rng, 0.3f);
  Node& dw = add(g, "Conv", {"y", "wd"}, {"d"}, 11);
  dw.attrs["group"] = Attribute{int64_t(32)};
  dw.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  g.outputs = {"d"};
  EXPECT_TRUE(cpu::has_grouped_conv(g));
  EXPECT_EQ(cpu::prefer_nchw16c(g, k3, {}), avx512);
  expect_matches_reference(g, *compile(g, {}), {x}, 1e-4);
}

TEST(CpuAblation, EverySwitchChangesTheProgramAndKeepsTheResult) {
  std::mt19937 rng(21);
  Graph g = everything(rng);
  Tensor x = random_tensor({2, 32, 10, 10}, rng);
  auto base = compile(g, {});
  EXPECT_EQ(residual_copies(*base), 0);
  expect_matches_reference(g, *base, {x}, 1e-4);
  for (const auto& s : cpu::ablation_switches()) {
    SCOPED_TRACE(s.name);
    cpu::Ablation off;
    off.*s.flag = true;
    auto p = compile(g, off);
    std::string name = s.name;
    if (name == "attention" || name == "reshape")
      EXPECT_EQ(p->fingerprint(), base->fingerprint());  // nothing to fuse here
    else if (name == "nchw16c" && std::none_of(g.nodes.begin(), g.nodes.end(), [&](const auto& n) {
               return n->op_type == "Conv" && cpu::prefer_nchw16c(g, *n, {});
             }))
      EXPECT_EQ(p->fingerprint(), base->fingerprint());  // AVX-512's alone, and per CPU and graph
    else
      EXPECT_NE(p->fingerprint(), base->fingerprint());
    expect_matches_reference(g, *p, {x}, 1e-4);
  }
  // Specific effects: the reference kernels run the elementwise ops, the plan grows without reuse.
  cpu::Ablation vec;
  vec.vectorized = true;
  EXPECT_GT(compile(g, vec)->fallback_nodes().size(), base->fallback_nodes().size());
  cpu::Ablation reuse;
  reuse.memory_reuse = true;
  EXPECT_GT(compile(g, reuse)->planned_bytes(), base->planned_bytes());
  cpu::Ablation bn;
  bn.conv_bn = true;
  EXPECT_EQ(base->step_counts().count("ref BatchNormalization"), 0u);
  EXPECT_EQ(compile(g, bn)->step_counts().count("ref BatchNormalization"), 1u);
}

TEST(CpuAblation, BackendReadsTheEnvironment) {
  std::mt19937 rng(22);
  Graph g = everything(rng);
  CompileOptions o;
  auto backend = make_backend("cpu", &o);
  ASSERT_EQ(setenv("WAFER_CPU_DISABLE", "vectorized", 1), 0);
  auto fallback = backend->fallback_nodes(g, o);
  ASSERT_EQ(setenv("WAFER_CPU_DISABLE", "no_such_thing", 1), 0);
  EXPECT_THROW(backend->compile(g, o), Error);
  unsetenv("WAFER_CPU_DISABLE");
  EXPECT_GT(fallback.size(), backend->fallback_nodes(g, o).size());
}

}  // namespace
}  // namespace wafer
