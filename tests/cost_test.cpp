#include <gtest/gtest.h>

#include "ir/cost.h"

namespace wafer {
namespace {

ValueType f32(std::vector<Dim> dims) {
  return ValueType{DType::Float32, Shape(std::move(dims))};
}

// A graph with one node whose input and output types are set by hand (cost
// counting reads types; it does not need the op's inference).
struct OneNode {
  Graph g;
  Node* node = nullptr;
  OneNode(const std::string& op, std::vector<std::pair<std::string, std::vector<Dim>>> inputs, std::vector<Dim> out,
          std::vector<std::string> weights = {}) {
    std::vector<std::string> names;
    for (auto& [name, dims] : inputs) {
      names.push_back(name);
      bool is_weight = std::find(weights.begin(), weights.end(), name) != weights.end();
      if (is_weight)
        g.initializers[name] = Tensor(DType::Float32, Shape(dims).concrete());
      else {
        g.types[name] = f32(dims);
        g.inputs.push_back(name);
      }
    }
    node = &g.add_node(op, names, {"y"});
    g.types["y"] = f32(std::move(out));
    g.outputs = {"y"};
  }
  NodeCost cost() const { return node_cost(g, *node); }
};

TEST(Cost, ResNet50FirstConvolution) {
  OneNode c("Conv", {{"x", {1, 3, 224, 224}}, {"w", {64, 3, 7, 7}}}, {1, 64, 112, 112}, {"w"});
  NodeCost k = c.cost();
  ASSERT_TRUE(k.macs && k.flops);
  EXPECT_EQ(*k.macs, 118013952);  // 7*7*3*64 * 112*112
  EXPECT_EQ(*k.flops, 2 * 118013952);
  EXPECT_EQ(k.param_bytes, 64 * 3 * 7 * 7 * 4);
  EXPECT_EQ(*k.bytes_read, 3 * 224 * 224 * 4);
  EXPECT_EQ(*k.bytes_written, 64 * 112 * 112 * 4);
}

TEST(Cost, ConvWithBiasAndGroups) {
  // Depthwise 3x3 over 32 channels: each output sums 1 channel x 9 taps; bias adds one FLOP per output.
  OneNode c("Conv", {{"x", {1, 32, 112, 112}}, {"w", {32, 1, 3, 3}}, {"b", {32}}}, {1, 32, 112, 112}, {"w", "b"});
  c.node->attrs["group"].value = int64_t(32);
  EXPECT_EQ(*c.cost().macs, 32 * 112 * 112 * 9);
  EXPECT_EQ(*c.cost().flops, 2 * 32 * 112 * 112 * 9 + 32 * 112 * 112);
  EXPECT_EQ(c.cost().param_bytes, (32 * 9 + 32) * 4);
}

TEST(Cost, ConvTransposeCountsPerInputElement) {
  // X [1,4,5,5], W [4,2,3,3] (C=4, M/group=2), stride 2 -> Y [1,2,11,11].
  OneNode c("ConvTranspose", {{"x", {1, 4, 5, 5}}, {"w", {4, 2, 3, 3}}}, {1, 2, 11, 11}, {"w"});
  EXPECT_EQ(*c.cost().macs, 100 * 2 * 9);
}

TEST(Cost, GemmAndBatchedMatMul) {
  OneNode g("Gemm", {{"a", {4, 5}}, {"b", {5, 6}}, {"c", {6}}}, {4, 6}, {"b", "c"});
  EXPECT_EQ(*g.cost().macs, 4 * 5 * 6);
  EXPECT_EQ(*g.cost().flops, 2 * 120 + 24);
  OneNode t("Gemm", {{"a", {5, 4}}, {"b", {5, 6}}}, {4, 6}, {"b"});
  t.node->attrs["transA"].value = int64_t(1);
  EXPECT_EQ(*t.cost().macs, 120);
  EXPECT_EQ(*t.cost().flops, 240);

  OneNode m("MatMul", {{"a", {2, 3, 4, 5}}, {"b", {2, 3, 5, 6}}}, {2, 3, 4, 6});
  EXPECT_EQ(*m.cost().macs, 2 * 3 * 4 * 6 * 5);
  EXPECT_EQ(*m.cost().bytes_read, (120 + 180) * 4);
}

TEST(Cost, PoolingElementwiseReductionsSoftmax) {
  OneNode p("MaxPool", {{"x", {1, 64, 112, 112}}}, {1, 64, 56, 56});
  p.node->attrs["kernel_shape"].value = std::vector<int64_t>{3, 3};
  EXPECT_EQ(*p.cost().macs, 0);
  EXPECT_EQ(*p.cost().flops, 64 * 56 * 56 * 9);

  OneNode gap("GlobalAveragePool", {{"x", {1, 2048, 7, 7}}}, {1, 2048, 1, 1});
  EXPECT_EQ(*gap.cost().flops, 2048 * 49);

  OneNode a("Add", {{"x", {2, 3}}, {"z", {3}}}, {2, 3});
  EXPECT_EQ(*a.cost().flops, 6);
  EXPECT_EQ(*a.cost().macs, 0);

  OneNode s("Sum", {{"x", {10}}, {"z", {10}}, {"q", {10}}}, {10});
  EXPECT_EQ(*s.cost().flops, 20);  // two additions per element

  OneNode r("ReduceMean", {{"x", {2, 3, 4}}}, {2, 1, 4});
  EXPECT_EQ(*r.cost().flops, 24);

  OneNode sm("Softmax", {{"x", {2, 10}}}, {2, 10});
  EXPECT_EQ(*sm.cost().flops, 100);

  OneNode ln("LayerNormalization", {{"x", {4, 8}}, {"g", {8}}}, {4, 8}, {"g"});
  EXPECT_EQ(*ln.cost().flops, 4 * 8 * 8);

  OneNode rs("Reshape", {{"x", {4, 8}}}, {32});
  EXPECT_EQ(*rs.cost().flops, 0);
  EXPECT_EQ(*rs.cost().bytes_written, 128);
}

TEST(Cost, UnknownIsNotZero) {
  OneNode sym("Conv", {{"x", {Dim::named("n"), 3, 8, 8}}, {"w", {4, 3, 3, 3}}}, {Dim::named("n"), 4, 6, 6}, {"w"});
  EXPECT_FALSE(sym.cost().macs.has_value());
  EXPECT_FALSE(sym.cost().flops.has_value());
  EXPECT_FALSE(sym.cost().bytes_read.has_value());
  EXPECT_EQ(sym.cost().param_bytes, 4 * 27 * 4);

  OneNode no_model("SomeCustomOp", {{"x", {4}}}, {4});
  EXPECT_FALSE(no_model.cost().flops.has_value());
  EXPECT_EQ(*no_model.cost().bytes_read, 16);  // traffic is still known

  OneNode loop("Loop", {{"x", {4}}}, {4});
  EXPECT_FALSE(loop.cost().macs.has_value());
}

TEST(Cost, GraphTotalsCountKnownAndUnknownSeparately) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({1, 4});
  g.initializers["w"] = Tensor(DType::Float32, {4, 3});
  g.add_node("MatMul", {"x", "w"}, {"h"});
  g.types["h"] = f32({1, 3});
  g.add_node("Relu", {"h"}, {"r"});
  g.types["r"] = f32({1, 3});
  g.add_node("Mystery", {"r"}, {"y"});
  g.outputs = {"y"};
  GraphCost c = graph_cost(g);
  EXPECT_EQ(c.macs, 12);
  EXPECT_EQ(c.flops, 24 + 3);
  EXPECT_EQ(c.unknown_macs, 1);
  EXPECT_EQ(c.unknown_flops, 1);
  EXPECT_EQ(c.param_count, 12);
  EXPECT_EQ(c.param_bytes, 48);
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_FALSE(c.nodes[2].cost.bytes_written.has_value());
}

}  // namespace
}  // namespace wafer
