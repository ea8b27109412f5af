// The grouped-query attention rule (src/passes/fuse_gqa.cpp) on the committed Llama micro decoder
// (2 layers, 4 query heads sharing 2 KV heads): in a decode step (one query row, a padding-only mask) the
// cpu pipeline's wafer.Attention reads the 2 KV heads directly and no Expand copies the cache; in a
// prefill (causal mask rows differ) the rule must leave the repeated K/V alone. Numbers: generate_test's
// cpu runs compare the logits of these programs with the reference backend.
#include <gtest/gtest.h>

#include "frontend/onnx/importer.h"
#include "passes/cpu_pipeline.h"

namespace wafer {
namespace {

// The micro decoder with every input bound: batch 1, `seq` new tokens after `past` cached ones.
std::unique_ptr<Graph> bound_decoder(int64_t seq, int64_t past) {
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
  cpu_pipeline(*g);
  return g;
}

int count(const Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node->op_type == op;
  return n;
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

TEST(FuseGqa, PrefillWithACausalMaskKeepsTheRepeatedHeads) {
  auto g = bound_decoder(5, 0);
  EXPECT_EQ(count(*g, "Expand"), 4);  // K and V of both layers
  for (const auto& n : g->nodes)
    if (n->op_type == "Attention") {
      EXPECT_EQ(g->type_of(n->inputs[1])->shape, Shape::from({1, 4, 5, 16}));
    }
}

}  // namespace
}  // namespace wafer
