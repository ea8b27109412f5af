// Fused attention and view folding in the npu compiler (compiler_attention.cpp): one layer whose HBM traffic
// is Q, K, V, the mask and the output once; never under the roofline floor; never slower than the unfused
// mapping; the same values as the reference backend, with the whole score row on chip and with
// FlashAttention's online softmax over key blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/backend.h"
#include "graph_test_util.h"
#include "npu/compiler.h"
#include "npu/evaluate.h"
#include "npu/functional.h"
#include "npu/simulator.h"

using wafer::test::random_tensor;

using namespace wafer;
using namespace wafer::npu;

namespace {

struct Shape4 {
  int64_t b, h, s, d;
};

// q, k, v [B,H,S,D], mask [B,1,S,S]: y = Softmax(q x Transpose(k) * c + mask) x v, then the head merge
// Transpose(0,2,1,3) as a graph output (a view the P x V GEMM writes through is only folded when a GEMM
// makes it for it alone, as here).
std::unique_ptr<Graph> attention_graph(Shape4 t, bool mask) {
  auto g = std::make_unique<Graph>();
  g->name = "attention";
  g->inputs = {"q", "k", "v"};
  if (mask) g->inputs.push_back("mask");
  g->outputs = {"y"};
  for (const char* n : {"q", "k", "v"}) g->types[n] = ValueType{DType::Float32, Shape::from({t.b, t.h, t.s, t.d})};
  if (mask) g->types["mask"] = ValueType{DType::Float32, Shape::from({t.b, 1, t.s, t.s})};
  g->initializers["c"] = Tensor::from_vector<float>({}, {float(1.0 / std::sqrt(double(t.d)))});
  Node& tr = g->add_node("Transpose", {"k"}, {"kt"}, "k_transpose");
  tr.op_version = 13;
  tr.attrs["perm"] = Attribute{std::vector<int64_t>{0, 1, 3, 2}};
  g->add_node("MatMul", {"q", "kt"}, {"s"}, "qk").op_version = 13;
  g->add_node("Mul", {"s", "c"}, {"s2"}, "scale").op_version = 14;
  std::string x = "s2";
  if (mask) {
    g->add_node("Add", {"s2", "mask"}, {"s3"}, "mask_add").op_version = 14;
    x = "s3";
  }
  g->add_node("Softmax", {x}, {"p"}, "softmax").op_version = 13;
  g->add_node("MatMul", {"p", "v"}, {"o"}, "pv").op_version = 13;
  Node& m = g->add_node("Transpose", {"o"}, {"y"}, "merge_heads");
  m.op_version = 13;
  m.attrs["perm"] = Attribute{std::vector<int64_t>{0, 2, 1, 3}};
  g->opsets[""] = 17;
  return g;
}

std::vector<Tensor> inputs(Shape4 t, bool mask) {
  std::vector<Tensor> in = {random_tensor({t.b, t.h, t.s, t.d}, 1), random_tensor({t.b, t.h, t.s, t.d}, 2),
                            random_tensor({t.b, t.h, t.s, t.d}, 3)};
  if (mask) in.push_back(random_tensor({t.b, 1, t.s, t.s}, 4));
  return in;
}

// Bytes the program moves to and from off-chip memory, replicas included.
uint64_t offchip_bytes(const Program& p) {
  uint64_t b = 0;
  for (const Instr& in : p.instrs)
    if ((in.kind == OpKind::Load && in.src == MemLevel::OffChip) ||
        (in.kind == OpKind::Store && in.dst == MemLevel::OffChip))
      b += in.bytes * uint64_t(in.replicas);
  return b;
}

Program compile(const Graph& g, const HardwareDesc& hw, bool fused, bool execution = false) {
  NpuCompileOptions o;
  o.precision = Precision::fp32;
  o.for_execution = execution;
  o.fuse_attention = o.fold_views = fused;
  return compile_for_npu(g, hw, o);
}

size_t layer_index(const Program& p, const std::string& name) {
  for (size_t i = 0; i < p.layers.size(); ++i)
    if (p.layers[i].name == name) return i;
  ADD_FAILURE() << "no layer " << name;
  return 0;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.dims(), b.dims());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.get_double(i) - b.get_double(i)));
  return m;
}

// A hardware whose cores cannot hold a query tile's whole score row at this length: online softmax.
HardwareDesc small_core_h100() {
  HardwareDesc hw = load_hardware("h100");
  hw.scratchpad.size_bytes = 24 * 1024;
  hw.accumulator.size_bytes = 8 * 1024;
  return hw;
}

}  // namespace

TEST(NpuAttention, OneFusedLayerReadsQkvMaskOnceAndWritesOutputOnce) {
  const Shape4 t{2, 4, 128, 64};
  auto g = attention_graph(t, true);
  const HardwareDesc hw = load_hardware("h100");
  const uint64_t qkv = 3 * uint64_t(t.b * t.h * t.s * t.d) * 4, mask = uint64_t(t.b * t.s * t.s) * 4,
                 out = uint64_t(t.b * t.h * t.s * t.d) * 4;
  for (bool execution : {true, false}) {
    Program p = compile(*g, hw, true, execution);
    const size_t qk = layer_index(p, "qk"), pv = layer_index(p, "pv");
    EXPECT_EQ(p.layers[layer_index(p, "softmax")].unit, "epilogue");
    EXPECT_EQ(p.layers[layer_index(p, "scale")].unit, "epilogue");
    EXPECT_EQ(p.layers[layer_index(p, "mask_add")].unit, "epilogue");
    EXPECT_EQ(p.layers[layer_index(p, "k_transpose")].unit, "none");  // read by a GEMM through the view
    EXPECT_EQ(p.layers[layer_index(p, "merge_heads")].unit, "none");  // written by the GEMM through the view
    EXPECT_EQ(p.layers[qk].tile_n, t.s) << "the whole score row fits a core: no key blocks";
    EXPECT_EQ(offchip_bytes(p), qkv + mask + out) << (execution ? "execution" : "timing");
    // Every instruction belongs to the fused layer: nothing else makes a pass over memory.
    for (const Instr& in : p.instrs) {
      if (in.layer < 0) continue;
      const std::string& unit = p.layers[size_t(in.layer)].unit;
      EXPECT_TRUE(size_t(in.layer) == qk || size_t(in.layer) == pv || unit == "epilogue")
          << p.layers[size_t(in.layer)].name;
    }
  }
}

// Fused with whole score rows on a core, never slower than the unfused mapping. With key blocks (an online
// softmax: small_core_h100's 24 KiB scratchpad at sequence 384) it can be: 43,469 cycles against 38,625 at
// batch 1, the unfused GEMMs tiled in the whole scratchpad; what runs (evaluate_design) is then never slower.
TEST(NpuAttention, NeverBelowTheRooflineAndNeverSlowerThanUnfused) {
  for (const Shape4 t : {Shape4{1, 16, 384, 64}, Shape4{8, 16, 384, 64}, Shape4{2, 4, 1024, 64}}) {
    for (const HardwareDesc& hw : {load_hardware("h100"), load_hardware("orin"), small_core_h100()}) {
      auto g = attention_graph(t, true);
      Program fused = compile(*g, hw, true), unfused = compile(*g, hw, false);
      const SimResult f = simulate(fused, hw), u = simulate(unfused, hw);
      const double macs = 2.0 * double(t.b * t.h * t.s * t.s * t.d);
      double rate = 0;  // the fastest datatype's: a floor for any precision
      for (const auto& [dt, r] : hw.matrix.macs_per_cycle) rate = std::max(rate, r);
      const double core_macs = std::max(1, hw.matrix.units) * rate;
      const double bpc = hw.offchip->bandwidth_bytes_per_s / hw.clock_hz;
      const double floor = std::max(macs / (core_macs * hw.cores), double(offchip_bytes(fused)) / bpc);
      const std::string what = hw.name + " s=" + std::to_string(t.s) + " b=" + std::to_string(t.b);
      EXPECT_GE(double(f.cycles), floor) << what;
      if (fused.blocked_attention) {
        NpuCompileOptions o;
        o.precision = Precision::fp32;
        EXPECT_LE(evaluate_design(*prepare_for_npu(*g, o), hw, o, false).cycles, u.cycles) << what;
      } else {
        EXPECT_LE(f.cycles, u.cycles) << what;
      }
      EXPECT_LE(offchip_bytes(fused), offchip_bytes(unfused)) << what;
      const uint64_t io = 4 * uint64_t(t.b * t.h * t.s * t.d) * 4 + uint64_t(t.b * t.s * t.s) * 4;
      // K and V re-read by several items come from the global buffer when each fits a quarter of it (else
      // from off-chip again: orin's 4 MiB L2 at these sizes).
      if (uint64_t(t.b * t.h * t.s * t.d) * 4 <= hw.global_buffer->size_bytes / 4)
        EXPECT_EQ(offchip_bytes(fused), io) << what << ": Q, K, V, mask and output once";
      else
        EXPECT_GT(offchip_bytes(fused), io) << what;
    }
  }
}

TEST(NpuAttention, OnlineSoftmaxOverKeyBlocksWhenTheScoreRowDoesNotFit) {
  const Shape4 t{1, 2, 512, 32};
  auto g = attention_graph(t, true);
  const HardwareDesc hw = small_core_h100();
  Program p = compile(*g, hw, true, true);
  EXPECT_LT(p.layers[layer_index(p, "qk")].tile_n, t.s);
  auto opt = prepare_for_npu(*g, {});
  NpuCompileOptions o;
  o.precision = Precision::fp32;
  o.for_execution = true;
  Program q = lower_for_npu(*opt, hw, o);
  auto in = inputs(t, true);
  auto ref = make_backend("reference")->compile(*g, {})->run(in);
  auto got = run_functional(*opt, q, in);
  EXPECT_LT(max_abs_diff(ref[0], got[0]), 1e-5);
}

TEST(NpuAttention, FunctionalMatchesReference) {
  for (bool mask : {false, true}) {
    const Shape4 t{2, 3, 40, 16};
    auto g = attention_graph(t, mask);
    auto in = inputs(t, mask);
    auto ref = make_backend("reference")->compile(*g, {})->run(in);
    CompileOptions o;
    auto npu = make_backend("npu:h100", &o)->compile(*g, o)->run(in);
    EXPECT_LT(max_abs_diff(ref[0], npu[0]), 1e-5) << "mask " << mask;
    Program p = compile(*g, load_hardware("h100"), true, true);
    EXPECT_EQ(p.layers[layer_index(p, "softmax")].unit, "epilogue") << "mask " << mask;
  }
}
