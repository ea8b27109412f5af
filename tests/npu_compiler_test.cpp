// The NPU compiler: program serialization, lowering, tiling errors, the op
// table's unsupported-op report, and the functional executor against the
// reference backend.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/backend.h"
#include "core/error.h"
#include "frontend/onnx/importer.h"
#include "graph_test_util.h"
#include "npu/compiler.h"
#include "npu/functional.h"

using wafer::test::random_tensor;

using namespace wafer;
using namespace wafer::npu;

namespace {

// x[1,4,6,6] -> Conv(8 filters 3x3, pad 1, group g) -> Relu -> y
std::unique_ptr<Graph> conv_relu(int64_t group) {
  auto g = std::make_unique<Graph>();
  g->name = "conv_relu";
  g->inputs = {"x"};
  g->outputs = {"y"};
  g->types["x"] = ValueType{DType::Float32, Shape::from({1, 4, 6, 6})};
  g->initializers["w"] = random_tensor({8, 4 / group, 3, 3}, 1);
  g->initializers["b"] = random_tensor({8}, 2);
  Node& c = g->add_node("Conv", {"x", "w", "b"}, {"c"}, "conv");
  c.op_version = 11;
  c.attrs["pads"] = Attribute{std::vector<int64_t>{1, 1, 1, 1}};
  c.attrs["group"] = Attribute{int64_t(group)};
  g->add_node("Relu", {"c"}, {"y"}, "relu").op_version = 14;
  g->opsets[""] = 17;
  return g;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.dims(), b.dims());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.get_double(i) - b.get_double(i)));
  return m;
}

}  // namespace

TEST(NpuProgram, JsonRoundTripAndText) {
  auto g = conv_relu(1);
  Program p = compile_for_npu(*g, load_hardware("tpu-v1"), {});
  Program q = Program::from_json(p.to_json());
  EXPECT_EQ(q.to_json(), p.to_json());
  EXPECT_EQ(q.precision, DType::Int8);  // tpu-v1 has only int8: timing in int8 by default
  std::string text = p.to_text();
  EXPECT_NE(text.find("conv Conv unit=matrix gemm=1x[36x36x8]"), std::string::npos) << text;
  EXPECT_NE(text.find("matmul"), std::string::npos);
}

TEST(NpuProgram, ValidateRejectsForwardDependencies) {
  Program p;
  p.layers.push_back(Layer{"v", "Relu", "vector"});
  Instr a{OpKind::Vector, 0, 0};
  a.elements = 4, a.op_class = "max", a.deps = {1};
  p.instrs = {a, a};
  EXPECT_THROW(p.validate(1), Error);
  nlohmann::json j = p.to_json();
  j["instrs"][0].erase("elements");
  try {
    Program::from_json(j);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("elements"), std::string::npos) << e.what();
  }
}

TEST(NpuCompiler, LowersConvToTiledMatrixLayer) {
  auto g = conv_relu(2);
  Program p = compile_for_npu(*g, load_hardware("tpu-v4"), {});
  ASSERT_EQ(p.layers.size(), 2u);
  const Layer& c = p.layers[0];
  EXPECT_EQ(c.unit, "matrix");
  EXPECT_EQ(c.groups, 2);
  EXPECT_EQ(c.gemm_m, 36);
  EXPECT_EQ(c.gemm_k, 2 * 9);
  EXPECT_EQ(c.gemm_n, 4);
  EXPECT_EQ(c.macs, 2 * 36 * 18 * 4);
  // The Relu is the conv's epilogue: applied to each output tile by the vector unit before the store,
  // so it has no instructions of its own and the conv stores the Relu's output.
  EXPECT_EQ(p.layers[1].unit, "epilogue");
  EXPECT_EQ(p.layers[1].vector_elements, 8 * 36);
  int64_t epilogue_elements = 0;
  uint64_t stored = 0;
  for (const auto& in : p.instrs) {
    EXPECT_NE(in.layer, 1);
    // A timing program's instruction stands for `replicas` alike ones on as many cores.
    if (in.kind == OpKind::Vector && in.layer == 0) epilogue_elements += in.elements * in.replicas;
    if (in.kind == OpKind::Store && in.src == MemLevel::Accumulator)
      stored += in.bytes * uint64_t(in.replicas);  // tiles leaving the array
  }
  EXPECT_EQ(epilogue_elements, 8 * 36);
  EXPECT_EQ(stored, uint64_t(8 * 36 * 2));  // bf16, each output element once
  EXPECT_EQ(p.precision, DType::BFloat16);
  EXPECT_EQ(p.weight_bytes_total, uint64_t(8 * 2 * 9 * 2));
  int matmuls = 0;
  for (const auto& in : p.instrs) matmuls += in.kind == OpKind::MatMul ? in.replicas : 0;
  EXPECT_GE(matmuls, 2);  // one per group at least
}

TEST(NpuCompiler, UnsupportedOpsAreListedTogether) {
  auto g = conv_relu(1);
  g->add_node("Einsum", {"y", "y"}, {"e1"}, "einsum_a").attrs["equation"] = Attribute{std::string("nchw,nchw->nc")};
  g->add_node("Einsum", {"y", "y"}, {"e2"}, "einsum_b").attrs["equation"] = Attribute{std::string("nchw,nchw->nc")};
  for (auto& n : g->nodes)
    if (n->op_type == "Einsum") n->op_version = 12;
  g->outputs = {"e1", "e2"};
  try {
    compile_for_npu(*g, load_hardware("tpu-v4"), {});
    FAIL() << "expected UnsupportedError";
  } catch (const UnsupportedError& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("2 node(s)"), std::string::npos) << w;
    EXPECT_NE(w.find("einsum_a"), std::string::npos) << w;
    EXPECT_NE(w.find("einsum_b"), std::string::npos) << w;
  }
}

TEST(NpuCompiler, TinyScratchpadIsAnErrorNamingLayerAndSizes) {
  auto g = conv_relu(1);
  HardwareDesc hw = load_hardware("tpu-v1", {{"cores.scratchpad.size", "1 KiB"}, {"cores.accumulator.size", "0"}});
  try {
    compile_for_npu(*g, hw, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("conv"), std::string::npos) << w;
    EXPECT_NE(w.find("36x36x8"), std::string::npos) << w;
    EXPECT_NE(w.find("1024 B"), std::string::npos) << w;
  }
}

TEST(NpuCompiler, WeightsResidentWhenTheyFitStreamedWhenNot) {
  // Two groups read the weights twice a run: they stay on chip when they fit.
  auto g = conv_relu(2);
  const std::pair<std::string, std::string> ub{"cores.scratchpad.holds_weights", "true"};
  Program big = compile_for_npu(*g, load_hardware("tpu-v1", {ub}), {});
  EXPECT_TRUE(big.layers[0].weights_resident);
  EXPECT_EQ(big.resident_weight_bytes, big.weight_bytes_total);
  // 800 B scratchpad: the 144 B of weights no longer fit next to the working set of 8-row tiles (900 B do).
  Program small = compile_for_npu(*g, load_hardware("tpu-v1", {ub, {"cores.scratchpad.size", "800"}}), {});
  EXPECT_FALSE(small.layers[0].weights_resident);
  EXPECT_EQ(small.resident_weight_bytes, 0u);
  // One group, one row tile: the weights are read once a run, and stream under the work however much room.
  Program once = compile_for_npu(*conv_relu(1), load_hardware("tpu-v1", {ub}), {});
  EXPECT_FALSE(once.layers[0].weights_resident);
  EXPECT_EQ(once.resident_weight_bytes, 0u);
  // tpu-v1 as it is: the Unified Buffer never holds weights (they come through the Weight FIFO).
  Program fifo = compile_for_npu(*g, load_hardware("tpu-v1"), {});
  EXPECT_FALSE(fifo.layers[0].weights_resident);
  EXPECT_EQ(fifo.resident_weight_bytes, 0u);
}

TEST(NpuFunctional, MatchesReferenceFp32AndBf16) {
  for (int64_t group : {1, 2, 4}) {
    auto g = conv_relu(group);
    Tensor x = random_tensor({1, 4, 6, 6}, 7);
    auto ref = make_backend("reference")->compile(*g, {})->run({x});
    CompileOptions o;
    auto npu32 = make_backend("npu:h100", &o)->compile(*g, o)->run({x});
    EXPECT_LT(max_abs_diff(ref[0], npu32[0]), 1e-5) << "group " << group;
    o.precision = Precision::bf16;
    auto npu16 = make_backend("npu:tpu-v4", &o)->compile(*g, o)->run({x});
    double d = max_abs_diff(ref[0], npu16[0]);
    EXPECT_LT(d, 0.05) << "group " << group;
    EXPECT_GT(d, 0.0) << "bf16 operands must be rounded";
  }
}

TEST(NpuFunctional, BatchedMatMulAndGemm) {
  auto g = std::make_unique<Graph>();
  g->inputs = {"a", "b"};
  g->outputs = {"y", "z"};
  g->types["a"] = ValueType{DType::Float32, Shape::from({2, 3, 5, 7})};
  g->types["b"] = ValueType{DType::Float32, Shape::from({3, 7, 4})};
  g->add_node("MatMul", {"a", "b"}, {"y"}, "mm").op_version = 13;
  g->initializers["w"] = random_tensor({6, 4}, 3);
  g->initializers["c"] = random_tensor({6}, 4);
  g->add_node("Reshape", {"y", "shape"}, {"y2"}, "rs").op_version = 14;
  g->initializers["shape"] = Tensor::from_vector<int64_t>({2}, {30, 4});
  Node& gm = g->add_node("Gemm", {"y2", "w", "c"}, {"z"}, "gemm");
  gm.op_version = 13;
  gm.attrs["transB"] = Attribute{int64_t(1)};
  gm.attrs["alpha"] = Attribute{0.5f};
  g->opsets[""] = 17;
  Tensor a = random_tensor({2, 3, 5, 7}, 5), b = random_tensor({3, 7, 4}, 6);
  auto ref = make_backend("reference")->compile(*g, {})->run({a, b});
  CompileOptions o;
  auto npu = make_backend("npu:h100", &o)->compile(*g, o)->run({a, b});
  EXPECT_LT(max_abs_diff(ref[0], npu[0]), 1e-5);
  EXPECT_LT(max_abs_diff(ref[1], npu[1]), 1e-5);
  Program p = compile_for_npu(*g, load_hardware("h100"), {});
  EXPECT_EQ(p.layers[0].groups, 6);
  EXPECT_EQ(p.layers[2].unit, "matrix");
  EXPECT_EQ(p.layers[1].unit, "none");
}

TEST(NpuFunctional, Resnet20MatchesReference) {
  Model m = import_onnx_file(std::string(WAFER_SOURCE_DIR) + "/models/resnet20/model.onnx");
  Tensor x = random_tensor({1, 3, 32, 32}, 9);
  auto ref = make_backend("reference")->compile(*m.graph, {})->run({x});
  CompileOptions o;
  auto npu = make_backend("npu:h100", &o)->compile(*m.graph, o)->run({x});
  EXPECT_LT(max_abs_diff(ref[0], npu[0]), 1e-3);
}
