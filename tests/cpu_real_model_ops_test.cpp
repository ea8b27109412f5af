// What the real models of bench/real_models.py need on the cpu backend: an If on a small integer input
// (the sample rate) specialized to the branch taken and inlined (passes/inline_if.h, cpu_backend.cpp),
// the LSTM kernel (lstm_kernel.cpp), fp16 graphs computed in fp32 (passes/promote_fp16.h) and a
// BatchNormalization after a ConvTranspose as Mul + Add (fold_conv_bn.cpp), each against the reference
// backend; the capped ctest runs repeat them at avx2 and scalar.
#include <gtest/gtest.h>

#include <random>

#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "graph_test_util.h"
#include "passes/cpu_pipeline.h"
#include "passes/inline_if.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;

// An LSTM "x" [T,B,I] -> y, yh, yc with random weights; optional bias and initial state.
Graph lstm_graph(int64_t T, int64_t B, int64_t I, int64_t H, bool bias, bool state, uint32_t seed) {
  std::mt19937 rng(seed);
  Graph g = input_graph({T, B, I});
  g.initializers["W"] = random_tensor({1, 4 * H, I}, rng, 0.5f);
  g.initializers["R"] = random_tensor({1, 4 * H, H}, rng, 0.5f);
  std::vector<std::string> in = {"x", "W", "R"};
  if (bias || state) {
    in.push_back(bias ? "B" : "");
    if (bias) g.initializers["B"] = random_tensor({1, 8 * H}, rng, 0.5f);
  }
  if (state) {
    in.insert(in.end(), {"", "h0", "c0"});
    g.initializers["h0"] = random_tensor({1, B, H}, rng, 0.5f);
    g.initializers["c0"] = random_tensor({1, B, H}, rng, 0.5f);
  }
  Node& n = add_named(g, "LSTM", in, {"y", "yh", "yc"}, 14);
  n.attrs["hidden_size"] = Attribute{H};
  g.outputs = {"y", "yh", "yc"};
  return g;
}

// The graph compiled for the cpu backend with per-step profiling on (reference_steps reads what fell back).
std::unique_ptr<Executable> profiled_cpu(const Graph& g) {
  CompileOptions opts;
  auto exe = make_backend("cpu", &opts)->compile(g, opts);
  exe->set_profiling(true);
  return exe;
}

std::vector<std::string> reference_steps(Executable& exe) {
  std::vector<std::string> out;
  for (const auto& s : exe.profile().steps)
    if (s.library == "reference") out.push_back(s.label);
  return out;
}

void expect_close(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < want.size(); ++o) {
    SCOPED_TRACE("output " + std::to_string(o));
    ASSERT_EQ(got[o].dims(), want[o].dims());
    EXPECT_LE(rel_l2(got[o], want[o]), tol);
  }
}

TEST(CpuRealModelOps, LstmMatchesTheReferenceWithoutFallback) {
  // Odd sizes (vector tails), several steps and rows, with and without bias and initial state.
  struct Case {
    int64_t T, B, I, H;
    bool bias, state;
  };
  for (const Case& c : {Case{1, 1, 128, 128, true, true}, Case{3, 2, 5, 7, true, false},
                        Case{4, 3, 19, 33, false, true}, Case{2, 1, 64, 64, false, false}}) {
    SCOPED_TRACE("T " + std::to_string(c.T) + " B " + std::to_string(c.B) + " I " + std::to_string(c.I) + " H " +
                 std::to_string(c.H));
    Graph g = lstm_graph(c.T, c.B, c.I, c.H, c.bias, c.state, uint32_t(c.I * 31 + c.H));
    std::mt19937 rng(7);
    Tensor x = random_tensor({c.T, c.B, c.I}, rng);
    auto want = run_on("reference", g, {x});
    auto exe = profiled_cpu(g);
    expect_close(exe->run({x}), want, 1e-5);
    EXPECT_EQ(reference_steps(*exe), std::vector<std::string>{});
  }
}

TEST(CpuRealModelOps, LstmFormsWithoutAKernelStillMatch) {
  // Reverse direction: the reference kernel runs it, with the same results.
  Graph g = lstm_graph(3, 2, 6, 5, true, true, 3);
  g.nodes[0]->attrs["direction"] = Attribute{std::string("reverse")};
  std::mt19937 rng(9);
  Tensor x = random_tensor({3, 2, 6}, rng);
  auto exe = profiled_cpu(g);
  expect_close(exe->run({x}), run_on("reference", g, {x}), 1e-6);
  EXPECT_EQ(reference_steps(*exe), std::vector<std::string>{"LSTM \"LSTM_y\""});
}

// Silero VAD's shape: Equal(sr, 16000) -> If(then: Conv + Relu on x, else: Neg of x), sr an int64 scalar input.
Graph sample_rate_graph() {
  std::mt19937 rng(5);
  Graph g;
  g.inputs = {"x", "sr"};
  g.types["x"] = f32({1, 3, 9, 11});
  g.types["sr"] = ValueType{DType::Int64, Shape::from(Dims{})};
  g.initializers["rate"] = Tensor::scalar<int64_t>(16000);
  add_named(g, "Equal", {"sr", "rate"}, {"is16k"});
  auto then_g = std::make_shared<Graph>();
  then_g->initializers["w"] = random_tensor({8, 3, 3, 3}, rng, 0.3f);
  Node& conv = add_named(*then_g, "Conv", {"x", "w"}, {"c"}, 11);
  conv.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  add_named(*then_g, "Relu", {"c"}, {"t"});
  then_g->outputs = {"t"};
  auto else_g = std::make_shared<Graph>();
  add_named(*else_g, "Neg", {"x"}, {"e"});
  else_g->outputs = {"e"};
  Node& n = add_named(g, "If", {"is16k"}, {"y"}, 16);
  n.attrs["then_branch"] = Attribute{then_g};
  n.attrs["else_branch"] = Attribute{else_g};
  g.outputs = {"y"};
  return g;
}

TEST(CpuRealModelOps, IfOnASmallInputRunsTheBranchTakenOnFastKernels) {
  Graph g = sample_rate_graph();
  std::mt19937 rng(11);
  Tensor x = random_tensor({1, 3, 9, 11}, rng);
  auto exe = profiled_cpu(g);
  for (int64_t rate : {16000, 8000, 16000}) {
    SCOPED_TRACE("sr " + std::to_string(rate));
    std::vector<Tensor> in = {x, Tensor::scalar<int64_t>(rate)};
    auto want = run_on("reference", g, in);
    expect_close(exe->run(in), want, 1e-5);
    // Each value gets its own program: the branch it takes is inlined, nothing runs on the interpreter.
    EXPECT_EQ(reference_steps(*exe), std::vector<std::string>{});
    ASSERT_EQ(want[0].dims(), (Dims{1, rate == 16000 ? 8 : 3, 9, 11}));
  }
}

TEST(CpuRealModelOps, ManyValuesOfTheSelectorFallBackToTheInterpreter) {
  // Four values get a program each; the fifth and later run the interpreted program, still correct.
  Graph g = sample_rate_graph();
  std::mt19937 rng(13);
  Tensor x = random_tensor({1, 3, 9, 11}, rng);
  auto exe = profiled_cpu(g);
  for (int64_t rate : {1, 2, 3, 4, 5, 16000}) {
    SCOPED_TRACE("sr " + std::to_string(rate));
    std::vector<Tensor> in = {x, Tensor::scalar<int64_t>(rate)};
    expect_close(exe->run(in), run_on("reference", g, in), 1e-5);
    EXPECT_EQ(reference_steps(*exe).empty(), rate <= 4);
  }
}

// x -> [Cast fp16] -> Conv (fp16 weights, bias) -> Relu -> [Cast fp32] -> y; with fp16_io the graph's
// input and output are fp16 themselves (no Casts).
Graph fp16_conv_graph(bool fp16_io) {
  std::mt19937 rng(17);
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = ValueType{fp16_io ? DType::Float16 : DType::Float32, Shape::from(Dims{1, 3, 10, 7})};
  g.initializers["w"] = random_tensor({6, 3, 3, 3}, rng, 0.3f).cast(DType::Float16);
  g.initializers["b"] = random_tensor({6}, rng, 0.3f).cast(DType::Float16);
  std::string in = "x";
  if (!fp16_io) {
    add_named(g, "Cast", {"x"}, {"x16"}).attrs["to"] = Attribute{int64_t(10)};
    in = "x16";
  }
  Node& conv = add_named(g, "Conv", {in, "w", "b"}, {"c"}, 11);
  conv.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  add_named(g, "Relu", {"c"}, {fp16_io ? "y" : "r"});
  if (!fp16_io) add_named(g, "Cast", {"r"}, {"y"}).attrs["to"] = Attribute{int64_t(1)};
  g.outputs = {"y"};
  g.types["y"] = ValueType{fp16_io ? DType::Float16 : DType::Float32, Shape::from(Dims{1, 6, 10, 7})};  // as imported
  return g;
}

TEST(CpuRealModelOps, Fp16ModelsComputeInFp32OnTheFastKernels) {
  for (bool fp16_io : {false, true}) {
    SCOPED_TRACE(fp16_io ? "fp16 input and output" : "fp32 input and output, fp16 inside");
    Graph g = fp16_conv_graph(fp16_io);
    std::mt19937 rng(19);
    Tensor x = random_tensor({1, 3, 10, 7}, rng);
    if (fp16_io) x = x.cast(DType::Float16);
    auto want = run_on("reference", g, {x});  // fp16 arithmetic
    auto exe = profiled_cpu(g);
    auto got = exe->run({x});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].dtype(), fp16_io ? DType::Float16 : DType::Float32);
    // fp32 instead of fp16 arithmetic: within fp16 rounding (2^-11 relative per op), not bit-equal.
    EXPECT_LE(rel_l2(got[0], want[0]), 2e-3);
    // With an fp32 output the fp16 rounding of the result is gone: not bit-equal. (An fp16 output rounds
    // once at the end, as the reference does.)
    if (!fp16_io) {
      EXPECT_GT(rel_l2(got[0], want[0]), 0.0);
    }
    for (const auto& step : reference_steps(*exe)) EXPECT_EQ(step.find("Conv"), std::string::npos) << step;
  }
}

TEST(CpuRealModelOps, BatchNormAfterConvTransposeRunsAsMulAdd) {
  // PP-OCRv4 detection's head: ConvTranspose -> BatchNormalization -> Relu (no Conv to fold the BN into).
  std::mt19937 rng(23);
  Graph g = input_graph({1, 6, 5, 7});
  g.initializers["w"] = random_tensor({6, 4, 2, 2}, rng, 0.3f);
  Node& up = add_named(g, "ConvTranspose", {"x", "w"}, {"u"}, 11);
  up.attrs["strides"] = Attribute{Dims{2, 2}};
  g.initializers["scale"] = random_tensor({4}, rng, 0.5f, 1.5f);
  g.initializers["beta"] = random_tensor({4}, rng, 0.5f);
  g.initializers["mean"] = random_tensor({4}, rng, 0.5f);
  g.initializers["var"] = random_tensor({4}, rng, 0.5f, 2.0f);
  add_named(g, "BatchNormalization", {"u", "scale", "beta", "mean", "var"}, {"b"}, 15);
  add_named(g, "Relu", {"b"}, {"y"});
  g.outputs = {"y"};
  Tensor x = random_tensor({1, 6, 5, 7}, rng);
  auto exe = profiled_cpu(g);
  expect_close(exe->run({x}), run_on("reference", g, {x}), 1e-5);
  EXPECT_EQ(reference_steps(*exe), std::vector<std::string>{});
}

TEST(CpuRealModelOps, PaddleHardSwishFoldsIntoTheConv) {
  // PP-LCNet's HardSwish: Div(Mul(c, Clip(Add(c, 3), 0, 6)), 6) after a Conv, Clip-6 (attributes) and -11.
  for (int clip_version : {6, 11}) {
    SCOPED_TRACE("Clip-" + std::to_string(clip_version));
    std::mt19937 rng(29);
    Graph g = input_graph({1, 3, 9, 13});
    g.initializers["w"] = random_tensor({5, 3, 3, 3}, rng, 0.8f);
    Node& conv = add_named(g, "Conv", {"x", "w"}, {"c"}, 11);
    conv.attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
    g.initializers["three"] = Tensor::scalar<float>(3.0f);
    g.initializers["six"] = Tensor::scalar<float>(6.0f);
    g.initializers["zero"] = Tensor::scalar<float>(0.0f);
    add_named(g, "Add", {"three", "c"}, {"a"});
    if (clip_version == 6) {
      Node& clip = add_named(g, "Clip", {"a"}, {"k"}, 6);
      clip.attrs["min"] = Attribute{0.0f};
      clip.attrs["max"] = Attribute{6.0f};
    } else {
      add_named(g, "Clip", {"a", "zero", "six"}, {"k"}, 11);
    }
    add_named(g, "Mul", {"k", "c"}, {"m"});
    add_named(g, "Div", {"m", "six"}, {"y"});
    g.outputs = {"y"};
    auto fused = g.clone();
    cpu_pipeline(*fused);
    ASSERT_EQ(fused->nodes.size(), 1u);
    EXPECT_EQ(fused->nodes[0]->op_type, "FusedConv");
    EXPECT_EQ(fused->nodes[0]->attr_string("activation"), "HardSwish");
    Tensor x = random_tensor({1, 3, 9, 13}, rng, 2.0f);
    auto exe = profiled_cpu(g);
    expect_close(exe->run({x}), run_on("reference", g, {x}), 1e-5);
    EXPECT_EQ(reference_steps(*exe), std::vector<std::string>{});
  }
}

TEST(CpuRealModelOps, ReflectAndEdgePadOnTheLastAxis) {
  // Silero VAD v5 reflect-pads its 512 samples by 64 on each side before the STFT conv.
  for (const char* mode : {"reflect", "edge"})
    for (const Dims& xd : {Dims{1, 512}, Dims{3, 10}, Dims{2, 3, 9}}) {
      SCOPED_TRACE(std::string(mode) + " rank " + std::to_string(xd.size()));
      Graph g = input_graph(xd);
      int64_t pl = xd.back() == 512 ? 64 : 4, pr = xd.back() == 512 ? 64 : 3;
      std::vector<int64_t> pads(2 * xd.size(), 0);
      pads[xd.size() - 1] = pl;
      pads.back() = pr;
      g.initializers["pads"] = ints(pads);
      add_named(g, "Pad", {"x", "pads"}, {"y"}, 13).attrs["mode"] = Attribute{std::string(mode)};
      g.outputs = {"y"};
      std::mt19937 rng(31);
      Tensor x = random_tensor(xd, rng);
      auto exe = profiled_cpu(g);
      auto got = exe->run({x}), want = run_on("reference", g, {x});
      ASSERT_EQ(got[0].dims(), want[0].dims());
      EXPECT_EQ(rel_l2(got[0], want[0]), 0.0);  // copies: exact
      EXPECT_EQ(reference_steps(*exe), std::vector<std::string>{});
    }
}

// Silero VAD: a depthwise 1-D convolution (258 channels, kernel 5) and a ReduceMean over the middle axis
// of a [1, 129, 24] spectrogram. oneDNN 2.6 has no jit kernel for either as posed (the conv ran as one gemm
// per group, the reduction as ref:any): the conv runs as a 2-D one of height 1, the reduction on its own loop.
TEST(CpuRealModelOps, DepthwiseConv1dAndMiddleAxisReduceRunOnFastKernels) {
  std::mt19937 rng(41);
  Graph g = input_graph({1, 258, 24});
  g.initializers["w"] = random_tensor({258, 1, 5}, rng, 0.5f);
  g.initializers["b"] = random_tensor({258}, rng, 0.5f);
  Node& c = add_named(g, "Conv", {"x", "w", "b"}, {"c"}, 11);
  c.attrs["group"] = Attribute{int64_t(258)};
  c.attrs["pads"] = Attribute{std::vector<int64_t>{2, 2}};
  add_named(g, "Relu", {"c"}, {"r"}, 14);
  add_named(g, "ReduceMean", {"r"}, {"m"}, 13).attrs["axes"] = Attribute{std::vector<int64_t>{1}};
  for (const char* op : {"ReduceMax", "ReduceSum"}) {
    Node& n = add_named(g, op, {"x"}, {std::string(op) + "_out"}, 13);
    n.attrs["axes"] = Attribute{std::vector<int64_t>{1}};
    n.attrs["keepdims"] = Attribute{int64_t(0)};
  }
  g.outputs = {"m", "ReduceMax_out", "ReduceSum_out"};
  Tensor x = random_tensor({1, 258, 24}, rng);
  auto exe = profiled_cpu(g);
  expect_close(exe->run({x}), run_on("reference", g, {x}), 1e-6);
  for (const auto& s : exe->profile().steps) {
    SCOPED_TRACE(s.label);
    EXPECT_NE(s.library, "reference");
    if (cpu::cpu_isa() != cpu::Isa::scalar) {  // capped at SSE4.1 oneDNN has only gemm convolutions
      EXPECT_EQ(s.kernel.find("gemm"), std::string::npos);
    }
    EXPECT_EQ(s.kernel.rfind("ref", 0), std::string::npos);  // oneDNN's reference kernels
  }
}

TEST(InlineIf, ConstantConditionInlinesTheBranchAndKeepsItsResult) {
  for (bool cond : {true, false}) {
    SCOPED_TRACE(cond ? "then" : "else");
    Graph g = sample_rate_graph();
    // The rate as a constant: the condition folds, the If goes.
    g.inputs = {"x"};
    g.initializers["sr"] = Tensor::scalar<int64_t>(cond ? 16000 : 44100);
    std::mt19937 rng(3);
    Tensor x = random_tensor({1, 3, 9, 11}, rng);
    auto want = run_on("reference", g, {x});
    auto opt = g.clone();
    optimize(*opt);
    for (const auto& n : opt->nodes) EXPECT_NE(n->op_type, "If");
    EXPECT_EQ(opt->outputs, std::vector<std::string>{"y"});
    auto got = run_on("reference", *opt, {x});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(rel_l2(got[0], want[0]), 0.0);
  }
}

TEST(InlineIf, BranchDefiningAnOuterNameStaysAnIf) {
  Graph g = sample_rate_graph();
  g.inputs = {"x"};
  g.initializers["sr"] = Tensor::scalar<int64_t>(16000);
  g.initializers["c"] = Tensor::scalar<float>(1.0f);  // the then branch defines "c" too
  add_named(g, "Add", {"y", "c"}, {"z"});
  g.outputs = {"z"};
  EXPECT_FALSE(InlineIf().run(g));  // the condition is not folded yet, and the branch would clash anyway
  optimize(g);
  int ifs = 0;
  for (const auto& n : g.nodes) ifs += n->op_type == "If";
  EXPECT_EQ(ifs, 1);
}

}  // namespace
}  // namespace wafer
