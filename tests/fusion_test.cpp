// The CPU pipeline's rewrite rules and fused ops: each rule on a small graph
// built here, checked structurally (which nodes remain, their attributes) and
// numerically against the un-fused graph on the reference backend; the fused
// ops' kernels on hand-computed values and bad input; then (when their data is
// present) real models and a sample of the ONNX conformance cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "backends/reference/interpreter.h"
#include "core/compare.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/op_registry.h"
#include "passes/cpu_pipeline.h"

namespace wafer {
namespace {

namespace fs = std::filesystem;

ValueType f32(std::vector<Dim> dims) {
  return ValueType{DType::Float32, Shape(std::move(dims))};
}

Tensor random_floats(Dims d, uint32_t seed, float lo = -1, float hi = 1) {
  Tensor t(DType::Float32, std::move(d));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

Tensor scalar(float v) {
  return Tensor::from_vector<float>({}, {v});
}

Node& add(Graph& g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
          int version = 13) {
  Node& n = g.add_node(op, std::move(in), std::move(out));
  n.op_version = version;
  n.name = op + "_" + (n.outputs.empty() ? std::string() : n.outputs[0]);
  return n;
}

void input(Graph& g, const std::string& name, std::vector<Dim> dims) {
  g.inputs.push_back(name);
  g.types[name] = f32(std::move(dims));
}

int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const auto& n : g.nodes) c += n->op_type == op;
  return c;
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n->op_type == op) return n.get();
  return nullptr;
}

CpuPipelineOptions verified() {
  CpuPipelineOptions o;
  o.optimize.verify = 1;
  return o;
}

// Runs the pipeline on a copy of g, checks both give the same outputs on
// random inputs, and returns the rewritten copy.
std::unique_ptr<Graph> fuse_and_compare(const Graph& g, double max_rel_l2 = 1e-6) {
  auto fused = g.clone();
  cpu_pipeline(*fused, verified());
  std::vector<Tensor> inputs;
  uint32_t seed = 1;
  for (const auto& name : g.inputs) inputs.push_back(random_floats(g.types.at(name).shape.concrete(), seed++));
  Interpreter a, b;
  auto expected = a.run(g, inputs);
  auto actual = b.run(*fused, inputs);
  EXPECT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
    Comparison c = compare_tensors(expected[i], actual[i], {1e-4, 1e-5});
    EXPECT_TRUE(c.ok) << c.message;
    EXPECT_LE(c.rel_l2, max_rel_l2);
  }
  return fused;
}

// ---- Conv + BatchNormalization ----------------------------------------------

Graph conv_bn_graph(bool conv_output_also_read) {
  Graph g;
  input(g, "x", {1, 2, 5, 5});
  g.initializers["w"] = random_floats({3, 2, 3, 3}, 11);
  g.initializers["b"] = random_floats({3}, 12);
  g.initializers["scale"] = Tensor::from_vector<float>({3}, {1.5f, -0.5f, 2.0f});
  g.initializers["beta"] = Tensor::from_vector<float>({3}, {0.1f, 0.2f, -0.3f});
  g.initializers["mean"] = Tensor::from_vector<float>({3}, {0.5f, -1.0f, 0.0f});
  g.initializers["var"] = Tensor::from_vector<float>({3}, {0.25f, 1.0f, 4.0f});
  Node& conv = add(g, "Conv", {"x", "w", "b"}, {"c"}, 11);
  conv.attrs["pads"] = Attribute{std::vector<int64_t>{1, 1, 1, 1}};
  add(g, "BatchNormalization", {"c", "scale", "beta", "mean", "var"}, {"y"}, 15);
  g.outputs = {"y"};
  if (conv_output_also_read) g.outputs.push_back("c");
  return g;
}

TEST(FoldConvBatchNorm, FoldsIntoWeightsAndBias) {
  auto fused = fuse_and_compare(conv_bn_graph(false));
  EXPECT_EQ(count_op(*fused, "BatchNormalization"), 0);
  ASSERT_EQ(count_op(*fused, "FusedConv"), 1);  // nothing further to fuse: activation ""
  // Channel 0: s = 1.5 / sqrt(0.25 + 1e-5); folded bias = (b0 - 0.5) * s + 0.1.
  const Node* conv = find_op(*fused, "FusedConv");
  EXPECT_EQ(conv->attr_string("activation"), "");
  const Tensor* b = fused->initializer(conv->inputs[2]);
  ASSERT_TRUE(b);
  double s0 = 1.5 / std::sqrt(0.25 + 1e-5);
  double b0 = conv_bn_graph(false).initializers.at("b").data<float>()[0];
  EXPECT_NEAR(b->data<float>()[0], (b0 - 0.5) * s0 + 0.1, 1e-5);
}

TEST(FoldConvBatchNorm, DecomposesBatchNormWhenConvOutputIsAlsoRead) {
  // The Conv's weights cannot absorb it (its output has another reader): per-channel Mul and Add.
  auto fused = fuse_and_compare(conv_bn_graph(true));
  EXPECT_EQ(count_op(*fused, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(*fused, "Mul"), 1);
}

TEST(FoldConvBatchNorm, KeepsBatchNormWithRuntimeParameters) {
  Graph g = conv_bn_graph(false);
  g.initializers.erase("mean");
  input(g, "mean", {3});
  auto fused = g.clone();
  cpu_pipeline(*fused, verified());
  EXPECT_EQ(count_op(*fused, "BatchNormalization"), 1);
}

// ---- FusedConv ---------------------------------------------------------------

TEST(FuseConv, BiasResidualAndReluBecomeOneFusedConv) {
  Graph g;
  input(g, "x", {1, 2, 4, 4});
  input(g, "r", {1, 3, 4, 4});
  g.initializers["w"] = random_floats({3, 2, 3, 3}, 3);
  g.initializers["cb"] = random_floats({1, 3, 1, 1}, 4);
  Node& conv = add(g, "Conv", {"x", "w"}, {"c"}, 11);
  conv.attrs["pads"] = Attribute{std::vector<int64_t>{1, 1, 1, 1}};
  add(g, "Add", {"cb", "c"}, {"c1"});
  add(g, "Add", {"r", "c1"}, {"c2"});
  add(g, "Relu", {"c2"}, {"y"});
  g.outputs = {"y"};
  auto fused = fuse_and_compare(g);
  ASSERT_EQ(fused->nodes.size(), 1u);
  const Node& n = *fused->nodes[0];
  EXPECT_EQ(n.domain, "wafer");
  EXPECT_EQ(n.op_type, "FusedConv");
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(n.inputs[3], "r");
  EXPECT_EQ(n.attr_string("activation"), "Relu");
  EXPECT_EQ(n.attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(n.outputs[0], "y");
  // A second run finds nothing more to do.
  auto again = fused->clone();
  cpu_pipeline(*again, verified());
  EXPECT_EQ(dump_graph(*again), dump_graph(*fused));
}

TEST(FuseConv, ClipBecomesActivationWithItsBounds) {
  Graph g;
  input(g, "x", {1, 2, 3, 3});
  g.initializers["w"] = random_floats({4, 2, 1, 1}, 5, -3, 3);
  g.initializers["lo"] = scalar(0.0f);
  g.initializers["hi"] = scalar(6.0f);
  add(g, "Conv", {"x", "w"}, {"c"}, 11);
  add(g, "Clip", {"c", "lo", "hi"}, {"y"});
  g.outputs = {"y"};
  auto fused = fuse_and_compare(g);
  ASSERT_EQ(fused->nodes.size(), 1u);
  EXPECT_EQ(fused->nodes[0]->attr_string("activation"), "Clip");
  EXPECT_EQ(fused->nodes[0]->attr_floats("activation_params"), (std::vector<float>{0.0f, 6.0f}));
}

TEST(FuseConv, RespectsSingleUseAndNonChannelBias) {
  Graph g;
  input(g, "x", {1, 2, 3, 3});
  g.initializers["w"] = random_floats({2, 2, 1, 1}, 6);
  g.initializers["row"] = random_floats({3}, 7);  // [3] broadcasts along W, not channels: no bias
  add(g, "Conv", {"x", "w"}, {"c"}, 11);
  add(g, "Add", {"c", "row"}, {"y"});
  add(g, "Conv", {"x", "w"}, {"d"}, 11);  // read twice: no fusion
  add(g, "Relu", {"d"}, {"z"});
  g.outputs = {"y", "z", "d"};
  CpuPipelineOptions o = verified();
  o.optimize.eliminate_common_subexpressions = false;
  auto fused = g.clone();
  cpu_pipeline(*fused, o);
  // Both convs become FusedConv (every float32 Conv does) but absorb nothing.
  EXPECT_EQ(count_op(*fused, "FusedConv"), 2);
  EXPECT_EQ(count_op(*fused, "Add"), 1);
  EXPECT_EQ(count_op(*fused, "Relu"), 1);
  for (const auto& n : fused->nodes)
    if (n->op_type == "FusedConv") {
      EXPECT_EQ(n->inputs.size(), 2u);
      EXPECT_EQ(n->attr_string("activation"), "");
    }
  fuse_and_compare(g);
}

TEST(FuseConv, BroadcastingResidualIsNotASum) {
  Graph g;
  input(g, "x", {1, 2, 3, 3});
  input(g, "r", {1, 3, 1, 1});  // a runtime per-channel value: broadcasts, so not a Sum
  g.initializers["w"] = random_floats({3, 2, 1, 1}, 15);
  add(g, "Conv", {"x", "w"}, {"c"}, 11);
  add(g, "Add", {"c", "r"}, {"y"});
  g.outputs = {"y"};
  auto fused = fuse_and_compare(g);
  EXPECT_EQ(count_op(*fused, "Add"), 1);
  ASSERT_EQ(count_op(*fused, "FusedConv"), 1);
  EXPECT_EQ(find_op(*fused, "FusedConv")->inputs.size(), 2u);
}

TEST(FusedConvKernel, RejectsSumOfAnotherShape) {
  Node n;
  n.op_type = "FusedConv";
  n.domain = "wafer";
  n.op_version = 1;
  n.name = "fc";
  n.attrs["activation"] = Attribute{std::string("Relu")};
  Tensor x = random_floats({1, 1, 2, 2}, 1), w = Tensor::from_vector<float>({1, 1, 1, 1}, {2});
  Tensor b = Tensor::from_vector<float>({1}, {-1});
  Tensor sum = Tensor::from_vector<float>({1, 1, 2, 2}, {0, 1, 2, 3});
  Tensor bad = random_floats({1, 1, 2, 1}, 2);
  const OpSchema* s = OpRegistry::global().find("wafer", "FusedConv", 1);
  ASSERT_TRUE(s);
  // y = relu(2x - 1 + sum)
  auto y = s->kernel(KernelContext{n, {&x, &w, &b, &sum}});
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(y[0].data<float>()[i], std::max(0.0f, 2 * x.data<float>()[i] - 1 + float(i)));
  EXPECT_THROW(s->kernel(KernelContext{n, {&x, &w, &b, &bad}}), Error);
}

// ---- FusedMatMul -------------------------------------------------------------

// x * 0.5 * (1 + erf(x / sqrt 2)) as PyTorch exports it, reading `x`.
std::string gelu_pattern(Graph& g, const std::string& x, int variant) {
  g.initializers["sqrt2"] = scalar(float(std::sqrt(2.0)));
  g.initializers["inv_sqrt2"] = scalar(float(1 / std::sqrt(2.0)));
  g.initializers["one"] = scalar(1.0f);
  g.initializers["half"] = scalar(0.5f);
  std::string p = x + "_g";
  if (variant == 1)
    add(g, "Mul", {"inv_sqrt2", x}, {p + "h"});
  else
    add(g, "Div", {x, "sqrt2"}, {p + "h"});
  add(g, "Erf", {p + "h"}, {p + "e"});
  add(g, "Add", {"one", p + "e"}, {p + "a"});
  if (variant == 2) {
    add(g, "Mul", {x, "half"}, {p + "x"});
    add(g, "Mul", {p + "a", p + "x"}, {p + "y"});
  } else if (variant == 3) {
    add(g, "Mul", {"half", p + "a"}, {p + "m"});
    add(g, "Mul", {x, p + "m"}, {p + "y"});
  } else {
    add(g, "Mul", {x, p + "a"}, {p + "m"});
    add(g, "Mul", {p + "m", "half"}, {p + "y"});
  }
  return p + "y";
}

TEST(FuseMatMul, BiasAndGeluFuseIntoFusedMatMul) {
  Graph g;
  input(g, "x", {2, 3, 4});
  g.initializers["w"] = random_floats({4, 5}, 8);
  g.initializers["b"] = random_floats({5}, 9);
  add(g, "MatMul", {"x", "w"}, {"m"});
  add(g, "Add", {"m", "b"}, {"mb"});
  g.outputs = {gelu_pattern(g, "mb", 0)};
  auto fused = fuse_and_compare(g);
  ASSERT_EQ(fused->nodes.size(), 1u);
  const Node& n = *fused->nodes[0];
  EXPECT_EQ(n.op_type, "FusedMatMul");
  EXPECT_EQ(n.attr_string("activation"), "Gelu");
  EXPECT_EQ(n.attr_int("trans_b"), 0);
  ASSERT_EQ(n.inputs.size(), 3u);
}

TEST(FuseMatMul, GemmWithTransBAndResidual) {
  Graph g;
  input(g, "x", {3, 4});
  input(g, "r", {3, 5});
  g.initializers["w"] = random_floats({5, 4}, 10);
  g.initializers["c"] = random_floats({1, 5}, 11);
  Node& gemm = add(g, "Gemm", {"x", "w", "c"}, {"m"});
  gemm.attrs["transB"] = Attribute{int64_t(1)};
  add(g, "Add", {"m", "r"}, {"s"});
  Node& lr = add(g, "LeakyRelu", {"s"}, {"y"}, 6);
  lr.attrs["alpha"] = Attribute{0.2f};
  g.outputs = {"y"};
  auto fused = fuse_and_compare(g);
  ASSERT_EQ(fused->nodes.size(), 1u);
  const Node& n = *fused->nodes[0];
  EXPECT_EQ(n.op_type, "FusedMatMul");
  EXPECT_EQ(n.attr_int("trans_b"), 1);
  EXPECT_EQ(n.attr_string("activation"), "LeakyRelu");
  EXPECT_EQ(n.attr_floats("activation_params"), std::vector<float>{0.2f});
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(n.inputs[3], "r");
}

TEST(FuseMatMul, GemmWithAlphaStays) {
  Graph g;
  input(g, "x", {3, 4});
  g.initializers["w"] = random_floats({4, 5}, 12);
  Node& gemm = add(g, "Gemm", {"x", "w"}, {"y"});
  gemm.attrs["alpha"] = Attribute{2.0f};
  g.outputs = {"y"};
  auto fused = fuse_and_compare(g);
  EXPECT_EQ(count_op(*fused, "Gemm"), 1);
}

TEST(FusedMatMulKernel, HandComputed) {
  // A = [[1, 2]], B^T given as [[1, 0], [1, -1]] -> A.B = [1, 3 - ... ] computed below.
  Node n;
  n.op_type = "FusedMatMul";
  n.domain = "wafer";
  n.op_version = 1;
  n.name = "fm";
  n.inputs = {"a", "b", "bias", "sum"};
  n.outputs = {"y"};
  n.attrs["trans_b"] = Attribute{int64_t(1)};
  n.attrs["activation"] = Attribute{std::string("LeakyRelu")};
  n.attrs["activation_params"] = Attribute{std::vector<float>{0.5f}};
  Tensor a = Tensor::from_vector<float>({1, 2}, {1, 2});
  Tensor bt = Tensor::from_vector<float>({2, 2}, {1, 0, 1, -1});  // B = [[1, 1], [0, -1]]
  Tensor bias = Tensor::from_vector<float>({2}, {0.5f, -1});
  Tensor sum = Tensor::from_vector<float>({1, 2}, {1, 0});
  const OpSchema* s = OpRegistry::global().find("wafer", "FusedMatMul", 1);
  ASSERT_TRUE(s);
  // A.B = [1, -1]; + bias = [1.5, -2]; + sum = [2.5, -2]; LeakyRelu(0.5) = [2.5, -1].
  auto y = s->kernel(KernelContext{n, {&a, &bt, &bias, &sum}});
  ASSERT_EQ(y[0].dims(), (Dims{1, 2}));
  EXPECT_FLOAT_EQ(y[0].data<float>()[0], 2.5f);
  EXPECT_FLOAT_EQ(y[0].data<float>()[1], -1.0f);
  // Bias of the wrong length and an unknown activation are errors naming the node.
  Tensor bad_bias = Tensor::from_vector<float>({3}, {1, 2, 3});
  EXPECT_THROW(s->kernel(KernelContext{n, {&a, &bt, &bad_bias, nullptr}}), Error);
  n.attrs["activation"] = Attribute{std::string("Swish")};
  try {
    s->kernel(KernelContext{n, {&a, &bt, nullptr, nullptr}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wafer.FusedMatMul \"fm\""), std::string::npos) << e.what();
  }
  n.attrs["activation"] = Attribute{std::string("Clip")};  // Clip needs two params
  EXPECT_THROW(s->kernel(KernelContext{n, {&a, &bt, nullptr, nullptr}}), Error);
}

// ---- Gelu --------------------------------------------------------------------

TEST(FuseGelu, AllOperandOrdersBecomeWaferGelu) {
  for (int variant = 0; variant < 4; ++variant) {
    Graph g;
    input(g, "x", {2, 7});
    add(g, "Relu", {"x"}, {"r"});
    g.outputs = {gelu_pattern(g, "r", variant)};
    auto fused = fuse_and_compare(g);
    EXPECT_EQ(fused->nodes.size(), 2u) << "variant " << variant;
    EXPECT_EQ(count_op(*fused, "Gelu"), 1) << "variant " << variant;
  }
}

TEST(FuseGelu, WrongConstantIsNotGelu) {
  Graph g;
  input(g, "x", {2, 7});
  std::string y = gelu_pattern(g, "x", 0);
  g.initializers["half"] = scalar(0.6f);
  g.outputs = {y};
  auto fused = fuse_and_compare(g);
  EXPECT_EQ(count_op(*fused, "Gelu"), 0);
}

TEST(GeluKernel, HandComputed) {
  Node n;
  n.op_type = "Gelu";
  n.domain = "wafer";
  n.op_version = 1;
  Tensor x = Tensor::from_vector<float>({3}, {0.0f, 1.0f, -1.0f});
  auto y = OpRegistry::global().find("wafer", "Gelu", 1)->kernel(KernelContext{n, {&x}});
  EXPECT_FLOAT_EQ(y[0].data<float>()[0], 0.0f);
  EXPECT_NEAR(y[0].data<float>()[1], 0.8413447f, 1e-6);
  EXPECT_NEAR(y[0].data<float>()[2], -0.1586553f, 1e-6);
}

// ---- LayerNorm ---------------------------------------------------------------

Graph layer_norm_graph(bool affine, bool mul_square) {
  Graph g;
  input(g, "x", {2, 3, 8});
  g.initializers["two"] = scalar(2.0f);
  g.initializers["eps"] = scalar(1e-5f);
  g.initializers["gamma"] = random_floats({8}, 13);
  g.initializers["beta"] = random_floats({1, 8}, 14);
  Node& m = add(g, "ReduceMean", {"x"}, {"m"});
  m.attrs["axes"] = Attribute{std::vector<int64_t>{-1}};
  add(g, "Sub", {"x", "m"}, {"d"});
  if (mul_square)
    add(g, "Mul", {"d", "d"}, {"p"});
  else
    add(g, "Pow", {"d", "two"}, {"p"});
  Node& v = add(g, "ReduceMean", {"p"}, {"v"});
  v.attrs["axes"] = Attribute{std::vector<int64_t>{2}};
  add(g, "Add", {"v", "eps"}, {"ve"});
  add(g, "Sqrt", {"ve"}, {"s"});
  add(g, "Div", {"d", "s"}, {"n"});
  if (affine) {
    add(g, "Mul", {"gamma", "n"}, {"ng"});
    add(g, "Add", {"ng", "beta"}, {"y"});
    g.outputs = {"y"};
  } else {
    g.outputs = {"n"};
  }
  return g;
}

TEST(FuseLayerNorm, DecomposedFormBecomesLayerNormalization) {
  for (bool affine : {true, false})
    for (bool mul_square : {true, false}) {
      auto fused = fuse_and_compare(layer_norm_graph(affine, mul_square), 1e-5);
      ASSERT_EQ(fused->nodes.size(), 1u) << affine << mul_square;
      const Node& n = *fused->nodes[0];
      EXPECT_EQ(n.op_type, "LayerNormalization");
      EXPECT_EQ(n.op_version, 17);
      EXPECT_EQ(n.attr_int("axis"), 2);
      EXPECT_FLOAT_EQ(n.attr_float("epsilon"), 1e-5f);
      EXPECT_EQ(n.inputs.size(), affine ? 3u : 2u);
    }
}

TEST(FuseLayerNorm, ReduceMean18AxesInput) {
  Graph g = layer_norm_graph(true, false);
  g.initializers["axes"] = Tensor::from_vector<int64_t>({1}, {-1});
  for (auto& n : g.nodes)
    if (n->op_type == "ReduceMean") {
      n->op_version = 18;
      n->attrs.erase("axes");
      n->inputs.push_back("axes");
    }
  auto fused = fuse_and_compare(g, 1e-5);
  EXPECT_EQ(fused->nodes.size(), 1u);
  EXPECT_EQ(count_op(*fused, "LayerNormalization"), 1);
}

TEST(FuseLayerNorm, CenteredValueReadElsewhereStays) {
  Graph g = layer_norm_graph(true, false);
  g.outputs.push_back("d");
  auto fused = fuse_and_compare(g, 1e-5);
  EXPECT_EQ(count_op(*fused, "LayerNormalization"), 0);
}

// ---- Attention ---------------------------------------------------------------

Graph attention_graph(bool transpose_k, bool mask, bool mul_scale) {
  Graph g;
  input(g, "q", {2, 3, 4, 5});
  input(g, transpose_k ? "k" : "kt", transpose_k ? std::vector<Dim>{2, 3, 6, 5} : std::vector<Dim>{2, 3, 5, 6});
  input(g, "v", {2, 3, 6, 7});
  if (transpose_k) {
    Node& t = add(g, "Transpose", {"k"}, {"kt"});
    t.attrs["perm"] = Attribute{std::vector<int64_t>{0, 1, 3, 2}};
  }
  add(g, "MatMul", {"q", "kt"}, {"s"});
  g.initializers["c"] = scalar(mul_scale ? 0.25f : 2.0f);
  add(g, mul_scale ? "Mul" : "Div", {"s", "c"}, {"ss"});
  std::string scores = "ss";
  if (mask) {
    input(g, "mask", {2, 1, 1, 6});
    add(g, "Add", {"mask", "ss"}, {"sm"});
    scores = "sm";
  }
  add(g, "Softmax", {scores}, {"p"});
  add(g, "MatMul", {"p", "v"}, {"y"});
  g.outputs = {"y"};
  return g;
}

TEST(FuseAttention, TransposedKIsAbsorbed) {
  auto fused = fuse_and_compare(attention_graph(true, true, false));
  ASSERT_EQ(fused->nodes.size(), 1u);
  const Node& n = *fused->nodes[0];
  EXPECT_EQ(n.op_type, "Attention");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"q", "k", "v", "mask"}));
  EXPECT_FLOAT_EQ(n.attr_float("scale"), 0.5f);
  EXPECT_EQ(fused->types.at("y").shape, Shape({2, 3, 4, 7}));
}

TEST(FuseAttention, OtherKtGetsATransposeBack) {
  auto fused = fuse_and_compare(attention_graph(false, false, true));
  EXPECT_EQ(count_op(*fused, "Attention"), 1);
  EXPECT_EQ(count_op(*fused, "Transpose"), 1);
  EXPECT_FLOAT_EQ(find_op(*fused, "Attention")->attr_float("scale"), 0.25f);
}

// torch nn.MultiheadAttention: [S, B*H, D] heads, Q divided before the MatMul,
// Kt = Transpose(k, perm [1,2,0]).
TEST(FuseAttention, Rank3TorchMultiheadForm) {
  Graph g;
  input(g, "q", {6, 4, 5});  // [S, B*H, D]
  input(g, "k", {6, 4, 5});
  input(g, "v", {4, 6, 3});  // already [B*H, S, Dv]
  g.initializers["c"] = scalar(4.0f);
  Node& tq = add(g, "Transpose", {"q"}, {"qh"});
  tq.attrs["perm"] = Attribute{std::vector<int64_t>{1, 0, 2}};
  add(g, "Div", {"qh", "c"}, {"qs"});
  Node& tk = add(g, "Transpose", {"k"}, {"kt"});
  tk.attrs["perm"] = Attribute{std::vector<int64_t>{1, 2, 0}};
  add(g, "MatMul", {"qs", "kt"}, {"s"});
  add(g, "Softmax", {"s"}, {"p"});
  add(g, "MatMul", {"p", "v"}, {"y"});
  g.outputs = {"y"};
  auto fused = fuse_and_compare(g);
  ASSERT_EQ(count_op(*fused, "Attention"), 1);
  EXPECT_FLOAT_EQ(find_op(*fused, "Attention")->attr_float("scale"), 0.25f);
  EXPECT_EQ(count_op(*fused, "Unsqueeze"), 3);
  EXPECT_EQ(count_op(*fused, "Squeeze"), 1);
  EXPECT_EQ(count_op(*fused, "Div"), 0);
  // K = Transpose(k, [1,0,2]): the composed permutation, not a second Transpose.
  int composed = 0;
  for (const auto& n : fused->nodes)
    if (n->op_type == "Transpose" && n->inputs[0] == "k")
      composed += n->attr_ints("perm") == std::vector<int64_t>{1, 0, 2};
  EXPECT_EQ(composed, 1);
  EXPECT_EQ(count_op(*fused, "Transpose"), 2);
  EXPECT_EQ(fused->types.at("y").shape, Shape({4, 6, 3}));
}

TEST(FuseAttention, SoftmaxReadElsewhereStays) {
  Graph g = attention_graph(true, false, false);
  g.outputs.push_back("p");
  auto fused = fuse_and_compare(g);
  EXPECT_EQ(count_op(*fused, "Attention"), 0);
}

TEST(AttentionKernel, RejectsBadShapes) {
  Node n;
  n.op_type = "Attention";
  n.domain = "wafer";
  n.op_version = 1;
  n.name = "att";
  Tensor q = random_floats({1, 2, 3, 4}, 1), k = random_floats({1, 2, 3, 5}, 2), v = random_floats({1, 2, 3, 4}, 3);
  const OpSchema* s = OpRegistry::global().find("wafer", "Attention", 1);
  EXPECT_THROW(s->kernel(KernelContext{n, {&q, &k, &v}}), Error);  // D differs
  Tensor q3 = random_floats({2, 3, 4}, 4);
  EXPECT_THROW(s->kernel(KernelContext{n, {&q3, &q3, &q3}}), Error);  // rank 3
  // One key: softmax is 1, output = V's row whatever the scores.
  Tensor q1 = random_floats({1, 1, 2, 3}, 5), k1 = random_floats({1, 1, 1, 3}, 6);
  Tensor v1 = Tensor::from_vector<float>({1, 1, 1, 2}, {4, -2});
  auto y = s->kernel(KernelContext{n, {&q1, &k1, &v1}});
  ASSERT_EQ(y[0].dims(), (Dims{1, 1, 2, 2}));
  EXPECT_FLOAT_EQ(y[0].data<float>()[2], 4.0f);
  EXPECT_FLOAT_EQ(y[0].data<float>()[3], -2.0f);
}

// ---- Real models and conformance cases ----------------------------------------

struct Loaded {
  Model model;
  std::vector<Tensor> inputs;
  std::vector<Tensor> expected;
};

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

Loaded load_case(const fs::path& dir) {
  Loaded l{import_onnx_file((dir / "model.onnx").string()), {}, {}};
  fs::path set = dir / "test_data_set_0";
  for (const auto& f : sorted_files(set, "input_")) l.inputs.push_back(read_tensor_pb(f.string()).tensor);
  for (const auto& f : sorted_files(set, "output_")) l.expected.push_back(read_tensor_pb(f.string()).tensor);
  // ONNX 1.12 writes bfloat16 test tensors as uint16 (same bits), as `wafer check` knows.
  const Graph& g = *l.model.graph;
  for (size_t i = 0; i < l.inputs.size() && i < g.inputs.size(); ++i)
    if (auto t = g.type_of(g.inputs[i]); t && t->dtype == DType::BFloat16 && l.inputs[i].dtype() == DType::UInt16)
      l.inputs[i] = l.inputs[i].bitcast(DType::BFloat16);
  for (size_t i = 0; i < l.expected.size() && i < g.outputs.size(); ++i)
    if (auto t = g.type_of(g.outputs[i]); t && t->dtype == DType::BFloat16 && l.expected[i].dtype() == DType::UInt16)
      l.expected[i] = l.expected[i].bitcast(DType::BFloat16);
  return l;
}

std::map<std::string, int> op_histogram(const Graph& g) {
  std::map<std::string, int> h;
  for (const auto& n : g.nodes) h[(n->domain.empty() ? "" : n->domain + ".") + n->op_type]++;
  return h;
}

// WAFER_FUSION_MODELS=/tmp/mexp (folders resnet50, mobilenetv2, bert, vit as
// scripts/export_models.py writes them). Minutes on the reference backend, so opt-in.
TEST(CpuPipelineModels, SameOutputsAsUnfused) {
  const char* dir = std::getenv("WAFER_FUSION_MODELS");
  if (!dir || !*dir) GTEST_SKIP() << "set WAFER_FUSION_MODELS to a folder of exported models";
  const char* only = std::getenv("WAFER_FUSION_MODEL_LIST");
  std::string list = only && *only ? only : "resnet50,mobilenetv2,bert,vit";
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) {
    fs::path p = fs::path(dir) / name;
    if (!fs::exists(p / "model.onnx")) continue;
    Loaded l = load_case(p);
    Graph& g = *l.model.graph;
    size_t imported = g.nodes.size();
    // Bind symbolic dims (batch) to the test inputs', as a backend compiling for them does.
    CpuPipelineOptions o = verified();
    for (size_t i = 0; i < g.inputs.size() && i < l.inputs.size(); ++i)
      if (auto t = g.type_of(g.inputs[i]); t && t->shape.rank_known && t->shape.rank() == l.inputs[i].rank())
        for (size_t d = 0; d < t->shape.dims.size(); ++d)
          if (!t->shape.dims[d].symbol.empty())
            o.optimize.symbols[t->shape.dims[d].symbol] = l.inputs[i].dim(int64_t(d));
    optimize(g, o.optimize);
    size_t before = g.nodes.size();
    auto fused = g.clone();
    std::vector<PassStats> stats;
    o.stats = &stats;
    cpu_pipeline(*fused, o);
    if (const char* dump = std::getenv("WAFER_FUSION_DUMP"); dump && *dump)
      std::ofstream(fs::path(dump) / (name + ".txt")) << dump_graph(*fused);
    std::cout << name << ": " << imported << " nodes imported, " << before << " after optimize() -> "
              << fused->nodes.size() << " after cpu_pipeline\n ";
    for (const auto& [op, c] : op_histogram(*fused)) std::cout << " " << op << "=" << c;
    int with_sum = 0, conv_act = 0;
    for (const auto& n : fused->nodes)
      if (n->op_type == "FusedConv") {
        with_sum += n->has_input(3);
        conv_act += !n->attr_string("activation", "").empty();
      }
    std::cout << "\n  FusedConv with Sum=" << with_sum << ", with activation=" << conv_act << std::endl;
    Interpreter a, b;
    auto ref = a.run(g, l.inputs);
    auto out = b.run(*fused, l.inputs);
    ASSERT_EQ(ref.size(), out.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      Comparison c = compare_tensors(ref[i], out[i]);
      std::cout << "  output " << i << ": rel L2 vs unfused " << c.rel_l2 << "\n";
      EXPECT_LE(c.rel_l2, 1e-5) << name;
      if (i < l.expected.size()) {
        EXPECT_LE(compare_tensors(l.expected[i], out[i]).rel_l2, 1e-4) << name;
      }
    }
  }
}

// A sample of the ONNX conformance cases (the ops the rules touch, and some
// others) must still pass with the pipeline applied.
TEST(CpuPipelineConformance, SampleStillPasses) {
  const char* env = std::getenv("WAFER_ONNX_NODE_TESTS");
  fs::path dir = env && *env ? fs::path(env) : fs::path("../onnx-node-tests/node");
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not generated";
  std::ifstream passing(fs::path(WAFER_TEST_DATA_DIR) / ".." / "conformance" / "reference_passing.txt");
  ASSERT_TRUE(passing.good());
  const std::vector<std::string> prefixes = {"test_conv",       "test_gemm",    "test_matmul", "test_batchnorm",
                                             "test_layer_norm", "test_softmax", "test_gelu",   "test_relu",
                                             "test_clip",       "test_add",     "test_erf",    "test_transpose"};
  // WAFER_FUSION_ALL_CONFORMANCE=1: every passing case, not just the sample (about 10 s).
  const char* all_env = std::getenv("WAFER_FUSION_ALL_CONFORMANCE");
  const bool all = all_env && std::string(all_env) == "1";
  int ran = 0;
  for (std::string name; std::getline(passing, name);) {
    if (name.empty() || name[0] == '#') continue;
    bool want = all;
    for (const auto& p : prefixes) want |= name.rfind(p, 0) == 0;
    if (!want || !fs::exists(dir / name / "model.onnx")) continue;
    Loaded l = load_case(dir / name);
    try {
      cpu_pipeline(*l.model.graph, verified());
      Interpreter interp;
      auto out = interp.run(*l.model.graph, l.inputs);
      ASSERT_EQ(out.size(), l.expected.size()) << name;
      for (size_t i = 0; i < out.size(); ++i) {
        Comparison c = compare_tensors(l.expected[i], out[i]);
        EXPECT_TRUE(c.ok) << name << ": " << c.message;
      }
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
    }
    ++ran;
  }
  std::cout << ran << " conformance cases passed through cpu_pipeline" << std::endl;
  EXPECT_GT(ran, 50);
}

}  // namespace
}  // namespace wafer
