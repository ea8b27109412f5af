// Strided views through layout chains (src/ir/view_chain.h): the view ops on
// their own, then traced chains checked element by element against the
// reference backend (reading the source buffer through the view must give
// the traced value), and chains that must stop.
#include <gtest/gtest.h>

#include <numeric>

#include "backends/backend.h"
#include "graph_test_util.h"
#include "ir/view_chain.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;

std::string shape_const(Graph& g, const std::string& name, const Dims& d) {
  g.initializers[name] = ints(d);
  return name;
}

Tensor iota_tensor(const Dims& d) {
  Tensor t(DType::Float32, d);
  std::iota(t.data<float>(), t.data<float>() + t.numel(), 0.f);
  return t;
}

// Element i (row-major) of the view's dims, read from `buf` through the view.
float at(const Tensor& buf, const StridedView& v, int64_t i) {
  int64_t off = v.offset;
  for (size_t k = v.dims.size(); k-- > 0;) {
    off += (i % v.dims[k]) * v.strides[k];
    i /= v.dims[k];
  }
  return buf.data<float>()[off];
}

// Runs g on the reference backend with every value an output, returning value -> tensor.
std::map<std::string, Tensor> evaluate(const Graph& g, const Tensor& x) {
  auto copy = g.clone();
  copy->outputs.clear();
  for (const auto& n : copy->nodes) copy->outputs.push_back(n->outputs[0]);
  copy->outputs.push_back("x");
  auto exe = make_backend("reference")->compile(*copy, {});
  auto out = exe->run({x});
  std::map<std::string, Tensor> m;
  for (size_t i = 0; i < out.size(); ++i) m[copy->outputs[i]] = out[i];
  return m;
}

// Runs g on an iota input "x" and expects `value` to read, element by element, as c's source through c's view.
void expect_view_matches(const Graph& g, const std::string& value, const ViewChain& c) {
  auto vals = evaluate(g, iota_tensor(g.types.at("x").shape.concrete()));
  const Tensor& want = vals.at(value);
  const Tensor& src = vals.at(c.source);
  ASSERT_EQ(c.view.dims, want.dims()) << c.view.str();
  for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(at(src, c.view, i), want.data<float>()[i]) << "element " << i;
}

TEST(StridedView, ReshapeSplitsAndMergesContiguousDims) {
  auto v = StridedView::row_major({4, 6});
  auto r = reshape_view(v, {2, 2, 3, 2});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->strides, (Dims{12, 6, 2, 1}));
  // Transposed [6,4] view: splitting each dim works, merging them does not.
  auto t = transpose_view(v, {1, 0});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->strides, (Dims{1, 6}));
  auto split = reshape_view(*t, {3, 2, 4});
  ASSERT_TRUE(split);
  EXPECT_EQ(split->strides, (Dims{2, 1, 6}));
  EXPECT_FALSE(reshape_view(*t, {24}));
  EXPECT_FALSE(reshape_view(*t, {4, 6}));
  // Unit dims anywhere; element count must match.
  auto u = reshape_view(*t, {1, 6, 1, 4, 1});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->strides[1], 1);
  EXPECT_EQ(u->strides[3], 6);
  EXPECT_FALSE(reshape_view(v, {5, 5}));
}

TEST(StridedView, SliceAndTransposeCheckTheirArguments) {
  auto v = StridedView::row_major({3, 10});
  auto s = slice_view(v, 1, 4, 5);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->offset, 4);
  EXPECT_EQ(s->dims, (Dims{3, 5}));
  EXPECT_FALSE(s->is_row_major());
  EXPECT_TRUE(v.is_row_major());
  EXPECT_FALSE(slice_view(v, 1, 8, 5));
  EXPECT_FALSE(slice_view(v, 2, 0, 1));
  EXPECT_FALSE(transpose_view(v, {0, 0}));
  EXPECT_FALSE(transpose_view(v, {0}));
}

// torch's seq-first multi-head split of a packed QKV projection.
TEST(ViewChain, TorchQkvSplitIsOneViewOfTheProjection) {
  Graph g = input_graph({5, 1, 36});  // [S, B, 3*H*D], H=3, D=4
  g.initializers["st"] = ints({12});
  g.initializers["en"] = ints({24});
  g.initializers["ax"] = ints({-1});
  g.initializers["ax0"] = ints({0});
  add_named(g, "Slice", {"x", "st", "en", "ax"}, {"k"});
  add_named(g, "Reshape", {"k", shape_const(g, "s1", {5, 3, 4})}, {"kr"});
  add_named(g, "Transpose", {"kr"}, {"kh"}).attrs["perm"] = Attribute{Dims{1, 0, 2}};
  add_named(g, "Unsqueeze", {"kh", "ax0"}, {"k4"});
  add_named(g, "Neg", {"k4"}, {"y"});
  g.outputs = {"y"};
  optimize(g);
  ViewChain c = trace_view_back(g, "k4");
  EXPECT_EQ(c.source, "x");
  EXPECT_EQ(c.nodes.size(), 4u);
  EXPECT_EQ(c.view.offset, 12);
  EXPECT_EQ(c.view.dims, (Dims{1, 3, 5, 4}));
  EXPECT_EQ(c.view.strides[1], 4);
  EXPECT_EQ(c.view.strides[2], 36);
  EXPECT_EQ(c.view.strides[3], 1);
  expect_view_matches(g, "k4", c);
}

// Head merge: [1,H,S,D] -> Squeeze -> Transpose -> Reshape [S, H*D]: the
// attention output as a view of the merged rows.
TEST(ViewChain, HeadMergeTracesForward) {
  Graph g = input_graph({1, 3, 5, 4});
  g.initializers["ax0"] = ints({0});
  add_named(g, "Relu", {"x"}, {"y"});
  add_named(g, "Squeeze", {"y", "ax0"}, {"y3"});
  add_named(g, "Transpose", {"y3"}, {"yt"}).attrs["perm"] = Attribute{Dims{1, 0, 2}};
  add_named(g, "Reshape", {"yt", shape_const(g, "s", {5, 12})}, {"z"});
  add_named(g, "Neg", {"z"}, {"out"});
  g.outputs = {"out"};
  optimize(g);
  ViewChain c = trace_view_forward(g, "y");
  EXPECT_EQ(c.source, "z");
  EXPECT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.view.dims, (Dims{1, 3, 5, 4}));
  EXPECT_EQ(c.view.strides[1], 4);
  EXPECT_EQ(c.view.strides[2], 12);
  // Reading z through the view gives y back.
  expect_view_matches(g, "y", c);
}

// A Reshape that merges dims a Transpose separated cannot be a view: the
// backward chain starts after it (that value is materialized).
TEST(ViewChain, InexpressibleReshapeStopsTheChain) {
  Graph g = input_graph({4, 6});
  add_named(g, "Transpose", {"x"}, {"t"}).attrs["perm"] = Attribute{Dims{1, 0}};
  add_named(g, "Reshape", {"t", shape_const(g, "s", {24})}, {"flat"});
  add_named(g, "Reshape", {"flat", shape_const(g, "s2", {2, 12})}, {"r"});
  add_named(g, "Neg", {"r"}, {"y"});
  g.outputs = {"y"};
  optimize(g);
  ViewChain c = trace_view_back(g, "r");
  EXPECT_EQ(c.source, "flat");
  ASSERT_EQ(c.nodes.size(), 1u);
  EXPECT_EQ(c.nodes[0]->outputs[0], "r");
  EXPECT_TRUE(c.view.is_row_major());
  expect_view_matches(g, "r", c);
  // Forward: y [24] -> Reshape [6,4] -> Transpose -> z. Seen from z, y would merge
  // two dims a Transpose separated, so the chain ends at the Reshape's output.
  Graph h = input_graph({24});
  add_named(h, "Relu", {"x"}, {"y"});
  add_named(h, "Reshape", {"y", shape_const(h, "s", {6, 4})}, {"a"});
  add_named(h, "Transpose", {"a"}, {"z"}).attrs["perm"] = Attribute{Dims{1, 0}};
  add_named(h, "Neg", {"z"}, {"out"});
  h.outputs = {"out"};
  optimize(h);
  ViewChain f = trace_view_forward(h, "y");
  EXPECT_EQ(f.source, "a");
  ASSERT_EQ(f.nodes.size(), 1u);
  EXPECT_EQ(f.nodes[0]->op_type, "Reshape");
  expect_view_matches(h, "y", f);
  // From a, the Transpose alone is a view: a is z read with swapped strides.
  ViewChain fa = trace_view_forward(h, "a");
  EXPECT_EQ(fa.source, "z");
  EXPECT_EQ(fa.view.strides, (Dims{1, 6}));
  expect_view_matches(h, "a", fa);
}

TEST(ViewChain, OtherReadersGraphOutputsAndFiltersStopTheChain) {
  Graph g = input_graph({2, 3, 4});
  add_named(g, "Transpose", {"x"}, {"a"}).attrs["perm"] = Attribute{Dims{2, 0, 1}};
  add_named(g, "Reshape", {"a", shape_const(g, "s", {4, 6})}, {"b"});
  add_named(g, "Neg", {"a"}, {"other"});  // a has a second reader
  add_named(g, "Neg", {"b"}, {"y"});
  g.outputs = {"y", "other"};
  optimize(g);
  ViewChain c = trace_view_back(g, "b");
  EXPECT_EQ(c.source, "a");
  EXPECT_EQ(c.nodes.size(), 1u);
  // A filter refusing the Reshape: nothing is traced.
  ViewChain none = trace_view_back(g, "b", [](const Node& n) { return n.op_type != "Reshape"; });
  EXPECT_EQ(none.source, "b");
  EXPECT_TRUE(none.nodes.empty());
  // Forward, a value that is also a graph output ends the chain.
  Graph h = input_graph({2, 3});
  add_named(h, "Relu", {"x"}, {"r"});
  add_named(h, "Transpose", {"r"}, {"t"}).attrs["perm"] = Attribute{Dims{1, 0}};
  add_named(h, "Reshape", {"t", shape_const(h, "s", {6})}, {"flat"});
  h.outputs = {"flat", "t"};
  optimize(h);
  ViewChain f = trace_view_forward(h, "r");
  EXPECT_EQ(f.source, "t");
  EXPECT_EQ(f.nodes.size(), 1u);
}

}  // namespace
}  // namespace wafer
