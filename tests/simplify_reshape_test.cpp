// The simplify-reshape rule (src/passes/simplify_reshape.cpp): Transposes that
// only move unit dims and Reshape chains become one Reshape; and hoist-reshape
// (hoist_reshape.cpp): a Reshape after a matmul moves before it. Checked
// structurally and against the original graph on the reference backend.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/reference/interpreter.h"
#include "graph_test_util.h"
#include "passes/cpu_rules.h"
#include "passes/pass_manager.h"
#include "passes/shape_propagation.h"

namespace wafer {
namespace {

using namespace wafer::test;

// Random values in [-1, 1) from their own seed.
Tensor random_floats(const Dims& d, uint32_t seed) {
  std::mt19937 rng(seed);
  return random_tensor(d, rng);
}

int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const auto& n : g.nodes) c += n->op_type == op;
  return c;
}

// Runs the rule (after shape propagation) on a copy, checks the outputs are unchanged, returns the copy.
std::unique_ptr<Graph> simplify_and_compare(const Graph& g, bool hoist = false) {
  auto out = g.clone();
  ShapePropagation types;
  types.run(*out);
  if (hoist) {
    HoistReshape rule;
    rule.run(*out);
  } else {
    SimplifyReshape rule;
    rule.run(*out);
  }
  out->verify();
  std::vector<Tensor> inputs;
  uint32_t seed = 3;
  for (const auto& in : g.inputs) inputs.push_back(random_floats(g.types.at(in).shape.concrete(), seed++));
  Interpreter a, b;
  auto want = a.run(g, inputs), got = b.run(*out, inputs);
  EXPECT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    EXPECT_EQ(want[i].dims(), got[i].dims());
    int64_t differ = 0;
    for (int64_t e = 0; e < want[i].numel() && e < got[i].numel(); ++e)
      differ += want[i].data<float>()[e] != got[i].data<float>()[e];
    if (hoist) {
      EXPECT_LE(rel_l2(got[i], want[i]), 1e-6) << "output " << i;  // the same products, maybe summed in another order
    } else {
      EXPECT_EQ(differ, 0) << "output " << i;  // a Reshape moves no data: exact
    }
  }
  return out;
}

TEST(SimplifyReshape, TransposeOfUnitDimsBecomesReshape) {
  for (Dims perm : {Dims{1, 0, 2}, Dims{0, 2, 1, 3}, Dims{2, 1, 0, 3}}) {
    Graph g;
    g.inputs = {"x"};
    Dims xd = perm.size() == 3 ? Dims{1, 5, 6} : Dims{1, 5, 1, 6};  // only unit dims move
    g.types["x"] = ValueType{DType::Float32, Shape::from(xd)};
    add_named(g, "Transpose", {"x"}, {"y"}).attrs["perm"] = Attribute{perm};
    g.outputs = {"y"};
    SCOPED_TRACE(dims_to_string(perm));
    auto out = simplify_and_compare(g);
    EXPECT_EQ(count_op(*out, "Transpose"), 0);
    EXPECT_EQ(count_op(*out, "Reshape"), 1);
  }
}

TEST(SimplifyReshape, RealTransposesStay) {
  Graph g = input_graph({2, 1, 3});
  add_named(g, "Transpose", {"x"}, {"y"}).attrs["perm"] = Attribute{Dims{2, 1, 0}};  // swaps 2 and 3
  add_named(g, "Transpose", {"x"}, {"z"});                                           // default perm: reverse
  g.outputs = {"y", "z"};
  auto out = simplify_and_compare(g);
  EXPECT_EQ(count_op(*out, "Transpose"), 2);
  // Unknown dims: nothing to decide on.
  Graph s;
  s.inputs = {"x"};
  s.types["x"] = ValueType{DType::Float32, Shape({Dim::named("n"), 1, 4})};
  add_named(s, "Transpose", {"x"}, {"y"}).attrs["perm"] = Attribute{Dims{1, 0, 2}};
  s.outputs = {"y"};
  auto copy = s.clone();
  SimplifyReshape rule;
  EXPECT_FALSE(rule.run(*copy));
}

TEST(SimplifyReshape, ReshapeChainsCollapseUnlessTheMiddleIsRead) {
  Graph g = input_graph({4, 6});
  g.initializers["s1"] = Tensor::from_vector<int64_t>({3}, {2, 2, 6});
  g.initializers["s2"] = Tensor::from_vector<int64_t>({2}, {0, -1});  // 0 copies the input dim: depends on the input
  add_named(g, "Reshape", {"x", "s1"}, {"a"}, 14);
  add_named(g, "Reshape", {"a", "s2"}, {"b"}, 14);
  add_named(g, "Reshape", {"b", "s1"}, {"c"}, 14);
  g.outputs = {"c", "b"};  // b is also an output: c's chain starts there
  auto out = simplify_and_compare(g);
  EXPECT_EQ(count_op(*out, "Reshape"), 2);
  for (const auto& n : out->nodes) {
    if (n->outputs[0] == "b") {
      EXPECT_EQ(n->inputs[0], "x");  // [2,12] straight from x, with a constant shape
    }
  }
}

// torch's out projection: Gemm [S,E] -> Reshape [1,S,E]: the matmul takes the
// reshaped input and writes [1,S,E] itself; a last-dim change or a batched W stays.
TEST(HoistReshape, ReshapeAfterMatmulMovesToItsInput) {
  Graph g;
  g.inputs = {"a"};
  g.types["a"] = ValueType{DType::Float32, Shape::from({6, 8})};
  g.initializers["w"] = random_floats({8, 5}, 9);
  g.initializers["wb"] = random_floats({2, 8, 5}, 10);
  g.initializers["rows"] = Tensor::from_vector<int64_t>({3}, {1, 6, 5});
  g.initializers["cols"] = Tensor::from_vector<int64_t>({2}, {3, 10});
  add_named(g, "MatMul", {"a", "w"}, {"m"});
  add_named(g, "Reshape", {"m", "rows"}, {"y"}, 14);  // moves up
  add_named(g, "MatMul", {"a", "w"}, {"m2"});
  add_named(g, "Reshape", {"m2", "cols"}, {"y2"}, 14);  // changes the last dim: stays
  g.initializers["a4rows"] = Tensor::from_vector<int64_t>({3}, {2, 3, 8});
  add_named(g, "Reshape", {"a", "a4rows"}, {"ab"}, 14);
  add_named(g, "MatMul", {"ab", "wb"}, {"m3"});
  g.initializers["flat"] = Tensor::from_vector<int64_t>({2}, {6, 5});
  add_named(g, "Reshape", {"m3", "flat"}, {"y3"}, 14);  // W has batch dims: stays
  g.outputs = {"y", "y2", "y3"};
  auto out = simplify_and_compare(g, true);
  for (const auto& n : out->nodes) {
    if (n->op_type != "MatMul") continue;
    if (n->outputs[0] == "y") {
      EXPECT_NE(n->inputs[0], "a");  // reads the reshaped A
    } else {
      EXPECT_TRUE(n->outputs[0] == "m2" || n->outputs[0] == "m3") << n->outputs[0];
    }
  }
}

}  // namespace
}  // namespace wafer
