// One home per op: what an op costs is declared in its registration (OpSchema::cost), and both readers,
// cost reports (ir/cost.h) and the npu compiler (npu/compiler_ops.h), take it from there.
#include <gtest/gtest.h>

#include <set>

#include "ir/cost.h"
#include "ir/op_registry.h"
#include "npu/compiler_ops.h"
#include "ops/op_util.h"

namespace wafer {
namespace {

// An op that exists only in this test: its registration is the only place its cost is written.
WAFER_REGISTER_OP(test_scaled_square, {.name = "WaferTestScaledSquare",
                                       .cost = op_cost::elementwise({{"mul", 2}}, /*epilogue=*/true),
                                       .since = 1,
                                       .infer = infer_same_as_input});

Graph one_node(const std::string& op, std::vector<int64_t> dims) {
  Graph g;
  g.inputs = {"x"};
  g.outputs = {"y"};
  g.types["x"] = ValueType{DType::Float32, Shape::from(dims)};
  g.types["y"] = ValueType{DType::Float32, Shape::from(dims)};
  g.add_node(op, {"x"}, {"y"}, "n").op_version = 1;
  return g;
}

TEST(OpCost, OneRegistrationDrivesCostReportsAndTheNpu) {
  Graph g = one_node("WaferTestScaledSquare", {2, 3, 5});
  const Node& n = *g.nodes[0];
  NodeCost c = node_cost(g, n);
  ASSERT_TRUE(c.flops && c.macs);
  EXPECT_EQ(*c.flops, 30);  // one FLOP per output element
  EXPECT_EQ(*c.macs, 0);
  auto work = npu::vector_work(g, n);
  ASSERT_TRUE(work);
  ASSERT_EQ(work->size(), 1u);
  EXPECT_EQ((*work)[0].op_class, "mul");
  EXPECT_EQ((*work)[0].elements, 60);  // two multiplies per output element
  EXPECT_TRUE(npu::is_epilogue_op(n));
  EXPECT_FALSE(npu::gemm_view(g, n));
}

TEST(OpCost, FiguresFollowTheDeclaredBasis) {
  // Softmax counts 5 FLOPs and max, exp, reduce, div per *input* element; Relu is an epilogue op.
  Graph s = one_node("Softmax", {4, 8});
  EXPECT_EQ(*node_cost(s, *s.nodes[0]).flops, 5 * 32);
  auto work = npu::vector_work(s, *s.nodes[0]);
  ASSERT_TRUE(work);
  std::map<std::string, int64_t> by_class;
  for (const auto& w : *work) by_class[w.op_class] += w.elements;
  EXPECT_EQ(by_class, (std::map<std::string, int64_t>{{"div", 32}, {"exp", 32}, {"max", 32}, {"reduce", 32}}));
  EXPECT_FALSE(npu::is_epilogue_op(*s.nodes[0]));
  Graph r = one_node("Relu", {4, 8});
  EXPECT_TRUE(npu::is_epilogue_op(*r.nodes[0]));
  // Re-indexing copies say so (the npu folds them into a GEMM's addressing), and a lookup reads its rows only.
  Graph t = one_node("Transpose", {4, 8});
  EXPECT_TRUE(npu::is_strided_view(*t.nodes[0]));
  EXPECT_FALSE(npu::is_strided_view(*r.nodes[0]));
  Graph gather = one_node("Gather", {4, 8});
  EXPECT_TRUE(npu::reads_gathered_rows(*gather.nodes[0]));
  EXPECT_FALSE(npu::reads_gathered_rows(*t.nodes[0]));
  // A view moves nothing on the npu and does no arithmetic.
  Graph v = one_node("Identity", {4, 8});
  EXPECT_EQ(*node_cost(v, *v.nodes[0]).flops, 0);
  EXPECT_TRUE(npu::vector_work(v, *v.nodes[0])->empty());
}

// Every ONNX op Wafer implements says how the npu maps it, except these, which the npu reports as
// having no cost model: control flow, recurrent and signal ops, integer GEMMs, detection post-processing,
// text, and two ops that have a GEMM form not written yet (ConvTranspose as GEMM + col2im, Einsum as
// batched MatMul). Adding an op without deciding its cost fails here, naming it.
TEST(OpCost, EveryOnnxOpDeclaresItsNpuCostOrIsListedWithout) {
  const std::set<std::string> without_npu_cost = {
      "ConvInteger", "ConvTranspose", "DFT",  "Det",           "Einsum",     "GRU",
      "If",          "LSTM",          "Loop", "MatMulInteger", "MaxRoiPool", "NonMaxSuppression",
      "QLinearConv", "QLinearMatMul", "RNN",  "STFT",          "Scan",       "TfIdfVectorizer"};
  std::set<std::string> missing, listed_but_costed;
  for (const OpSchema* s : OpRegistry::global().all()) {
    if (!s->domain.empty() || s->name.rfind("WaferTest", 0) == 0) continue;
    const bool has_npu_cost = s->cost.vector || s->cost.vector_count || s->cost.gemm;
    if (!has_npu_cost && !without_npu_cost.count(s->name)) missing.insert(s->name);
    if (has_npu_cost && without_npu_cost.count(s->name)) listed_but_costed.insert(s->name);
  }
  std::string m;
  for (const auto& n : missing) m += n + " ";
  EXPECT_TRUE(missing.empty()) << "ops without an npu cost model: " << m;
  EXPECT_TRUE(listed_but_costed.empty());
}

}  // namespace
}  // namespace wafer
