// The cpu pipeline's decoder fusions. SiLU (src/passes/fuse_silu.cpp) into the gate projection, rotary embedding
// (src/passes/fuse_rotary.cpp, src/ops/rotary.cpp) and RMS norm (src/passes/fuse_rms_norm.cpp, src/ops/rms_norm.cpp):
// hand-computed values on both backends, and the exported decomposition fused. Grouped-query attention
// (src/passes/fuse_gqa.cpp) on the committed Llama micro decoder (2 layers, 4 query heads sharing 2 KV
// heads): in a decode step (one query row, a padding-only mask) the
// cpu pipeline's wafer.Attention reads the 2 KV heads directly and no Expand copies the cache; in a
// prefill (causal mask rows differ) it reads them as grouped heads (query head h, K/V head h / 2). Numbers:
// the prefill below and generate_test's cpu runs compare logits with the reference backend.
#include <gtest/gtest.h>

#include "frontend/onnx/importer.h"
#include "graph_test_util.h"
#include "passes/cpu_pipeline.h"

namespace wafer {
namespace {

using test::input_graph;
using test::run_on;

// The micro decoder with every input bound: batch 1, `seq` new tokens after `past` cached ones; through the
// cpu pipeline unless `fuse` is false.
std::unique_ptr<Graph> bound_decoder(int64_t seq, int64_t past, bool fuse = true) {
  Model m = import_onnx_file(std::string(WAFER_TEST_DATA_DIR) + "/decoders/llama_micro/model.onnx");
  auto g = std::move(m.graph);
  for (const auto& in : g->inputs) {
    ValueType t = *g->type_of(in);
    if (in == "input_ids" || in == "position_ids")
      t.shape = Shape::from({1, seq});
    else if (in == "attention_mask")
      t.shape = Shape::from({1, past + seq});
    else
      t.shape = Shape::from({1, 2, past, 16});
    g->types[in] = t;
  }
  if (fuse) cpu_pipeline(*g);
  return g;
}

int count(const Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node->op_type == op;
  return n;
}

TEST(CpuRmsNorm, HandComputedOnBothBackends) {
  // Rows [3, 4] and [1, -1], scale [1, 2], eps 0.5: mean squares 12.5 and 1, so the rows are divided by
  // sqrt(13) and sqrt(1.5).
  Graph g = input_graph({2, 2});
  g.initializers["scale"] = Tensor::from_vector<float>({2}, {1, 2});
  Node& n = g.add_node("RMSNorm", {"x", "scale"}, {"y"});
  n.domain = "wafer";
  n.op_version = 1;
  n.attrs["epsilon"] = Attribute{0.5f};
  g.outputs = {"y"};
  Tensor x = Tensor::from_vector<float>({2, 2}, {3, 4, 1, -1});
  const double a = std::sqrt(13.0), b = std::sqrt(1.5);
  for (const char* backend : {"reference", "cpu"}) {
    Tensor y = run_on(backend, g, {x})[0];
    EXPECT_NEAR(y.data<float>()[0], 3 / a, 1e-6) << backend;
    EXPECT_NEAR(y.data<float>()[1], 8 / a, 1e-6) << backend;
    EXPECT_NEAR(y.data<float>()[2], 1 / b, 1e-6) << backend;
    EXPECT_NEAR(y.data<float>()[3], -2 / b, 1e-6) << backend;
  }
}

TEST(CpuRmsNorm, ExportedDecompositionIsFused) {
  auto g = bound_decoder(1, 8);
  EXPECT_EQ(count(*g, "RMSNorm"), 5);  // before attention and MLP in both layers, and the final norm
  EXPECT_EQ(count(*g, "Pow"), 0);
  EXPECT_EQ(count(*g, "ReduceMean"), 0);
  EXPECT_EQ(count(*g, "Sqrt"), 0);
}

TEST(CpuRotary, HandComputedOnBothBackends) {
  // d 4, h 2: rotate_half([1,2,3,4]) = [-3,-4,1,2] and rotate_half([0,1,0,-1]) = [0,1,0,1]; cos and sin
  // one row broadcast over both rows of X.
  Graph g = input_graph({2, 4});
  g.initializers["cos"] = Tensor::from_vector<float>({1, 4}, {1, 0, 0.5f, 2});
  g.initializers["sin"] = Tensor::from_vector<float>({1, 4}, {0, 1, 1, -1});
  Node& n = g.add_node("RotaryEmbedding", {"x", "cos", "sin"}, {"y"});
  n.domain = "wafer";
  n.op_version = 1;
  g.outputs = {"y"};
  Tensor x = Tensor::from_vector<float>({2, 4}, {1, 2, 3, 4, 0, 1, 0, -1});
  const std::vector<float> want = {1, -4, 2.5f, 6, 0, 1, 0, -3};
  for (const char* backend : {"reference", "cpu"}) {
    Tensor y = run_on(backend, g, {x})[0];
    for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]) << backend << " " << i;
  }
}

TEST(CpuRotary, ExportedDecompositionIsFused) {
  auto g = bound_decoder(1, 8);
  EXPECT_EQ(count(*g, "RotaryEmbedding"), 4);  // Q and K of both layers
  EXPECT_EQ(count(*g, "Neg"), 0);
}

TEST(CpuSilu, GateMatMulTakesItAsActivation) {
  // y = silu(x W): x [1,2] = [1, -2], W = [[1, 0, 2], [0, 1, 1]] -> xW = [1, -2, 0];
  // silu(v) = v / (1 + e^-v): [0.731059, -0.238406, 0].
  Graph g = input_graph({1, 2});
  g.initializers["w"] = Tensor::from_vector<float>({2, 3}, {1, 0, 2, 0, 1, 1});
  test::add(g, "MatMul", {"x", "w"}, {"h"});
  test::add(g, "Sigmoid", {"h"}, {"s"});
  test::add(g, "Mul", {"s", "h"}, {"y"});
  g.outputs = {"y"};
  auto fused = g.clone();
  cpu_pipeline(*fused);
  EXPECT_EQ(count(*fused, "Sigmoid"), 0);
  ASSERT_EQ(count(*fused, "FusedMatMul"), 1);
  EXPECT_EQ(fused->nodes[0]->attr_string("activation"), "Silu");
  Tensor x = Tensor::from_vector<float>({1, 2}, {1, -2});
  const std::vector<float> want = {0.731059f, -0.238406f, 0};
  for (const char* backend : {"reference", "cpu"}) {
    Tensor y = run_on(backend, g, {x})[0];
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6) << backend << " " << i;
  }
  Tensor y = run_on("reference", *fused, {x})[0];  // FusedMatMul's own reference epilogue
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6) << i;
}

TEST(FuseGqa, DecodeStepReadsTheKvHeadsDirectly) {
  auto g = bound_decoder(1, 8);
  EXPECT_EQ(count(*g, "Expand"), 0);
  ASSERT_EQ(count(*g, "Attention"), 2);
  for (const auto& n : g->nodes)
    if (n->op_type == "Attention") {
      // Q: 2 groups of 2 query heads as rows; K and V: the 2 KV heads over past + 1 positions.
      EXPECT_EQ(g->type_of(n->inputs[0])->shape, Shape::from({1, 2, 2, 16})) << n->label();
      EXPECT_EQ(g->type_of(n->inputs[1])->shape, Shape::from({1, 2, 9, 16})) << n->label();
      EXPECT_EQ(g->type_of(n->inputs[2])->shape, Shape::from({1, 2, 9, 16})) << n->label();
    }
}

TEST(FuseGqa, PrefillWithACausalMaskReadsTheKvHeadsDirectly) {
  // Causal mask rows differ, so Q keeps its 4 heads and K/V stay at 2 heads: query head h reads K/V head h / 2.
  auto g = bound_decoder(5, 0);
  EXPECT_EQ(count(*g, "Expand"), 0);
  ASSERT_EQ(count(*g, "Attention"), 2);
  for (const auto& n : g->nodes)
    if (n->op_type == "Attention") {
      EXPECT_EQ(g->type_of(n->inputs[0])->shape, Shape::from({1, 4, 5, 16})) << n->label();
      EXPECT_EQ(g->type_of(n->inputs[1])->shape, Shape::from({1, 2, 5, 16})) << n->label();
      EXPECT_EQ(g->type_of(n->inputs[2])->shape, Shape::from({1, 2, 5, 16})) << n->label();
    }
  // The same logits as the exported graph (repeated heads) on the reference backend: the fused graph on the
  // reference backend (wafer.Attention's own grouped reference) and the cpu backend (its kernel at this ISA).
  auto plain = bound_decoder(5, 0, false);
  std::vector<Tensor> in;
  for (const auto& name : plain->inputs) {
    const Dims d = plain->type_of(name)->shape.concrete();
    if (name == "input_ids")
      in.push_back(Tensor::from_vector<int64_t>(d, {5, 17, 3, 42, 8}));
    else if (name == "position_ids")
      in.push_back(Tensor::from_vector<int64_t>(d, {0, 1, 2, 3, 4}));
    else if (name == "attention_mask")
      in.push_back(Tensor::from_vector<int64_t>(d, {1, 1, 1, 1, 1}));
    else
      in.push_back(Tensor(DType::Float32, d));  // empty past
  }
  const Tensor want = run_on("reference", *plain, in)[0];
  EXPECT_LT(test::rel_l2(run_on("reference", *g, in)[0], want), 1e-6);
  EXPECT_LT(test::rel_l2(run_on("cpu", *plain, in)[0], want), 1e-5);
}

}  // namespace
}  // namespace wafer
