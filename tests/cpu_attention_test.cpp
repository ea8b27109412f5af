// The cpu backend's fused attention (attention_kernel.h, attention_lowering.cpp)
// against the reference backend: wafer.Attention on random odd shapes with
// every mask broadcast form, each instruction-set version of the kernel on
// its own (incl. bf16 operands), and torch's seq-first multi-head attention
// built as an ONNX graph, so the Slice/Reshape/Transpose chains are read as
// views (checked: those nodes are absorbed) and compared with the unfused graph.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/attention_kernel.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "graph_test_util.h"
#include "ir/op_registry.h"
#include "passes/cpu_pipeline.h"

namespace wafer {
namespace {

using namespace wafer::test;

struct Case {
  int64_t b, h, s, sk, d, dv;
  Dims mask;  // empty: no mask
  float scale;
  int64_t kv_heads = 0;  // K/V heads (grouped-query attention: query head h reads K/V head h / (h / kv)); 0: h
  int64_t kv() const { return kv_heads ? kv_heads : h; }
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {1, 1, 1, 1, 8, 8, {}, 1.f},    // one query, one key
      {2, 3, 7, 5, 8, 8, {5}, 0.5f},  // Sk != S, mask over keys only
      {1, 12, 77, 77, 64, 64, {1, 1, 77, 77}, 0.125f},
      {3, 2, 13, 29, 80, 80, {3, 1, 1, 29}, 0.3f},  // padding mask per batch, D = 80
      {1, 2, 197, 197, 64, 64, {}, 0.125f},         // ViT's sequence
      {2, 5, 9, 33, 64, 24, {2, 5, 9, 33}, 1.7f},   // full mask, Dv != D
      {1, 4, 1, 50, 16, 16, {1, 1}, 0.25f},         // mask broadcast along keys too
      {2, 1, 40, 3, 8, 72, {40, 1}, 2.f},
      {2, 6, 7, 9, 16, 16, {7, 9}, 0.5f, 2},     // grouped-query prefill: causal-like mask rows differ
      {1, 8, 1, 40, 32, 32, {1, 40}, 0.25f, 4},  // grouped-query decode step
  };
  return c;
}

Graph attention_node_graph(const Case& c) {
  Graph g;
  g.inputs = {"q", "k", "v"};
  g.types["q"] = f32({c.b, c.h, c.s, c.d});
  g.types["k"] = f32({c.b, c.kv(), c.sk, c.d});
  g.types["v"] = f32({c.b, c.kv(), c.sk, c.dv});
  std::vector<std::string> ins = {"q", "k", "v"};
  if (!c.mask.empty()) {
    g.inputs.push_back("mask");
    g.types["mask"] = f32(c.mask);
    ins.push_back("mask");
  }
  Node& n = add_named(g, "Attention", ins, {"y"}, 1);
  n.domain = "wafer";
  n.attrs["scale"] = Attribute{c.scale};
  g.opsets["wafer"] = 1;
  g.outputs = {"y"};
  return g;
}

std::vector<Tensor> case_inputs(const Case& c, std::mt19937& rng) {
  std::vector<Tensor> in = {random_tensor({c.b, c.h, c.s, c.d}, rng, 2.f),
                            random_tensor({c.b, c.kv(), c.sk, c.d}, rng, 2.f),
                            random_tensor({c.b, c.kv(), c.sk, c.dv}, rng)};
  if (!c.mask.empty()) in.push_back(random_tensor(c.mask, rng, 3.f));
  return in;
}

std::string name_of(const Case& c) {
  return "B" + std::to_string(c.b) + " H" + std::to_string(c.h) + " S" + std::to_string(c.s) + " Sk" +
         std::to_string(c.sk) + " D" + std::to_string(c.d) + " Dv" + std::to_string(c.dv) + " KV" +
         std::to_string(c.kv()) + " mask " + dims_to_string(c.mask);
}

TEST(CpuAttention, FusedOpMatchesReferenceOnOddShapesAndMasks) {
  std::mt19937 rng(41);
  for (const Case& c : cases()) {
    SCOPED_TRACE(name_of(c));
    Graph g = attention_node_graph(c);
    auto in = case_inputs(c, rng);
    auto want = run_on("reference", g, in), got = run_on("cpu", g, in);
    EXPECT_LE(rel_l2(got[0], want[0]), 1e-5);
    auto copy = g.clone();
    cpu_pipeline(*copy);
    EXPECT_TRUE(cpu::Program(std::move(copy), {}).fallback_nodes().empty());  // the fast kernel ran
  }
}

uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float from_bf16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Each instruction set on its own, with float32 and bf16 operands and a
// strided output (Y written transposed into [S, H, Dv] rows, as in BERT).
TEST(CpuAttention, EveryInstructionSetMatchesTheReferenceKernel) {
  std::mt19937 rng(43);
  const OpSchema* ref = OpRegistry::global().find("wafer", "Attention", 1);
  ASSERT_NE(ref, nullptr);
  for (const Case& c : cases()) {
    if (c.b * c.h * c.s * c.sk > 100000) continue;  // keep the scalar runs short
    auto in = case_inputs(c, rng);
    Graph g = attention_node_graph(c);
    const Node& node = *g.nodes[0];
    std::vector<const Tensor*> ptrs;
    for (const auto& t : in) ptrs.push_back(&t);
    Tensor want = ref->kernel(KernelContext{node, ptrs})[0];
    for (bool bf16 : {false, true}) {
      // bf16 operands: the reference gets the same rounded values.
      std::vector<std::vector<uint16_t>> halves(3);
      std::vector<Tensor> rounded = in;
      if (bf16) {
        for (size_t i = 0; i < 3; ++i) {
          rounded[i] = Tensor(DType::Float32, in[i].dims());
          for (int64_t e = 0; e < in[i].numel(); ++e) {
            halves[i].push_back(to_bf16(in[i].data<float>()[e]));
            rounded[i].data<float>()[e] = from_bf16(halves[i].back());
          }
        }
        std::vector<const Tensor*> rp;
        for (const auto& t : rounded) rp.push_back(&t);
        want = ref->kernel(KernelContext{node, rp})[0];
      }
      for (const char* isa : {"avx512", "avx2", "scalar"}) {
        SCOPED_TRACE(name_of(c) + " " + isa + (bf16 ? " bf16" : ""));
        cpu::AttentionArgs a;
        a.batch = c.b, a.heads = c.h, a.s = c.s, a.sk = c.sk, a.d = c.d, a.dv = c.dv, a.scale = c.scale;
        a.threads = 2;
        a.kv_group = c.h / c.kv();
        auto operand = [&](size_t i, int64_t rows, int64_t cols) {
          cpu::AttentionOperand o;
          o.bf16 = bf16;
          o.data = bf16 ? static_cast<void*>(halves[i].data()) : in[i].raw();
          int64_t st[4] = {(i == 0 ? c.h : c.kv()) * rows * cols, rows * cols, cols, 1};
          std::memcpy(o.strides, st, sizeof st);
          return o;
        };
        a.q = operand(0, c.s, c.d), a.k = operand(1, c.sk, c.d), a.v = operand(2, c.sk, c.dv);
        // Y as [B, S, H, Dv] rows: strides of (b, h, s, e) = (S*H*Dv, Dv, H*Dv, 1), offset past a guard;
        // bf16 runs write bf16 too (as for a bf16 out projection).
        std::vector<float> y(size_t(c.b * c.s * c.h * c.dv) + 3, -7.f);
        std::vector<uint16_t> yh(y.size(), to_bf16(-7.f));
        a.y.data = bf16 ? static_cast<void*>(yh.data()) : y.data();
        a.y.bf16 = bf16;
        a.y.offset = 3;
        int64_t yst[4] = {c.s * c.h * c.dv, c.dv, c.h * c.dv, 1};
        std::memcpy(a.y.strides, yst, sizeof yst);
        if (!c.mask.empty()) {
          a.mask = in[3].data<float>();
          Dims full = {c.b, c.h, c.s, c.sk};
          int64_t stride = 1;
          for (size_t k = 0; k < c.mask.size(); ++k) {
            size_t mi = c.mask.size() - 1 - k, fi = 3 - k;
            a.mask_strides[fi] = c.mask[mi] == 1 ? 0 : stride;
            stride *= c.mask[mi];
          }
        }
        std::vector<float> scratch(cpu::attention_scratch_floats(c.b, c.h, c.s, c.sk, c.d, c.dv, a.threads));
        a.scratch = scratch.data();
        if (!cpu::attention_with(isa, a)) continue;  // the CPU lacks it
        if (bf16)
          for (size_t i = 0; i < y.size(); ++i) y[i] = from_bf16(yh[i]);
        EXPECT_EQ(y[2], -7.f);  // nothing before the offset written
        Tensor got(DType::Float32, want.dims());
        for (int64_t b = 0; b < c.b; ++b)
          for (int64_t h = 0; h < c.h; ++h)
            for (int64_t i = 0; i < c.s; ++i)
              for (int64_t e = 0; e < c.dv; ++e)
                got.data<float>()[((b * c.h + h) * c.s + i) * c.dv + e] =
                    y[size_t(3 + b * yst[0] + h * yst[1] + i * yst[2] + e)];
        // bf16 output: one rounding to 8 significant bits (relative error <= 2^-9 per element).
        EXPECT_LE(rel_l2(got, want), bf16 ? 4e-3 : 1e-5);
        if (bf16 && c.sk > 1) {
          EXPECT_GT(rel_l2(got, want), 0.0);  // really rounded (one key: Y is V's row, exact in bf16)
        }
      }
    }
  }
}

// torch nn.TransformerEncoder's self-attention block, seq-first, as exported:
//   x [B,S,E] -Transpose(1,0,2)-> [S,B,E] -MatMul+Add-> QKV [S,B,3E] -Slice x3-> [S,B,E]
//   -Reshape-> [S,B*H,Dh] -Transpose-> Q,V [B*H,S,Dh], Kt [B*H,Dh,S]; Div(Q, sqrt Dh);
//   MatMul, Softmax, MatMul -> [B*H,S,Dh] -Transpose-> [S,B*H,Dh] -Reshape-> [S*B,E]
//   -Gemm(out proj)-> -Reshape-> [S,B,E] -Transpose-> [B,S,E] + x
Graph torch_mha_graph(int64_t b, int64_t s, int64_t heads, int64_t dh, std::mt19937& rng) {
  const int64_t e = heads * dh;
  Graph g = input_graph({b, s, e});
  g.initializers["w_qkv"] = random_tensor({e, 3 * e}, rng, 0.2f);
  g.initializers["b_qkv"] = random_tensor({3 * e}, rng, 0.2f);
  g.initializers["w_o"] = random_tensor({e, e}, rng, 0.2f);
  g.initializers["b_o"] = random_tensor({e}, rng, 0.2f);
  g.initializers["div"] = Tensor::scalar(std::sqrt(float(dh)));
  g.initializers["axis"] = ints({-1});
  auto shape = [&](const std::string& name, const Dims& d) {
    g.initializers[name] = ints(d);
    return name;
  };
  auto transpose = [&](const std::string& in, const std::string& out, Dims perm) {
    add_named(g, "Transpose", {in}, {out}).attrs["perm"] = Attribute{perm};
  };
  transpose("x", "xt", {1, 0, 2});
  add_named(g, "MatMul", {"xt", "w_qkv"}, {"qkv0"});
  add_named(g, "Add", {"b_qkv", "qkv0"}, {"qkv"}, 14);
  const char* parts[] = {"q", "k", "v"};
  for (int64_t i = 0; i < 3; ++i) {
    std::string p = parts[i];
    g.initializers["st_" + p] = ints({i * e});
    g.initializers["en_" + p] = ints({(i + 1) * e});
    add_named(g, "Slice", {"qkv", "st_" + p, "en_" + p, "axis"}, {p + "_s"});
    add_named(g, "Reshape", {p + "_s", shape("sh_" + p, {s, b * heads, dh})}, {p + "_r"}, 14);
    transpose(p + "_r", p + "_h", i == 1 ? Dims{1, 2, 0} : Dims{1, 0, 2});
  }
  add_named(g, "Div", {"q_h", "div"}, {"q_d"}, 14);
  add_named(g, "MatMul", {"q_d", "k_h"}, {"scores"});
  add_named(g, "Softmax", {"scores"}, {"probs"});
  add_named(g, "MatMul", {"probs", "v_h"}, {"ctx"});
  transpose("ctx", "ctx_t", {1, 0, 2});
  add_named(g, "Reshape", {"ctx_t", shape("sh_m", {s * b, e})}, {"merged"}, 14);
  Node& gemm = add_named(g, "Gemm", {"merged", "w_o", "b_o"}, {"proj"}, 13);
  gemm.attrs["transB"] = Attribute{int64_t(1)};
  add_named(g, "Reshape", {"proj", shape("sh_o", {s, b, e})}, {"proj3"}, 14);
  transpose("proj3", "attn", {1, 0, 2});
  add_named(g, "Add", {"x", "attn"}, {"y"}, 14);
  g.outputs = {"y"};
  return g;
}

// The lowered program for g on the cpu backend (the backend's own pipeline).
std::unique_ptr<cpu::Program> lowered(const Graph& g, const CompileOptions& opts = {}) {
  auto copy = g.clone();
  cpu_pipeline(*copy);
  return std::make_unique<cpu::Program>(std::move(copy), opts);
}

TEST(CpuAttention, TorchSeqFirstBlockReadsQkvThroughViews) {
  std::mt19937 rng(47);
  for (auto [b, s, heads, dh] : {std::array<int64_t, 4>{1, 77, 4, 16}, std::array<int64_t, 4>{1, 9, 3, 8}}) {
    SCOPED_TRACE("S " + std::to_string(s));
    Graph g = torch_mha_graph(b, s, heads, dh, rng);
    Tensor x = random_tensor({b, s, heads * dh}, rng);
    auto want = run_on("reference", g, {x}), got = run_on("cpu", g, {x});
    EXPECT_LE(rel_l2(got[0], want[0]), 1e-5);
    auto p = lowered(g);
    int attention = 0;
    for (const auto& n : p->graph().nodes) {
      attention += n->op_type == "Attention";
      // Every layout node of the head split and merge is a view, and the unit-dim Transposes are Reshapes.
      bool layout =
          n->op_type == "Slice" || n->op_type == "Squeeze" || n->op_type == "Unsqueeze" || n->op_type == "Transpose";
      if (layout) {
        EXPECT_TRUE(p->absorbed(n.get())) << n->label();
      }
    }
    EXPECT_EQ(attention, 1);
    int adds = 0;
    for (const auto& n : p->graph().nodes) adds += n->op_type == "Add";
    EXPECT_EQ(adds, 0);  // the residual Add is the out projection's Sum (hoist-reshape, then fuse-matmul)
    for (const auto& f : p->fallback_nodes()) EXPECT_EQ(f.rfind("Reshape", 0), 0u) << f;  // only zero-copy Reshapes
  }
}

// Batch 2: [S,B,E] -> [S,B*H,Dh] mixes batch and heads, which strides cannot
// express: the chain stops at that Reshape (materialized) and the result is
// still right. So is a chain with an intermediate that is also a graph output.
TEST(CpuAttention, ChainsThatCannotBeViewsStillMatch) {
  std::mt19937 rng(53);
  Graph g = torch_mha_graph(2, 11, 2, 8, rng);
  Tensor x = random_tensor({2, 11, 16}, rng);
  auto want = run_on("reference", g, {x}), got = run_on("cpu", g, {x});
  EXPECT_LE(rel_l2(got[0], want[0]), 1e-5);
  Graph h = torch_mha_graph(1, 13, 2, 8, rng);
  h.outputs.push_back("k_s");    // a sliced K read outside the block
  h.outputs.push_back("ctx_t");  // and the transposed context
  Tensor x1 = random_tensor({1, 13, 16}, rng);
  auto want1 = run_on("reference", h, {x1}), got1 = run_on("cpu", h, {x1});
  ASSERT_EQ(got1.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_LE(rel_l2(got1[i], want1[i]), 1e-5) << "output " << i;
}

TEST(CpuAttention, Bf16BlockIsCloseAndNeedsNoReorders) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << kNoBf16;
  std::mt19937 rng(59);
  Graph g = torch_mha_graph(1, 33, 4, 16, rng);
  Tensor x = random_tensor({1, 33, 64}, rng);
  CompileOptions bf = bf16_options();
  auto want = run_on("reference", g, {x}), got = run_on("cpu", g, {x}, bf);
  double err = rel_l2(got[0], want[0]);
  EXPECT_LE(err, 2e-2);
  EXPECT_GT(err, 1e-6);  // bf16 really ran
  // The kernel reads the QKV projection's bf16 buffer and writes the bf16 input of the output projection.
  auto p = lowered(g, bf);
  for (const auto& l : p->step_labels()) {
    EXPECT_NE(l, "to plain qkv");
    EXPECT_NE(l, "reorder merged");
    EXPECT_NE(l, "to plain merged");
  }
}

}  // namespace
}  // namespace wafer
