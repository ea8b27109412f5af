#include <gtest/gtest.h>

#include "backends/reference/interpreter.h"
#include "ir/op_registry.h"
#include "passes/common_subexpression.h"
#include "passes/constant_folding.h"
#include "passes/dead_code_elimination.h"
#include "passes/identity_removal.h"
#include "passes/pass_manager.h"
#include "passes/shape_propagation.h"

namespace wafer {
namespace {

// Test-only ops: one without inference, one holding a body graph.
std::vector<Tensor> pass_through(const KernelContext& ctx) {
  return {ctx.in(0)};
}
WAFER_REGISTER_OP(test_no_infer, {.name = "TestNoInfer", .domain = "test", .kernel = pass_through});
WAFER_REGISTER_OP(test_with_body, {.name = "TestWithBody", .domain = "test", .kernel = pass_through});

ValueType f32(std::vector<Dim> dims) {
  return ValueType{DType::Float32, Shape(std::move(dims))};
}

Tensor floats(Dims d, std::vector<float> v) {
  return Tensor::from_vector<float>(std::move(d), v);
}

Node& add(Graph& g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
          int version = 14) {
  Node& n = g.add_node(op, std::move(in), std::move(out));
  n.op_version = version;
  return n;
}

bool has_op(const Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n->op_type == op) return true;
  return false;
}

int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const auto& n : g.nodes) c += n->op_type == op;
  return c;
}

std::vector<float> run_graph(const Graph& g, const std::vector<Tensor>& inputs) {
  Interpreter interp;
  auto out = interp.run(g, inputs);
  auto v = out.at(0).values<float>();
  return {v.begin(), v.end()};
}

// ---- Pass manager -------------------------------------------------------------

class CountingPass : public Pass {
 public:
  explicit CountingPass(int changes) : changes_left(changes) {}
  std::string name() const override { return "counting"; }
  bool run(Graph&) override {
    ++calls;
    return changes_left-- > 0;
  }
  int changes_left;
  int calls = 0;
};

class BreakingPass : public Pass {
 public:
  std::string name() const override { return "breaker"; }
  bool run(Graph& g) override {
    add(g, "Relu", {"nowhere"}, {"r"});
    return true;
  }
};

TEST(PassManager, RunsToAFixedPointWithinTheBound) {
  Graph g;
  PassManager pm;
  auto pass = std::make_unique<CountingPass>(2);
  CountingPass* p = pass.get();
  pm.add(std::move(pass));
  pm.set_max_iterations(10);
  EXPECT_TRUE(pm.run(g));
  EXPECT_EQ(p->calls, 3);  // two changing rounds, then one that changes nothing
  EXPECT_EQ(pm.stats()[0].runs, 3);
  EXPECT_EQ(pm.stats()[0].changed, 2);
  EXPECT_NE(pm.stats_report().find("counting"), std::string::npos);

  PassManager bounded;
  auto forever = std::make_unique<CountingPass>(1000);
  CountingPass* f = forever.get();
  bounded.add(std::move(forever));
  bounded.set_max_iterations(4);
  bounded.run(g);
  EXPECT_EQ(f->calls, 4);
}

TEST(PassManager, VerificationNamesThePassThatBrokeTheGraph) {
  Graph g;
  g.inputs = {"x"};
  g.outputs = {"x"};
  PassManager pm;
  pm.add(std::make_unique<BreakingPass>());
  pm.set_verify(true);
  try {
    pm.run(g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("breaker"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  }
  Graph g2;
  g2.inputs = {"x"};
  g2.outputs = {"x"};
  PassManager quiet;
  quiet.add(std::make_unique<BreakingPass>());
  quiet.set_verify(false);
  EXPECT_NO_THROW(quiet.run(g2));
}

// ---- Shape propagation ----------------------------------------------------------

TEST(ShapePropagation, BindsSymbolsAndInfersThroughTheGraph) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({Dim::named("batch"), 3});
  g.initializers["b"] = floats({3}, {1, 2, 3});
  add(g, "Add", {"x", "b"}, {"y"});
  add(g, "Relu", {"y"}, {"z"}, 6);
  g.outputs = {"z"};

  auto unbound = g.clone();
  EXPECT_TRUE(ShapePropagation().run(*unbound));
  EXPECT_EQ(unbound->types.at("z").str(), "float32[batch,3]");

  EXPECT_TRUE(ShapePropagation({{"batch", 8}}).run(g));
  EXPECT_EQ(g.types.at("x").str(), "float32[8,3]");
  EXPECT_EQ(g.types.at("y").str(), "float32[8,3]");
  EXPECT_EQ(g.types.at("z").str(), "float32[8,3]");
  EXPECT_FALSE(ShapePropagation({{"batch", 8}}).run(g));  // nothing left to change
}

TEST(ShapePropagation, UnknownStaysUnknownWithoutThrowing) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({2, 3});
  Node& n = add(g, "TestNoInfer", {"x"}, {"y"});
  n.domain = "test";
  add(g, "Relu", {"y"}, {"z"}, 6);
  add(g, "NotARegisteredOp", {"x"}, {"w"});
  g.outputs = {"z", "w"};
  EXPECT_NO_THROW(ShapePropagation().run(g));
  EXPECT_FALSE(g.type_of("y").has_value());
  EXPECT_FALSE(g.type_of("z").has_value());
  EXPECT_FALSE(g.type_of("w").has_value());
}

TEST(ShapePropagation, KeepsDeclaredDimsAndReportsContradictions) {
  Graph g;
  g.inputs = {"x", "y"};
  g.types["x"] = f32({2, Dim()});
  g.types["y"] = f32({2, Dim()});
  add(g, "Add", {"x", "y"}, {"s"}, 14);
  g.types["s"] = f32({2, 5});  // value_info knows more than inference
  g.outputs = {"s"};
  ShapePropagation().run(g);
  EXPECT_EQ(g.types.at("s").str(), "float32[2,5]");

  g.types["s"] = f32({3, 5});  // contradicts the inputs' leading 2
  try {
    ShapePropagation().run(g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Add"), std::string::npos) << e.what();
  }
}

TEST(ShapePropagation, ReportsInconsistentShapesWithTheNodeName) {
  Graph g;
  g.inputs = {"x", "y"};
  g.types["x"] = f32({2, 3});
  g.types["y"] = f32({4, 3});
  add(g, "Add", {"x", "y"}, {"s"}, 14).name = "bad_add";
  g.outputs = {"s"};
  try {
    ShapePropagation().run(g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad_add"), std::string::npos) << e.what();
  }
}

TEST(ShapePropagation, ReachesIntoSubgraphsWithOuterTypes) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({Dim::named("n"), 4});
  auto body = std::make_shared<Graph>();
  body->parent = &g;
  body->name = "body";
  add(*body, "Relu", {"x"}, {"inner"}, 6);
  body->outputs = {"inner"};
  Node& holder = add(g, "TestWithBody", {"x"}, {"y"});
  holder.domain = "test";
  holder.attrs["body"].value = body;
  g.outputs = {"y"};
  ShapePropagation({{"n", 5}}).run(g);
  EXPECT_EQ(body->types.at("inner").str(), "float32[5,4]");
}

// ---- Constant folding -------------------------------------------------------------

TEST(ConstantFolding, EvaluatesConstantSubgraphsWithReferenceKernels) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({2});
  g.initializers["a"] = floats({2}, {1, -5});
  g.initializers["b"] = floats({2}, {2, 3});
  add(g, "Add", {"a", "b"}, {"ab"});  // [3, -2]
  add(g, "Relu", {"ab"}, {"r"}, 6);   // [3, 0]
  add(g, "Mul", {"x", "r"}, {"y"});   // depends on the input: stays
  g.outputs = {"y"};
  EXPECT_TRUE(ConstantFolding().run(g));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0]->op_type, "Mul");
  ASSERT_TRUE(g.is_initializer("r"));
  EXPECT_EQ(g.initializer("r")->get_double(0), 3.0);
  EXPECT_EQ(g.initializer("r")->get_double(1), 0.0);
  EXPECT_FALSE(ConstantFolding().run(g));
  EXPECT_EQ(run_graph(g, {floats({2}, {10, 10})}), (std::vector<float>{30, 0}));
}

TEST(ConstantFolding, RespectsTheSizeCapAndKernelErrors) {
  Graph g;
  g.initializers["a"] = floats({3}, {1, 2, 3});
  add(g, "Add", {"a", "a"}, {"big"});
  g.initializers["i"] = Tensor::from_vector<int32_t>({1}, {7});
  g.initializers["zero"] = Tensor::from_vector<int32_t>({1}, {0});
  add(g, "Div", {"i", "zero"}, {"boom"});
  g.outputs = {"big", "boom"};
  EXPECT_FALSE(ConstantFolding(2).run(g));  // 3 elements > cap of 2; division by zero stays for run time
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_TRUE(ConstantFolding(3).run(g));
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.initializer("big")->get_double(2), 6.0);
}

TEST(ConstantFolding, FoldsInsideSubgraphsUsingOuterConstants) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({2});
  g.initializers["k"] = floats({2}, {1, 2});
  add(g, "Add", {"k", "k"}, {"outer_folded"});
  auto body = std::make_shared<Graph>();
  body->parent = &g;
  add(*body, "Mul", {"k", "outer_folded"}, {"kk"});  // outer constants only: folds into the body
  add(*body, "Add", {"kk", "x"}, {"s"});             // reads an outer runtime value: stays
  add(*body, "Relu", {"s"}, {"r"}, 6);
  body->outputs = {"r"};
  Node& holder = add(g, "TestWithBody", {"x"}, {"y"});
  holder.domain = "test";
  holder.attrs["body"].value = body;
  g.outputs = {"y"};
  EXPECT_TRUE(ConstantFolding().run(g));
  g.verify();
  ASSERT_TRUE(body->is_initializer("kk"));
  EXPECT_EQ(body->initializer("kk")->get_double(1), 8.0);  // 2 * (2 + 2)
  EXPECT_EQ(body->nodes.size(), 2u);
  EXPECT_TRUE(g.is_initializer("outer_folded"));
}

TEST(ConstantFolding, NeverFoldsRandomOps) {
  Node n;
  for (const char* op : {"RandomNormal", "RandomUniformLike", "Bernoulli", "Multinomial", "Dropout"}) {
    n.op_type = op;
    EXPECT_TRUE(is_nondeterministic_op(n)) << op;
  }
  n.op_type = "Add";
  EXPECT_FALSE(is_nondeterministic_op(n));
}

TEST(ConstantFolding, FoldsShapeOfKnownDimsEvenWhenOthersAreSymbolic) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({Dim::named("batch"), 3, 4});
  add(g, "Shape", {"x"}, {"shape"}, 13);
  g.initializers["i0"] = Tensor::from_vector<int64_t>({}, {0});
  g.initializers["i1"] = Tensor::from_vector<int64_t>({}, {1});
  g.initializers["s1"] = Tensor::from_vector<int64_t>({1}, {1});
  g.initializers["e"] = Tensor::from_vector<int64_t>({1}, {1000});
  add(g, "Gather", {"shape", "i0"}, {"batch_dim"}, 13);
  add(g, "Gather", {"shape", "i1"}, {"three"}, 13);
  add(g, "Slice", {"shape", "s1", "e"}, {"tail"}, 13);
  g.outputs = {"batch_dim", "three", "tail"};
  EXPECT_TRUE(ConstantFolding().run(g));
  ASSERT_TRUE(g.is_initializer("three"));
  EXPECT_EQ(g.initializer("three")->rank(), 0);
  EXPECT_EQ(g.initializer("three")->get_int(0), 3);
  ASSERT_TRUE(g.is_initializer("tail"));
  EXPECT_EQ(g.initializer("tail")->to_int_vector(), (std::vector<int64_t>{3, 4}));
  EXPECT_FALSE(g.is_initializer("batch_dim"));  // symbolic: stays computed
  EXPECT_TRUE(has_op(g, "Shape"));

  // Once the batch is bound, Shape itself folds.
  ShapePropagation({{"batch", 8}}).run(g);
  EXPECT_TRUE(ConstantFolding().run(g));
  ASSERT_TRUE(g.is_initializer("batch_dim"));
  EXPECT_EQ(g.initializer("batch_dim")->get_int(0), 8);
  EXPECT_TRUE(g.nodes.empty());
}

TEST(ConstantFolding, FoldsThePyTorchDynamicReshapeChain) {
  for (const char* op : {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"})
    if (!OpRegistry::global().find("", op, 13)) GTEST_SKIP() << op << " is not registered in this build";
  // x: [batch, 3, 4] -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))
  auto build = [] {
    Graph g;
    g.inputs = {"x"};
    g.types["x"] = f32({Dim::named("batch"), 3, 4});
    g.opsets[""] = 13;
    g.initializers["zero"] = Tensor::from_vector<int64_t>({}, {0});
    g.initializers["axes"] = Tensor::from_vector<int64_t>({1}, {0});
    g.initializers["minus1"] = Tensor::from_vector<int64_t>({1}, {-1});
    add(g, "Shape", {"x"}, {"s"}, 13);
    add(g, "Gather", {"s", "zero"}, {"b"}, 13);
    add(g, "Unsqueeze", {"b", "axes"}, {"b1"}, 13);
    add(g, "Concat", {"b1", "minus1"}, {"target"}, 13).attrs["axis"].value = int64_t(0);
    add(g, "Reshape", {"x", "target"}, {"y"}, 13);
    // A second layer whose chain reads the first Reshape's output.
    g.initializers["one"] = Tensor::from_vector<int64_t>({}, {1});
    add(g, "Shape", {"y"}, {"s2"}, 13);
    add(g, "Gather", {"s2", "one"}, {"f"}, 13);
    add(g, "Unsqueeze", {"f", "axes"}, {"f1"}, 13);
    add(g, "Concat", {"f1", "minus1"}, {"target2"}, 13).attrs["axis"].value = int64_t(0);
    add(g, "Reshape", {"y", "target2"}, {"z"}, 13);
    g.outputs = {"z"};
    return g;
  };
  Graph bound = build();
  OptimizeOptions opts;
  opts.symbols = {{"batch", 2}};
  opts.verify = 1;
  opts.max_iterations = 1;  // folding refreshes types as it goes: one sweep folds both layers
  optimize(bound, opts);
  ASSERT_EQ(bound.nodes.size(), 2u) << dump_graph(bound);
  EXPECT_EQ(bound.nodes[0]->op_type, "Reshape");
  EXPECT_EQ(bound.initializer(bound.nodes[0]->inputs[1])->to_int_vector(), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(bound.initializer(bound.nodes[1]->inputs[1])->to_int_vector(), (std::vector<int64_t>{12, -1}));
  EXPECT_EQ(bound.types.at("y").str(), "float32[2,12]");
  EXPECT_EQ(bound.types.at("z").str(), "float32[12,2]");

  Graph open = build();
  opts.symbols.clear();
  optimize(open, opts);
  EXPECT_TRUE(has_op(open, "Shape"));  // the batch dim is still needed at run time
}

// ---- Dead-code elimination -----------------------------------------------------------

TEST(DeadCodeElimination, RemovesUnusedNodesAndInitializersKeepsOutputs) {
  Graph g;
  g.inputs = {"x", "unused_input"};
  g.initializers["w"] = floats({1}, {2});
  g.initializers["dead_w"] = floats({1}, {3});
  add(g, "Mul", {"x", "w"}, {"y"});
  add(g, "Add", {"x", "dead_w"}, {"d1"});
  add(g, "Relu", {"d1"}, {"d2"}, 6);  // a dead chain: both go in one run
  add(g, "Relu", {"x"}, {"out2"}, 6);
  g.outputs = {"y", "out2"};
  g.types["d2"] = f32({1});
  EXPECT_TRUE(DeadCodeElimination().run(g));
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_FALSE(g.is_initializer("dead_w"));
  EXPECT_TRUE(g.is_initializer("w"));
  EXPECT_EQ(g.inputs.size(), 2u);
  EXPECT_FALSE(g.types.count("d2"));
  EXPECT_FALSE(DeadCodeElimination().run(g));
}

TEST(DeadCodeElimination, ValuesReadBySubgraphsStayAlive) {
  Graph g;
  g.inputs = {"x"};
  g.initializers["k"] = floats({1}, {2});
  add(g, "Relu", {"x"}, {"seen_by_body"}, 6);
  auto body = std::make_shared<Graph>();
  body->parent = &g;
  add(*body, "Mul", {"seen_by_body", "k"}, {"m"});
  add(*body, "Relu", {"m"}, {"body_dead"}, 6);
  body->outputs = {"m"};
  Node& holder = add(g, "TestWithBody", {"x"}, {"y"});
  holder.domain = "test";
  holder.attrs["body"].value = body;
  g.outputs = {"y"};
  EXPECT_TRUE(DeadCodeElimination().run(g));
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_TRUE(g.is_initializer("k"));
  EXPECT_EQ(body->nodes.size(), 1u);  // the dead Relu in the body went
}

// ---- CSE ----------------------------------------------------------------------------------

TEST(CommonSubexpression, MergesIdenticalNodesAndChains) {
  Graph g;
  g.inputs = {"x", "y"};
  add(g, "Add", {"x", "y"}, {"a1"});
  add(g, "Add", {"x", "y"}, {"a2"});
  add(g, "Relu", {"a1"}, {"r1"}, 6);
  add(g, "Relu", {"a2"}, {"r2"}, 6);       // duplicate once a2 -> a1
  add(g, "Add", {"y", "x"}, {"swapped"});  // different input order: not the same node
  add(g, "Mul", {"r1", "r2"}, {"m"});
  add(g, "Mul", {"m", "swapped"}, {"out"});
  g.outputs = {"out"};
  EXPECT_TRUE(CommonSubexpressionElimination().run(g));
  EXPECT_EQ(count_op(g, "Add"), 2);
  EXPECT_EQ(count_op(g, "Relu"), 1);
  EXPECT_EQ(g.nodes[3]->inputs, (std::vector<std::string>{"r1", "r1"}));
  g.verify();
  EXPECT_FALSE(CommonSubexpressionElimination().run(g));
}

TEST(CommonSubexpression, ComparesAttributesByValue) {
  Node a, b;
  a.op_type = b.op_type = "Constant";
  a.attrs["value"].value = floats({2}, {1, 2});
  b.attrs["value"].value = floats({2}, {1, 2});  // another buffer, same values
  EXPECT_TRUE(same_computation(a, b));
  b.attrs["value"].value = floats({2}, {1, 3});
  EXPECT_FALSE(same_computation(a, b));
  b.attrs["value"].value = floats({1, 2}, {1, 2});
  EXPECT_FALSE(same_computation(a, b));
  a.attrs.clear();
  b.attrs.clear();
  a.attrs["alpha"].value = 0.5f;
  b.attrs["alpha"].value = 0.25f;
  EXPECT_FALSE(same_computation(a, b));
  b.attrs["alpha"].value = 0.5f;
  EXPECT_TRUE(same_computation(a, b));
  b.op_version = 13;
  EXPECT_FALSE(same_computation(a, b));
}

TEST(CommonSubexpression, KeepsGraphOutputNamesAndLeavesRandomAndBodiesAlone) {
  Graph g;
  g.inputs = {"x"};
  add(g, "Relu", {"x"}, {"r1"}, 6);
  add(g, "Relu", {"x"}, {"r2"}, 6);
  add(g, "RandomUniformLike", {"x"}, {"n1"}, 1);
  add(g, "RandomUniformLike", {"x"}, {"n2"}, 1);
  g.outputs = {"r1", "r2", "n1", "n2"};
  EXPECT_FALSE(CommonSubexpressionElimination().run(g));
  EXPECT_EQ(g.nodes.size(), 4u);
}

// ---- Identity removal ---------------------------------------------------------------------

TEST(IdentityRemoval, RewiresConsumersAndKeepsOutputNames) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({2});
  add(g, "Relu", {"x"}, {"r"}, 6);
  add(g, "Identity", {"r"}, {"i1"}, 16);
  add(g, "Relu", {"i1"}, {"r2"}, 6);
  add(g, "Identity", {"r2"}, {"out"}, 16);         // graph output: Relu writes "out" directly
  add(g, "Identity", {"x"}, {"passthrough"}, 16);  // input to output: must stay
  g.outputs = {"out", "passthrough"};
  EXPECT_TRUE(IdentityRemoval().run(g));
  g.verify();
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[1]->inputs[0], "r");
  EXPECT_EQ(g.nodes[1]->outputs[0], "out");
  EXPECT_EQ(g.nodes[2]->op_type, "Identity");
  if (OpRegistry::global().find("", "Identity", 16)) {
    Interpreter interp;
    auto out = interp.run(g, {floats({2}, {-1, 4})});
    EXPECT_EQ(out[0].get_double(0), 0.0);
    EXPECT_EQ(out[0].get_double(1), 4.0);
  }
}

TEST(IdentityRemoval, RemovesInferenceDropoutOnlyWhenMaskIsUnused) {
  Graph g;
  g.inputs = {"x"};
  g.initializers["ratio"] = Tensor::scalar<float>(0.5f);
  g.initializers["no"] = Tensor::scalar<bool>(false);
  g.initializers["yes"] = Tensor::scalar<bool>(true);
  add(g, "Dropout", {"x", "ratio", "no"}, {"d1", "unused_mask"}, 13);
  add(g, "Dropout", {"d1"}, {"d2", "used_mask"}, 13);
  add(g, "Dropout", {"d2", "ratio", "yes"}, {"d3"}, 13);  // training: random, stays
  add(g, "Relu", {"d3"}, {"out"}, 6);
  g.outputs = {"out", "used_mask"};
  EXPECT_TRUE(IdentityRemoval().run(g));
  g.verify();
  EXPECT_EQ(count_op(g, "Dropout"), 2);
  EXPECT_EQ(g.nodes[0]->inputs[0], "x");  // the second Dropout now reads x
}

// ---- The standard pipeline ------------------------------------------------------------------

TEST(Optimize, PreservesResultsAndReportsTimings) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32({Dim::named("n"), 2});
  g.initializers["c1"] = floats({2}, {1, 2});
  g.initializers["c2"] = floats({2}, {3, 4});
  g.initializers["unused"] = floats({2}, {0, 0});
  add(g, "Add", {"c1", "c2"}, {"c"});  // folds to [4, 6]
  add(g, "Mul", {"x", "c"}, {"m1"});
  add(g, "Mul", {"x", "c"}, {"m2"});  // CSE
  add(g, "Identity", {"m2"}, {"i"}, 16);
  add(g, "Sub", {"m1", "i"}, {"zero"});
  add(g, "Add", {"zero", "m1"}, {"y"});
  add(g, "Relu", {"x"}, {"dead"}, 6);
  g.outputs = {"y"};
  Tensor x = floats({2, 2}, {1, 2, -3, 0.5f});
  std::vector<float> expected = {4, 12, -12, 3};  // (m1 - m2) + m1 = x * [4, 6]

  std::vector<PassStats> stats;
  OptimizeOptions opts;
  opts.verify = 1;
  opts.stats = &stats;
  opts.symbols = {{"n", 2}};
  optimize(g, opts);
  EXPECT_EQ(run_graph(g, {x}), expected);
  EXPECT_EQ(g.nodes.size(), 3u) << dump_graph(g);  // Mul, Sub, Add
  EXPECT_FALSE(g.is_initializer("unused"));
  EXPECT_EQ(g.types.at("y").str(), "float32[2,2]");
  ASSERT_EQ(stats.size(), 6u);
  EXPECT_EQ(stats[0].name, "shape-propagation");
  EXPECT_EQ(stats[2].name, "inline-if");
  for (const auto& s : stats) EXPECT_GE(s.runs, 1) << s.name;
}

}  // namespace
}  // namespace wafer
