// Tests of the misc op family: losses, resize, grid sampling, detection,
// recurrent cells, signal ops, optimizers, random generators, TfIdf and
// control flow. Expectations are computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "backends/reference/interpreter.h"
#include "ir/op_registry.h"

namespace wafer {
namespace {

struct OpCall {
  Node node;
  std::vector<Tensor> inputs;  // undefined tensor = omitted input

  OpCall(std::string op, int version, std::vector<Tensor> in, std::string domain = "") : inputs(std::move(in)) {
    node.op_type = std::move(op);
    node.op_version = version;
    node.domain = std::move(domain);
    node.name = "n";
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string name = "i";
      name += std::to_string(i);
      node.inputs.push_back(inputs[i].defined() ? name : std::string());
    }
    node.outputs = {"y0", "y1", "y2"};
  }
  template <typename V>
  OpCall& attr(const std::string& name, V v) {
    node.attrs[name] = Attribute{Attribute::Value(std::move(v))};
    return *this;
  }
  std::vector<Tensor> run(SubgraphRunner* runner = nullptr) const {
    const OpSchema* s = OpRegistry::global().find(node);
    if (!s) throw Error("no schema for " + node.op_type);
    KernelContext ctx{node, {}, runner};
    for (const Tensor& t : inputs) ctx.inputs.push_back(t.defined() ? &t : nullptr);
    return s->kernel(ctx);
  }
  std::vector<ValueType> infer(std::vector<const Tensor*> constants = {}) const {
    const OpSchema* s = OpRegistry::global().find(node);
    InferContext ctx{node, {}, constants};
    for (const Tensor& t : inputs)
      ctx.inputs.push_back(t.defined() ? std::optional<ValueType>(ValueType{t.dtype(), Shape::from(t.dims())})
                                       : std::nullopt);
    ctx.constants.resize(inputs.size(), nullptr);
    return infer_node(*s, ctx);
  }
};

Tensor f32(Dims d, std::vector<float> v) {
  return Tensor::from_vector<float>(std::move(d), v);
}
Tensor i64(Dims d, std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(std::move(d), v);
}

void expect_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(t.numel(), int64_t(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.get_double(int64_t(i)), want[i], tol) << "element " << i;
}

// ---- losses ----

TEST(Losses, NllWeightedMeanSkipsIgnoredTargets) {
  // input [N=3, C=2]: loss_i = -x[i, t_i] * w[t_i]; target 1 of row 2 is ignored.
  Tensor x = f32({3, 2}, {-1, -2, -3, -4, -5, -6});
  Tensor t = i64({3}, {0, 1, 1});
  Tensor w = f32({2}, {2, 3});
  OpCall op("NegativeLogLikelihoodLoss", 13, {x, t, w});
  op.attr("ignore_index", int64_t(1)).attr("reduction", std::string("mean"));
  // Only row 0 counts: 1 * 2 / 2.
  expect_values(op.run()[0], {1.0});
  op.attr("reduction", std::string("none"));
  auto out = op.run()[0];
  EXPECT_EQ(out.dims(), (Dims{3}));
  expect_values(out, {2, 0, 0});
  op.node.attrs.erase("ignore_index");
  op.attr("reduction", std::string("sum"));
  expect_values(op.run()[0], {2 + 12 + 18});
}

TEST(Losses, SoftmaxCrossEntropyOfUniformLogitsIsLogC) {
  Tensor x = f32({2, 4, 1}, std::vector<float>(8, 0.5f));
  Tensor t = i64({2, 1}, {3, 0});
  OpCall op("SoftmaxCrossEntropyLoss", 13, {x, t});
  auto out = op.run();
  ASSERT_EQ(out.size(), 2u);
  expect_values(out[0], {std::log(4.0)});
  expect_values(out[1], std::vector<double>(8, -std::log(4.0)));
  auto types = op.infer();
  EXPECT_EQ(types[0].shape.rank(), 0);
  EXPECT_EQ(types[1].shape, Shape::from({2, 4, 1}));
}

TEST(Losses, RejectOutOfRangeTargetsAndBadShapes) {
  Tensor x = f32({1, 2}, {0, 0});
  EXPECT_THROW(OpCall("NegativeLogLikelihoodLoss", 13, {x, i64({1}, {2})}).run(), Error);
  EXPECT_THROW(OpCall("NegativeLogLikelihoodLoss", 13, {x, i64({2}, {0, 0})}).run(), Error);
  EXPECT_THROW(OpCall("SoftmaxCrossEntropyLoss", 13, {x, i64({1}, {0})}).attr("reduction", std::string("avg")).run(),
               Error);
}

// ---- resize ----

TEST(Resize, NearestAndLinearUpsample) {
  Tensor x = f32({1, 1, 1, 2}, {0, 1});
  Tensor scales = f32({4}, {1, 1, 1, 2});
  OpCall lin("Resize", 13, {x, Tensor(), scales});
  lin.attr("mode", std::string("linear"));
  // half_pixel: source coords -0.25, 0.25, 0.75, 1.25, clamped at the edges.
  expect_values(lin.run()[0], {0, 0.25, 0.75, 1});
  OpCall near("Resize", 13, {x, Tensor(), scales});
  near.attr("mode", std::string("nearest")).attr("coordinate_transformation_mode", std::string("asymmetric"));
  expect_values(near.run()[0], {0, 0, 1, 1});
  auto types = lin.infer({nullptr, nullptr, &scales});
  EXPECT_EQ(types[0].shape, Shape::from({1, 1, 1, 4}));
}

TEST(Resize, SizesAlignCornersAndErrors) {
  Tensor x = f32({3}, {0, 10, 20});
  Tensor sizes = i64({1}, {5});
  OpCall op("Resize", 13, {x, Tensor(), Tensor(), sizes});
  op.attr("mode", std::string("linear")).attr("coordinate_transformation_mode", std::string("align_corners"));
  expect_values(op.run()[0], {0, 5, 10, 15, 20});
  EXPECT_THROW(OpCall("Resize", 13, {x, Tensor(), f32({2}, {1, 2})}).run(), Error);  // wrong scale count
  EXPECT_THROW(OpCall("Resize", 13, {x, Tensor(), f32({1}, {-1})}).run(), Error);    // negative scale
  EXPECT_THROW(OpCall("Resize", 13, {x}).run(), Error);                              // neither scales nor sizes
}

TEST(MiscOps, AbsurdOutputSizesAreErrorsNotAllocations) {
  Tensor x = f32({1, 2}, {1, 2});
  EXPECT_THROW(OpCall("Resize", 13, {x, Tensor(), f32({2}, {1e7f, 1e7f})}).run(), Error);
  EXPECT_THROW(OpCall("HannWindow", 17, {Tensor::scalar<int64_t>(int64_t(1) << 50)}).run(), Error);
  EXPECT_THROW(OpCall("DFT", 17, {f32({1, 2, 1}, {1, 2}), Tensor::scalar<int64_t>(int64_t(1) << 50)}).run(), Error);
}

TEST(Upsample, Version7ScalesAttribute) {
  OpCall op("Upsample", 7, {f32({1, 2}, {1, 2})});
  op.attr("scales", std::vector<float>{2, 2});
  auto y = op.run()[0];
  EXPECT_EQ(y.dims(), (Dims{2, 4}));
  expect_values(y, {1, 1, 2, 2, 1, 1, 2, 2});
}

// ---- grid sample / detection ----

TEST(GridSample, AlignedCornerGridReproducesInput) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor grid = f32({1, 2, 2, 2}, {-1, -1, 1, -1, -1, 1, 1, 1});
  OpCall op("GridSample", 16, {x, grid});
  op.attr("align_corners", int64_t(1));
  expect_values(op.run()[0], {1, 2, 3, 4});
  // The centre is the mean of the four pixels; far outside is 0 with zeros padding.
  OpCall mid("GridSample", 16, {x, f32({1, 1, 2, 2}, {0, 0, 5, 5})});
  expect_values(mid.run()[0], {2.5, 0});
  EXPECT_THROW(OpCall("GridSample", 16, {x, f32({1, 1, 1, 3}, {0, 0, 0})}).run(), Error);
}

TEST(Detection, NonMaxSuppressionKeepsBestOfOverlaps) {
  // Boxes 0 and 1 overlap (IoU 0.81); box 2 is apart.
  Tensor boxes = f32({1, 3, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 5, 5, 6, 6});
  Tensor scores = f32({1, 1, 3}, {0.8f, 0.9f, 0.3f});
  OpCall op("NonMaxSuppression", 11, {boxes, scores, i64({1}, {10}), f32({1}, {0.5f}), f32({1}, {0.0f})});
  auto y = op.run()[0];
  EXPECT_EQ(y.dims(), (Dims{2, 3}));
  expect_values(y, {0, 0, 1, 0, 0, 2});
  EXPECT_THROW(OpCall("NonMaxSuppression", 11, {boxes, f32({1, 1, 2}, {1, 1})}).run(), Error);
}

TEST(Detection, RoiAlignOfConstantInputIsConstant) {
  Tensor x = f32({1, 1, 4, 4}, std::vector<float>(16, 7));
  OpCall op("RoiAlign", 16, {x, f32({1, 4}, {0.5f, 0.5f, 2.5f, 2.5f}), i64({1}, {0})});
  op.attr("output_height", int64_t(2)).attr("output_width", int64_t(2));
  expect_values(op.run()[0], {7, 7, 7, 7});
  EXPECT_THROW(OpCall("RoiAlign", 16, {x, f32({1, 4}, {0, 0, 1, 1}), i64({1}, {3})}).run(), Error);
}

// ---- recurrent ----

TEST(Recurrent, RnnIsTanhOfInputWithIdentityWeights) {
  Tensor x = f32({2, 1, 1}, {0.5f, -1});
  OpCall op("RNN", 14, {x, f32({1, 1, 1}, {1}), f32({1, 1, 1}, {0})});
  auto out = op.run();
  expect_values(out[0], {std::tanh(0.5), std::tanh(-1.0)});
  expect_values(out[1], {std::tanh(-1.0)});
  auto types = op.infer();
  EXPECT_EQ(types[0].shape, Shape::from({2, 1, 1, 1}));
}

TEST(Recurrent, LstmWithZeroWeightsHalvesTheCell) {
  // All gates are sigmoid(0) = 0.5 and the candidate is tanh(0) = 0: c = 0.5 c0, h = 0.5 tanh(c).
  Tensor x = f32({1, 1, 1}, {3});
  Tensor w = f32({1, 4, 1}, {0, 0, 0, 0}), r = f32({1, 4, 1}, {0, 0, 0, 0});
  Tensor h0 = f32({1, 1, 1}, {0}), c0 = f32({1, 1, 1}, {1});
  OpCall op("LSTM", 14, {x, w, r, Tensor(), Tensor(), h0, c0});
  auto out = op.run();
  expect_values(out[2], {0.5});
  expect_values(out[1], {0.5 * std::tanh(0.5)});
}

TEST(Recurrent, BidirectionalGruHonoursSequenceLengths) {
  // Zero weights: z = 0.5, candidate 0, so h halves each step from h0 = 1.
  Tensor x = f32({3, 2, 1}, {1, 1, 1, 1, 1, 1});
  Tensor w = f32({2, 3, 1}, std::vector<float>(6, 0)), r = f32({2, 3, 1}, std::vector<float>(6, 0));
  Tensor h0 = f32({2, 2, 1}, {1, 1, 1, 1});
  Tensor lens = Tensor::from_vector<int32_t>({2}, {3, 1});
  OpCall op("GRU", 14, {x, w, r, Tensor(), lens, h0});
  op.attr("direction", std::string("bidirectional"));
  auto out = op.run();
  // Y_h [dirs, batch, 1]: batch 0 ran 3 steps, batch 1 one step.
  expect_values(out[1], {0.125, 0.5, 0.125, 0.5});
  // Y[t=1, dir 0, batch 1] is beyond batch 1's length: zero.
  EXPECT_EQ(out[0].get_double(((1 * 2 + 0) * 2 + 1)), 0.0);
  EXPECT_THROW(OpCall("GRU", 14, {x, w, r, Tensor(), Tensor::from_vector<int32_t>({2}, {4, 1})})
                   .attr("direction", std::string("bidirectional"))
                   .run(),
               Error);
}

// ---- signal ----

TEST(Signal, DftOfImpulseIsFlatAndWindowsMatchFormulas) {
  Tensor x = f32({1, 4, 1}, {1, 0, 0, 0});
  auto y = OpCall("DFT", 17, {x}).run()[0];
  EXPECT_EQ(y.dims(), (Dims{1, 4, 2}));
  expect_values(y, {1, 0, 1, 0, 1, 0, 1, 0});
  auto inv = OpCall("DFT", 17, {y}).attr("inverse", int64_t(1)).run()[0];
  expect_values(inv, {1, 0, 0, 0, 0, 0, 0, 0});
  auto hann = OpCall("HannWindow", 17, {Tensor::scalar<int64_t>(4)}).run()[0];
  expect_values(hann, {0, 0.5, 1, 0.5});
  auto sym = OpCall("HannWindow", 17, {Tensor::scalar<int64_t>(3)}).attr("periodic", int64_t(0)).run()[0];
  expect_values(sym, {0, 1, 0});
  EXPECT_THROW(OpCall("DFT", 17, {f32({1, 4, 3}, std::vector<float>(12, 0))}).run(), Error);
}

TEST(Signal, StftFramesTheSignal) {
  Tensor x = f32({1, 6, 1}, {1, 1, 1, 1, 1, 1});
  auto y = OpCall("STFT", 17, {x, Tensor::scalar<int64_t>(2), Tensor(), Tensor::scalar<int64_t>(4)}).run()[0];
  EXPECT_EQ(y.dims(), (Dims{1, 2, 3, 2}));
  expect_values(y, {4, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0});
}

// ---- training / random / tfidf ----

TEST(Training, MomentumStandardStep) {
  OpCall op("Momentum", 1, {f32({}, {0.1f}), i64({}, {1}), f32({1}, {1}), f32({1}, {2}), f32({1}, {3})},
            "ai.onnx.preview.training");
  op.attr("alpha", 0.5f).attr("beta", 1.0f).attr("norm_coefficient", 0.0f).attr("mode", std::string("standard"));
  auto out = op.run();
  expect_values(out[1], {0.5 * 3 + 2});              // v
  expect_values(out[0], {1 - 0.1 * (0.5 * 3 + 2)});  // x
  EXPECT_THROW(OpCall("Momentum", 1, {f32({}, {0.1f}), i64({}, {1}), f32({1}, {1})}, "ai.onnx.preview.training")
                   .attr("alpha", 0.5f)
                   .attr("beta", 1.0f)
                   .attr("norm_coefficient", 0.0f)
                   .attr("mode", std::string("standard"))
                   .run(),
               Error);
}

TEST(Random, SeededDrawsAreDeterministicAndInRange) {
  OpCall op("RandomUniform", 1, {});
  op.attr("shape", std::vector<int64_t>{100}).attr("seed", 3.0f).attr("low", 2.0f).attr("high", 4.0f);
  Tensor a = op.run()[0], b = op.run()[0];
  for (int64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(a.get_double(i), b.get_double(i));
    EXPECT_GE(a.get_double(i), 2.0);
    EXPECT_LT(a.get_double(i), 4.0);
  }
  auto bern = OpCall("Bernoulli", 15, {f32({3}, {0, 1, 0})}).attr("seed", 1.0f).run()[0];
  expect_values(bern, {0, 1, 0});
  EXPECT_THROW(OpCall("Bernoulli", 15, {f32({1}, {2})}).run(), Error);
}

TEST(TfIdf, CountsUnigramsAndSkipBigrams) {
  // Pool: unigram 7 -> column 0, bigram (7, 8) -> column 1.
  OpCall op("TfIdfVectorizer", 9, {i64({4}, {7, 8, 7, 9})});
  op.attr("min_gram_length", int64_t(1)).attr("max_gram_length", int64_t(2)).attr("max_skip_count", int64_t(1));
  op.attr("mode", std::string("TF")).attr("ngram_counts", std::vector<int64_t>{0, 1});
  op.attr("ngram_indexes", std::vector<int64_t>{0, 1}).attr("pool_int64s", std::vector<int64_t>{7, 7, 8});
  expect_values(op.run()[0], {2, 1});
  op.attr("max_skip_count", int64_t(2));  // 7 _ _ 9 adds nothing; (7, 8) still once
  expect_values(op.run()[0], {2, 1});
}

// ---- control flow ----

std::shared_ptr<Graph> add_body(
    const std::vector<std::string>& ins, const std::vector<std::string>& outs,
    const std::vector<std::tuple<std::string, std::string, std::string, std::string>>& nodes) {
  auto g = std::make_shared<Graph>();
  g->name = "body";
  g->inputs = ins;
  g->outputs = outs;
  for (const auto& [op, a, b, y] : nodes) {
    Node& n = g->add_node(op, b.empty() ? std::vector<std::string>{a} : std::vector<std::string>{a, b}, {y});
    n.op_version = 14;
  }
  return g;
}

TEST(ControlFlow, IfLoopAndScanRunTheirBodies) {
  Interpreter interp;
  // If: then returns outer x + x, else relu(x).
  auto then_g = add_body({}, {"t"}, {{"Add", "x", "x", "t"}});
  auto else_g = add_body({}, {"e"}, {{"Relu", "x", "", "e"}});
  Tensor x = f32({2}, {-1, 3});
  OpCall iff("If", 16, {Tensor::scalar<bool>(true)});
  iff.attr("then_branch", then_g).attr("else_branch", else_g);
  iff.node.outputs = {"y"};
  // Outer value x must be visible: run through a graph so the interpreter has a scope.
  Graph top;
  top.inputs = {"c", "x"};
  top.outputs = {"y"};
  Node& n = top.add_node("If", {"c"}, {"y"});
  n.op_version = 16;
  n.attrs = iff.node.attrs;
  expect_values(interp.run(top, {Tensor::scalar<bool>(true), x})[0], {-2, 6});
  expect_values(interp.run(top, {Tensor::scalar<bool>(false), x})[0], {0, 3});

  // Loop: 3 iterations of s = s + s, scan output of s each time.
  auto body = add_body({"i", "cond", "s"}, {"cond", "s2", "s2"}, {{"Add", "s", "s", "s2"}});
  OpCall loop("Loop", 16, {i64({}, {3}), Tensor(), f32({1}, {1})});
  loop.attr("body", body);
  loop.node.outputs = {"y0", "y1"};
  auto lo = loop.run(&interp);
  expect_values(lo[0], {8});
  EXPECT_EQ(lo[1].dims(), (Dims{3, 1}));
  expect_values(lo[1], {2, 4, 8});

  // Scan: running sum over axis 0 of [3, 2], reversed input direction.
  auto sbody = add_body({"acc", "row"}, {"acc2", "acc2"}, {{"Add", "acc", "row", "acc2"}});
  OpCall scan("Scan", 16, {f32({2}, {0, 0}), f32({3, 2}, {1, 2, 3, 4, 5, 6})});
  scan.attr("body", sbody).attr("num_scan_inputs", int64_t(1)).attr("scan_input_directions", std::vector<int64_t>{1});
  scan.node.outputs = {"y0", "y1"};
  auto so = scan.run(&interp);
  expect_values(so[0], {9, 12});
  expect_values(so[1], {5, 6, 8, 10, 9, 12});
  // Without a runner, control flow is an error rather than a crash.
  EXPECT_THROW(loop.run(nullptr), Error);
}

}  // namespace
}  // namespace wafer
