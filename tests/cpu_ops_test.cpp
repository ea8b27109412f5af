// The ops real models run between convolutions and matmuls on the cpu backend
// (activation_kernel.cpp, binary_kernel.cpp, deconv_kernel.cpp, resize_kernel.cpp,
// reduce_kernel.cpp, copy_kernel.cpp's Pad and Split, norm_kernel.cpp's softmax
// forms, the HardSwish/Tanh post-ops) against the reference backend on the same
// graphs, on odd shapes (tails that are no multiple of 16 or 8), after a
// convolution (a blocked input) and on plain inputs, and checking that the fast
// path ran (no reference fallback) where it must. The capped ctest runs repeat
// them at avx2 and scalar.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/program.h"
#include "graph_test_util.h"
#include "passes/cpu_pipeline.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;

// Nodes of g (after optimize() and after the cpu pipeline) that run on the reference kernel.
std::vector<std::string> fallbacks(const Graph& g, bool pipeline) {
  auto copy = g.clone();
  if (pipeline)
    cpu_pipeline(*copy);
  else
    optimize(*copy);
  return cpu::Program(std::move(copy), {}).fallback_nodes();
}

// Runs g on both backends: every output within rel L2 `tol` of the reference; with `fast`,
// no node falls back to the reference kernel (with or without the cpu pipeline's fusions).
void expect_matches(const Graph& g, const std::vector<Tensor>& inputs, bool fast = true, double tol = 1e-5) {
  auto want = run_on("reference", g, inputs), got = run_on("cpu", g, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < want.size(); ++o) {
    SCOPED_TRACE("output " + g.outputs[o]);
    ASSERT_EQ(got[o].dims(), want[o].dims());
    EXPECT_LE(rel_l2(got[o], want[o]), tol);
    for (int64_t i = 0; i < got[o].numel(); ++i)
      if (!std::isfinite(got[o].get_double(i)) && std::isfinite(want[o].get_double(i))) {
        ADD_FAILURE() << "element " << i << " is " << got[o].get_double(i);
        break;
      }
  }
  if (fast) {
    EXPECT_EQ(fallbacks(g, false), std::vector<std::string>{});
    EXPECT_EQ(fallbacks(g, true), std::vector<std::string>{});
  }
}

// A 3x3 same-padded Conv "x" -> "c" with `out` channels: its output is blocked (nChw16c / oneDNN's choice).
void add_conv(Graph& g, const Dims& xd, int64_t out, std::mt19937& rng, const std::string& y = "c") {
  g.initializers["w_" + y] = random_tensor({out, xd[1], 3, 3}, rng, 0.3f);
  Node& c = add_named(g, "Conv", {"x", "w_" + y}, {y}, 11);
  c.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
}

// A 1-channel map left padded in nChw16c (here: a 3x3 conv to one channel in a graph with a
// depthwise conv, which keeps every conv blocked) must not run oneDNN's reference eltwise:
// the Sigmoid reads it converted to plain and runs jitted (IS-Net's mask heads).
TEST(CpuOps, ActivationOnAOneChannelBlockedMapRunsJitted) {
  std::mt19937 rng(103);
  Graph g = input_graph({1, 16, 12, 12});
  g.initializers["wd"] = random_tensor({16, 1, 3, 3}, rng, 0.3f);
  Node& dw = add_named(g, "Conv", {"x", "wd"}, {"d"}, 11);
  dw.attrs["group"] = Attribute{int64_t(16)};
  dw.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  g.initializers["w1"] = random_tensor({1, 16, 3, 3}, rng, 0.3f);
  add_named(g, "Conv", {"d", "w1"}, {"m"}, 11).attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  add_named(g, "Sigmoid", {"m"}, {"y"}, 13);
  add_named(g, "Add", {"m", "m"}, {"z"}, 14);  // a second reader: the Sigmoid stays a step of its own
  g.outputs = {"y", "z"};
  Tensor x = random_tensor({1, 16, 12, 12}, rng);
  expect_matches(g, {x});
  auto lowered = g.clone();
  cpu_pipeline(*lowered);
  cpu::Program p(std::move(lowered), {});
  bool found = false;
  for (const auto& s : p.profile().steps)
    if (s.op == "Sigmoid") {
      found = true;
      EXPECT_EQ(s.library, "oneDNN");
      EXPECT_NE(s.kernel.rfind("ref", 0), 0u) << s.kernel;  // jit:avx512_core, jit:avx2, jit:sse41
    }
  EXPECT_TRUE(found);
}

TEST(CpuOps, ActivationsOnPlainAndBlockedInputs) {
  std::mt19937 rng(101);
  struct Act {
    std::string op;
    int version;
    std::map<std::string, float> attrs;
  };
  std::vector<Act> acts = {{"Sigmoid", 13, {}},
                           {"Tanh", 13, {}},
                           {"HardSwish", 14, {}},
                           {"HardSigmoid", 6, {{"alpha", 0.3f}, {"beta", 0.4f}}},
                           {"LeakyRelu", 6, {{"alpha", 0.07f}}},
                           {"Elu", 6, {{"alpha", 0.8f}}},
                           {"Exp", 13, {}},
                           {"Abs", 13, {}},
                           {"Neg", 13, {}},
                           {"Clip", 6, {{"min", -0.2f}, {"max", 0.3f}}}};
  const Dims xd = {2, 5, 7, 9};  // 630 elements per image: tails at 16 and 8
  for (const auto& a : acts) {
    for (bool blocked : {false, true}) {
      SCOPED_TRACE(a.op + (blocked ? " after a conv" : " on the input"));
      Graph g = input_graph(xd);
      std::string in = "x";
      if (blocked) {
        add_conv(g, xd, 19, rng);
        in = "c";
      }
      Node& n = add_named(g, a.op, {in}, {"y"}, a.version);
      for (const auto& [k, v] : a.attrs) n.attrs[k] = Attribute{v};
      // A second reader keeps a conv from absorbing the activation: the stand-alone kernel runs.
      if (blocked) {
        add_named(g, "Relu", {in}, {"r"});
        g.outputs = {"y", "r"};
      } else {
        g.outputs = {"y"};
      }
      expect_matches(g, {random_tensor(xd, rng, 3.f)});
    }
  }
}

// (Log stays on the reference kernel: oneDNN 2.6's jitted log is off by ~1e-6 at 1, where ONNX's tests want 0.)
TEST(CpuOps, UnaryMathAndClipInputsAndChains) {
  std::mt19937 rng(103);
  const Dims xd = {3, 17};
  Graph g = input_graph(xd);
  g.initializers["lo"] = Tensor::from_vector<float>({}, {0.3f});
  g.initializers["hi"] = Tensor::from_vector<float>({}, {1.7f});
  g.initializers["two"] = Tensor::from_vector<float>({}, {2.f});
  g.initializers["three"] = Tensor::from_vector<float>({1}, {3.f});
  add_named(g, "Sqrt", {"x"}, {"sq"});
  add_named(g, "Reciprocal", {"x"}, {"rc"});
  add_named(g, "Pow", {"x", "two"}, {"p2"}, 15);
  add_named(g, "Pow", {"x", "three"}, {"p3"}, 15);
  add_named(g, "Clip", {"x", "lo", "hi"}, {"cl"});
  add_named(g, "Clip", {"x", "", "hi"}, {"ch"});
  // Tanh -> HardSwish: the second becomes a post-op of the first.
  add_named(g, "Tanh", {"x"}, {"t"});
  add_named(g, "HardSwish", {"t"}, {"ths"}, 14);
  g.outputs = {"sq", "rc", "p2", "p3", "cl", "ch", "ths"};
  expect_matches(g, {random_tensor(xd, rng, 0.1f, 4.f)});
}

TEST(CpuOps, BroadcastingBinaryOpsEveryKind) {
  std::mt19937 rng(107);
  const Dims full = {1, 21, 9, 11};
  // Right-aligned broadcasts: per channel, spatial, last axis, scalar, rank-1 channel-less, mixed.
  std::vector<Dims> others = {{1, 21, 1, 1}, {21, 1, 1}, {1, 1, 9, 11}, {11}, {}, {1}, {1, 21, 1, 11}, {9, 1}};
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
    for (const Dims& od : others) {
      for (bool swap : {false, true}) {
        for (bool blocked : {false, true}) {
          SCOPED_TRACE(std::string(op) + " " + dims_to_string(od) + (swap ? " first" : " second") +
                       (blocked ? " blocked" : " plain"));
          Graph g = input_graph(full);
          g.inputs.push_back("b");
          g.types["b"] = f32(od);
          std::string a = "x";
          if (blocked) {
            Dims xd = {1, 6, 9, 11};
            g.types["x"] = f32(xd);
            add_conv(g, xd, 21, rng);
            a = "c";
          }
          add_named(g, op, swap ? std::vector<std::string>{"b", a} : std::vector<std::string>{a, "b"}, {"y"});
          g.outputs = {"y"};
          Tensor x = random_tensor(blocked ? Dims{1, 6, 9, 11} : full, rng);
          Tensor b = random_tensor(od, rng, 0.5f, 2.f);  // away from 0 for Div
          // A broadcast first operand of Div stays on the reference kernel (oneDNN broadcasts src1 only).
          bool fast = !(swap && std::string(op) == "Div");
          // b / conv output: the quotient magnifies the convolutions' rounding near their zeros.
          expect_matches(g, {x, b}, fast, fast || !blocked ? 1e-5 : 1e-2);
        }
      }
    }
  }
}

TEST(CpuOps, BinaryAbsorbsTheActivationAfterIt) {
  std::mt19937 rng(109);
  const Dims xd = {1, 3, 10, 13};
  Graph g = input_graph(xd);
  add_conv(g, xd, 24, rng);
  g.initializers["s"] = random_tensor({1, 24, 1, 1}, rng);
  add_named(g, "Mul", {"c", "s"}, {"m"});
  add_named(g, "HardSigmoid", {"m"}, {"y"}, 6);
  g.outputs = {"y"};
  expect_matches(g, {random_tensor(xd, rng)});
  auto copy = g.clone();
  optimize(*copy);
  cpu::Program p(std::move(copy), {});
  EXPECT_EQ(p.step_counts().count("HardSigmoid"), 0u);  // a post-op of the Mul
}

TEST(CpuOps, ConvTransposeGeometries) {
  std::mt19937 rng(113);
  struct Case {
    Dims x;
    int64_t out_per_group, group;
    Dims kernel, strides, pads, output_padding, dilations, output_shape;
    std::string auto_pad;
    bool bias;
  };
  std::vector<Case> cases = {
      {{1, 5, 7, 9}, 7, 1, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, {}, {}, "", true},  // torch's 2x upsampling
      {{2, 6, 5, 4}, 3, 2, {4, 4}, {2, 2}, {1, 1, 1, 1}, {}, {}, {}, "", false},     // grouped
      {{1, 4, 6, 5}, 1, 4, {3, 3}, {1, 2}, {0, 1, 2, 0}, {}, {2, 1}, {}, "", true},  // depthwise, dilated, asymmetric
      {{1, 3, 5, 5}, 5, 1, {3, 3}, {2, 2}, {}, {}, {}, {}, "SAME_UPPER", true},
      {{1, 3, 4, 6}, 2, 1, {3, 3}, {2, 2}, {}, {}, {}, {8, 12}, "", false},                     // output_shape
      {{2, 3, 11}, 4, 1, {5}, {3}, {2, 1}, {2}, {}, {}, "", true},                              // 1-D
      {{1, 2, 3, 4, 5}, 3, 1, {2, 3, 3}, {2, 1, 2}, {0, 1, 1, 0, 1, 1}, {}, {}, {}, "", true},  // 3-D
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(dims_to_string(c.x) + " k" + dims_to_string(c.kernel) + " g" + std::to_string(c.group));
    Graph g = input_graph(c.x);
    Dims wd = {c.x[1], c.out_per_group};
    wd.insert(wd.end(), c.kernel.begin(), c.kernel.end());
    g.initializers["w"] = random_tensor(wd, rng, 0.5f);
    std::vector<std::string> ins = {"x", "w"};
    if (c.bias) {
      g.initializers["b"] = random_tensor({c.out_per_group * c.group}, rng);
      ins.push_back("b");
    }
    Node& n = add_named(g, "ConvTranspose", ins, {"y"}, 11);
    n.attrs["group"] = Attribute{c.group};
    n.attrs["strides"] = Attribute{c.strides};
    if (!c.pads.empty()) n.attrs["pads"] = Attribute{c.pads};
    if (!c.output_padding.empty()) n.attrs["output_padding"] = Attribute{c.output_padding};
    if (!c.dilations.empty()) n.attrs["dilations"] = Attribute{c.dilations};
    if (!c.output_shape.empty()) n.attrs["output_shape"] = Attribute{c.output_shape};
    if (!c.auto_pad.empty()) n.attrs["auto_pad"] = Attribute{c.auto_pad};
    g.outputs = {"y"};
    expect_matches(g, {random_tensor(c.x, rng)});
  }
}

// 1-D (oneDNN's deconvolution) absorbs the residual Add and the activation as post-ops; 2-D (GEMM +
// col2im) leaves them to their own fast steps.
TEST(CpuOps, ConvTransposeEpilogues) {
  std::mt19937 rng(127);
  for (bool two_d : {false, true}) {
    SCOPED_TRACE(two_d ? "2-D" : "1-D");
    const Dims xd = two_d ? Dims{1, 8, 6, 7} : Dims{1, 8, 13};
    const Dims yd = two_d ? Dims{1, 16, 12, 14} : Dims{1, 16, 26};
    Graph g = input_graph(xd);
    g.inputs.push_back("r");
    g.types["r"] = f32(yd);
    g.initializers["w"] = random_tensor(two_d ? Dims{8, 16, 2, 2} : Dims{8, 16, 2}, rng, 0.5f);
    g.initializers["b"] = random_tensor({16}, rng);
    Node& n = add_named(g, "ConvTranspose", {"x", "w", "b"}, {"u"}, 11);
    n.attrs["strides"] = Attribute{two_d ? Dims{2, 2} : Dims{2}};
    add_named(g, "Add", {"u", "r"}, {"s"});
    add_named(g, "LeakyRelu", {"s"}, {"y"}, 6).attrs["alpha"] = Attribute{0.1f};
    g.outputs = {"y"};
    expect_matches(g, {random_tensor(xd, rng), random_tensor(yd, rng)});
    auto copy = g.clone();
    optimize(*copy);
    cpu::Program p(std::move(copy), {});
    auto counts = p.step_counts();
    EXPECT_EQ(counts.count("Add") + counts.count("LeakyRelu"), two_d ? 2u : 0u);
    EXPECT_EQ(counts.count("col2im"), two_d ? 1u : 0u);
  }
}

TEST(CpuOps, ResizeModesOnOneDnnAndTheRest) {
  std::mt19937 rng(131);
  struct Case {
    std::string mode, coord, nearest;
    Dims x;
    std::vector<float> scales;
    Dims sizes;
    bool fast;  // oneDNN computes exactly this mapping
  };
  std::vector<Case> cases = {
      {"nearest", "asymmetric", "floor", {1, 3, 5, 7}, {1, 1, 2, 2}, {}, true},  // torch nearest x2
      {"nearest", "asymmetric", "floor", {2, 2, 3, 5}, {1, 1, 3, 4}, {}, true},
      {"nearest", "half_pixel", "round_prefer_floor", {1, 4, 5, 3}, {1, 1, 2, 3}, {}, true},
      {"nearest", "pytorch_half_pixel", "round_prefer_ceil", {1, 2, 4, 4}, {}, {1, 2, 12, 8}, true},
      {"linear", "pytorch_half_pixel", "", {1, 3, 5, 7}, {}, {1, 3, 13, 17}, true},  // torch bilinear
      {"linear", "half_pixel", "", {1, 2, 9, 11}, {}, {1, 2, 4, 5}, true},           // downscale
      {"linear", "half_pixel", "", {1, 2, 4, 6}, {1, 1, 2.5f, 1.5f}, {}, true},
      {"linear", "half_pixel", "", {1, 2, 3, 4, 5}, {1, 1, 2, 2, 2}, {}, true},  // trilinear
      // Not oneDNN's mapping: the reference kernel, same answers.
      {"linear", "align_corners", "", {1, 3, 5, 7}, {}, {1, 3, 9, 13}, false},
      {"nearest", "asymmetric", "round_prefer_floor", {1, 2, 4, 4}, {1, 1, 3, 3}, {}, false},
      {"nearest", "asymmetric", "floor", {1, 2, 8, 8}, {1, 1, 0.5f, 0.5f}, {}, false},
      {"cubic", "half_pixel", "", {1, 2, 4, 4}, {1, 1, 2, 2}, {}, false},
  };
  for (const auto& c : cases) {
    for (bool blocked : {false, true}) {
      SCOPED_TRACE(c.mode + " " + c.coord + " " + c.nearest + " " + dims_to_string(c.x) + (blocked ? " blocked" : ""));
      Graph g = input_graph(c.x);
      std::string in = "x";
      Dims x = c.x;
      if (blocked) {
        if (c.x.size() != 4) continue;
        Dims conv_in = {c.x[0], 3, c.x[2], c.x[3]};
        g.types["x"] = f32(conv_in);
        add_conv(g, conv_in, c.x[1], rng);
        in = "c";
        x = conv_in;
      }
      g.initializers["roi"] = Tensor(DType::Float32, {0});
      std::vector<std::string> ins = {in, "roi"};
      if (!c.scales.empty()) {
        g.initializers["scales"] = Tensor::from_vector<float>({int64_t(c.scales.size())}, c.scales);
        ins.push_back("scales");
      } else {
        g.initializers["sizes"] = ints(c.sizes);
        ins.push_back("");
        ins.push_back("sizes");
      }
      Node& n = add_named(g, "Resize", ins, {"y"}, 13);
      n.attrs["mode"] = Attribute{c.mode};
      n.attrs["coordinate_transformation_mode"] = Attribute{c.coord};
      if (!c.nearest.empty()) n.attrs["nearest_mode"] = Attribute{c.nearest};
      g.outputs = {"y"};
      expect_matches(g, {random_tensor(x, rng)}, c.fast);
      if (!c.fast) {
        EXPECT_EQ(fallbacks(g, false), std::vector<std::string>{"Resize \"Resize_y\""});
      }
    }
  }
}

TEST(CpuOps, ReductionsAxesAndKeepdims) {
  std::mt19937 rng(137);
  const Dims xd = {2, 19, 5, 7};
  struct Case {
    std::string op;
    int version;
    Dims axes;
    int keepdims;
    bool axes_input;
  };
  std::vector<Case> cases = {
      {"ReduceMean", 13, {2, 3}, 1, false}, {"ReduceMean", 18, {-1, -2}, 0, true},
      {"ReduceSum", 13, {1}, 1, true},      {"ReduceSum", 13, {}, 1, true},
      {"ReduceMax", 13, {3}, 0, false},     {"ReduceMin", 13, {0, 2}, 1, false},
      {"ReduceProd", 13, {3}, 1, false},    {"ReduceL1", 13, {1, 3}, 0, false},
      {"ReduceL2", 13, {2}, 1, false},      {"ReduceSumSquare", 13, {3}, 0, false},
      {"ReduceMean", 13, {}, 1, false},
  };
  for (const auto& c : cases) {
    for (bool blocked : {false, true}) {
      SCOPED_TRACE(c.op + " axes " + dims_to_string(c.axes) + " keepdims " + std::to_string(c.keepdims) +
                   (blocked ? " blocked" : ""));
      Graph g = input_graph(xd);
      std::string in = "x";
      Dims x = xd;
      if (blocked) {
        x = {2, 4, 5, 7};
        g.types["x"] = f32(x);
        add_conv(g, x, 19, rng);
        in = "c";
      }
      std::vector<std::string> ins = {in};
      if (c.axes_input && !c.axes.empty()) {
        g.initializers["axes"] = ints(c.axes);
        ins.push_back("axes");
      }
      Node& n = add_named(g, c.op, ins, {"y"}, c.version);
      if (!c.axes_input && !c.axes.empty()) n.attrs["axes"] = Attribute{c.axes};
      n.attrs["keepdims"] = Attribute{int64_t(c.keepdims)};
      g.outputs = {"y"};
      // Products of 35 values in [0.5, 1.5) stay well inside float range.
      expect_matches(g, {random_tensor(x, rng, 0.5f, 1.5f)}, true, 1e-5);
    }
  }
}

TEST(CpuOps, PadConstantFormsAndSplit) {
  std::mt19937 rng(139);
  const Dims xd = {2, 3, 5, 7};
  Graph g = input_graph(xd);
  g.initializers["pads"] = ints({0, 1, 2, 3, 1, 0, 1, 2});
  g.initializers["value"] = Tensor::from_vector<float>({}, {-1.5f});
  add_named(g, "Pad", {"x", "pads", "value"}, {"p13"});
  Node& p2 = add_named(g, "Pad", {"x"}, {"p2"}, 2);
  p2.attrs["pads"] = Attribute{Dims{1, 0, 0, 1, 0, 2, 3, 0}};
  p2.attrs["value"] = Attribute{0.25f};
  g.initializers["split"] = ints({1, 4, 2});
  Node& s13 = add_named(g, "Split", {"x", "split"}, {"s0", "s1", "s2"});
  s13.attrs["axis"] = Attribute{int64_t(-1)};
  Node& s11 = add_named(g, "Split", {"x"}, {"t0", "t1"}, 11);
  s11.attrs["axis"] = Attribute{int64_t(1)};
  s11.attrs["split"] = Attribute{Dims{2, 1}};
  g.outputs = {"p13", "p2", "s0", "s1", "s2", "t0", "t1"};
  expect_matches(g, {random_tensor(xd, rng)});
  Graph h = input_graph({6, 5});
  add_named(h, "Split", {"x"}, {"a", "b", "c"});  // no sizes: three equal parts of 2 rows
  h.outputs = {"a", "b", "c"};
  expect_matches(h, {random_tensor({6, 5}, rng)});
  // Reflect mode stays on the reference kernel.
  Graph r = input_graph(xd);
  r.initializers["pads"] = ints({0, 0, 1, 1, 0, 0, 1, 1});
  add_named(r, "Pad", {"x", "pads"}, {"y"}).attrs["mode"] = Attribute{std::string("reflect")};
  r.outputs = {"y"};
  expect_matches(r, {random_tensor(xd, rng)}, false);
}

TEST(CpuOps, SoftmaxFormsAndRanges) {
  std::mt19937 rng(149);
  for (int64_t d : {1, 7, 33, 1000}) {
    SCOPED_TRACE("row of " + std::to_string(d));
    Graph g = input_graph({3, d});
    add_named(g, "Softmax", {"x"}, {"y"});
    add_named(g, "LogSoftmax", {"x"}, {"z"});
    g.outputs = {"y", "z"};
    // Logits across [-90, 90]: exp underflows far from the max, as in real classifiers' tails.
    expect_matches(g, {random_tensor({3, d}, rng, -90.f, 90.f)}, true, 1e-5);
  }
  // Opset 11: the input flattened at axis 1 ([2, 5*6]); opset 13 along an inner axis (oneDNN).
  Graph g = input_graph({2, 5, 6});
  add_named(g, "Softmax", {"x"}, {"flat"}, 11);
  add_named(g, "LogSoftmax", {"x"}, {"flat_log"}, 11).attrs["axis"] = Attribute{int64_t(2)};
  add_named(g, "Softmax", {"x"}, {"inner"}).attrs["axis"] = Attribute{int64_t(1)};
  add_named(g, "LogSoftmax", {"x"}, {"inner_log"}).attrs["axis"] = Attribute{int64_t(0)};
  g.outputs = {"flat", "flat_log", "inner", "inner_log"};
  expect_matches(g, {random_tensor({2, 5, 6}, rng, 4.f)});
}

TEST(CpuOps, ConvAbsorbsHardSwishAndTanh) {
  std::mt19937 rng(151);
  const Dims xd = {1, 5, 9, 10};
  for (const char* act : {"HardSwish", "Tanh"}) {
    SCOPED_TRACE(act);
    Graph g = input_graph(xd);
    add_conv(g, xd, 20, rng);
    add_named(g, act, {"c"}, {"y"}, 14);
    g.outputs = {"y"};
    expect_matches(g, {random_tensor(xd, rng, 2.f)});
    auto copy = g.clone();
    cpu_pipeline(*copy);
    ASSERT_EQ(copy->nodes.size(), 1u);
    EXPECT_EQ(copy->nodes[0]->op_type, "FusedConv");
    EXPECT_EQ(copy->nodes[0]->attr_string("activation", ""), act);
  }
}

TEST(CpuOps, ZeroSizeTensorsStillMatch) {
  std::mt19937 rng(157);
  Graph g = input_graph({0, 4});
  g.initializers["b"] = random_tensor({4}, rng);
  add_named(g, "Mul", {"x", "b"}, {"m"});
  add_named(g, "Sigmoid", {"m"}, {"y"});
  g.outputs = {"y"};
  auto got = run_on("cpu", g, {Tensor(DType::Float32, {0, 4})});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].dims(), (Dims{0, 4}));
}

}  // namespace
}  // namespace wafer
