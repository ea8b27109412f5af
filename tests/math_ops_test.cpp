// Reference kernels of the math ops: hand-computed values, edge cases, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ir/op_registry.h"

namespace wafer {
namespace {

using Attrs = std::map<std::string, Attribute>;

Attribute ai(int64_t v) {
  return Attribute{v};
}
Attribute af(float v) {
  return Attribute{v};
}
Attribute as(std::string v) {
  return Attribute{std::move(v)};
}
Attribute ais(std::vector<int64_t> v) {
  return Attribute{std::move(v)};
}

Node make_node(const std::string& op, int version, size_t num_inputs, const std::vector<bool>& present, Attrs attrs) {
  Node n;
  n.op_type = op;
  n.name = "n0";
  n.op_version = version;
  for (size_t i = 0; i < num_inputs; ++i) n.inputs.push_back(present[i] ? "in" + std::to_string(i) : "");
  n.outputs = {"out"};
  n.attrs = std::move(attrs);
  return n;
}

// Runs op `op` at since-version `version` on `inputs` (undefined tensor = omitted input).
std::vector<Tensor> run(const std::string& op, int version, const std::vector<Tensor>& inputs, Attrs attrs = {}) {
  std::vector<bool> present;
  for (const Tensor& t : inputs) present.push_back(t.defined());
  Node n = make_node(op, version, inputs.size(), present, std::move(attrs));
  const OpSchema* s = OpRegistry::global().find("", op, version);
  if (!s) throw Error("no schema for " + op);
  KernelContext ctx{n, {}, nullptr};
  for (const Tensor& t : inputs) ctx.inputs.push_back(t.defined() ? &t : nullptr);
  return s->kernel(ctx);
}

Tensor run1(const std::string& op, int version, const std::vector<Tensor>& inputs, Attrs attrs = {}) {
  return run(op, version, inputs, std::move(attrs)).at(0);
}

ValueType infer(const std::string& op, int version, std::vector<ValueType> in, std::vector<const Tensor*> constants,
                Attrs attrs = {}) {
  Node n = make_node(op, version, in.size(), std::vector<bool>(in.size(), true), std::move(attrs));
  const OpSchema* s = OpRegistry::global().find("", op, version);
  InferContext ctx{n, {}, constants};
  for (auto& t : in) ctx.inputs.push_back(t);
  return s->infer(ctx).at(0);
}

template <typename T>
Tensor vec(Dims d, std::vector<T> v) {
  return Tensor::from_vector<T>(std::move(d), v);
}
Tensor f32(Dims d, std::vector<float> v) {
  return vec<float>(std::move(d), std::move(v));
}
Tensor i64(Dims d, std::vector<int64_t> v) {
  return vec<int64_t>(std::move(d), std::move(v));
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  auto s = t.values<T>();
  return {s.begin(), s.end()};
}

void expect_near(const Tensor& t, std::vector<double> want, double tol = 1e-5) {
  ASSERT_EQ(t.numel(), int64_t(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    double got = t.get_double(int64_t(i));
    if (std::isnan(want[i]))
      EXPECT_TRUE(std::isnan(got)) << "element " << i;
    else if (std::isinf(want[i]))
      EXPECT_EQ(got, want[i]) << "element " << i;
    else
      EXPECT_NEAR(got, want[i], tol * std::max(1.0, std::fabs(want[i]))) << "element " << i;
  }
}

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(MathUnary, IntegerNegAbsWrapWithoutUB) {
  Tensor x = vec<int8_t>({3}, {-128, -5, 127});
  EXPECT_EQ(values<int8_t>(run1("Neg", 13, {x})), (std::vector<int8_t>{-128, 5, -127}));
  EXPECT_EQ(values<int8_t>(run1("Abs", 13, {x})), (std::vector<int8_t>{-128, 5, 127}));
  Tensor u = vec<uint16_t>({2}, {0, 65535});
  EXPECT_EQ(values<uint16_t>(run1("Abs", 13, {u})), (std::vector<uint16_t>{0, 65535}));
  EXPECT_THROW(run1("Neg", 13, {u}), Error);  // unsigned Neg is not an ONNX type
}

TEST(MathUnary, RoundHalfToEvenSignErfIsInf) {
  expect_near(run1("Round", 11, {f32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f})}), {0, 2, 2, 0, -2, 2});
  expect_near(run1("Sign", 13, {f32({4}, {-3.f, 0.f, 2.f, kNaN})}), {-1, 0, 1, NAN});
  EXPECT_EQ(values<int32_t>(run1("Sign", 13, {vec<int32_t>({3}, {-7, 0, 9})})), (std::vector<int32_t>{-1, 0, 1}));
  expect_near(run1("Erf", 13, {f32({2}, {0.f, 1.f})}), {0, 0.8427007929});
  Tensor x = f32({4}, {kInf, -kInf, 1.f, kNaN});
  EXPECT_EQ(values<bool>(run1("IsInf", 10, {x}, {{"detect_negative", ai(0)}})),
            (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(values<bool>(run1("IsNaN", 13, {x})), (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(values<bool>(run1("Not", 1, {vec<bool>({2}, {true, false})})), (std::vector<bool>{false, true}));
  EXPECT_THROW(run1("Sqrt", 13, {vec<int32_t>({1}, {4})}), Error);
}

TEST(MathUnary, HalfTypesComputeInFloat) {
  Tensor h = vec<Float16>({2}, {Float16(4.0f), Float16(0.25f)});
  Tensor r = run1("Sqrt", 13, {h});
  ASSERT_EQ(r.dtype(), DType::Float16);
  expect_near(r, {2.0, 0.5});
}

TEST(MathActivations, ValuesAndAttributes) {
  Tensor x = f32({3}, {-1.f, 0.f, 2.f});
  expect_near(run1("Elu", 6, {x}, {{"alpha", af(2.f)}}), {2 * (std::exp(-1.0) - 1), 0, 2});
  expect_near(run1("LeakyRelu", 16, {x}), {-0.01, 0, 2});
  expect_near(run1("ThresholdedRelu", 10, {x}, {{"alpha", af(1.5f)}}), {0, 0, 2});
  expect_near(run1("HardSigmoid", 6, {x}), {0.3, 0.5, 0.9});
  expect_near(run1("HardSwish", 14, {f32({3}, {-4.f, 1.f, 4.f})}), {0, 1 * (1 + 3) / 6.0, 4});
  expect_near(run1("Softsign", 1, {x}), {-0.5, 0, 2 / 3.0});
  expect_near(run1("Shrink", 9, {f32({3}, {-2.f, 0.3f, 2.f})}, {{"bias", af(1.f)}, {"lambd", af(1.f)}}), {-1, 0, 1});
  expect_near(run1("Selu", 6, {x}), {1.05070102710723876953125 * 1.67326319217681884765625 * (std::exp(-1.0) - 1), 0,
                                     2 * 1.05070102710723876953125});
  expect_near(run1("Celu", 12, {x}, {{"alpha", af(2.f)}}), {2 * (std::exp(-0.5) - 1), 0, 2});
  expect_near(run1("Mish", 18, {f32({1}, {1.f})}), {std::tanh(std::log1p(std::exp(1.0)))});
  // Softplus and Sigmoid stay finite for large |x|.
  expect_near(run1("Softplus", 1, {f32({2}, {100.f, -100.f})}), {100, std::exp(-100.0)}, 1e-5);
  expect_near(run1("Sigmoid", 13, {f32({2}, {-1000.f, 1000.f})}), {0, 1});
}

TEST(MathActivations, PReluBroadcastsSlope) {
  Tensor x = f32({2, 2}, {-1.f, 1.f, -2.f, 2.f});
  Tensor slope = f32({2}, {0.5f, 3.f});
  expect_near(run1("PRelu", 16, {x, slope}), {-0.5, 1, -1, 2});
  EXPECT_EQ(values<int32_t>(run1("PRelu", 16, {vec<int32_t>({2}, {-3, 3}), vec<int32_t>({1}, {2})})),
            (std::vector<int32_t>{-6, 3}));
}

TEST(MathActivations, ClipAttributesInputsAndIntegers) {
  Tensor x = f32({4}, {-5.f, 0.f, 5.f, kNaN});
  expect_near(run1("Clip", 6, {x}, {{"min", af(-1.f)}, {"max", af(1.f)}}), {-1, 0, 1, NAN});
  expect_near(run1("Clip", 13, {x, Tensor(), Tensor::scalar(2.f)}), {-5, 0, 2, NAN});            // max only
  expect_near(run1("Clip", 13, {x, Tensor::scalar(3.f), Tensor::scalar(1.f)}), {1, 1, 1, NAN});  // min > max
  Tensor xi = vec<int8_t>({3}, {-128, 0, 127});
  EXPECT_EQ(values<int8_t>(run1("Clip", 13, {xi, vec<int8_t>({}, {-10})})), (std::vector<int8_t>{-10, 0, 127}));
  EXPECT_THROW(run1("Clip", 11, {xi}), Error);  // integers only from opset 12
  EXPECT_THROW(run1("Clip", 13, {x, f32({2}, {0.f, 1.f})}), Error);
}

TEST(MathBinary, ModFollowsPythonOrC) {
  Tensor a = vec<int32_t>({6}, {-4, 7, 5, 4, -7, 8});
  Tensor b = vec<int32_t>({6}, {2, -3, 8, -2, 3, 5});
  EXPECT_EQ(values<int32_t>(run1("Mod", 13, {a, b})), (std::vector<int32_t>{0, -2, 5, 0, 2, 3}));
  EXPECT_EQ(values<int32_t>(run1("Mod", 13, {a, b}, {{"fmod", ai(1)}})), (std::vector<int32_t>{0, 1, 5, 0, -1, 3}));
  expect_near(run1("Mod", 13, {f32({2}, {-4.5f, 7.5f}), f32({2}, {2.f, -2.f})}, {{"fmod", ai(1)}}), {-0.5, 1.5});
  expect_near(run1("Mod", 13, {f32({2}, {-4.5f, 7.5f}), f32({2}, {2.f, -2.f})}), {1.5, -0.5});
  Tensor m = vec<int8_t>({1}, {-128});
  EXPECT_EQ(values<int8_t>(run1("Mod", 13, {m, vec<int8_t>({1}, {-1})})), (std::vector<int8_t>{0}));
  EXPECT_THROW(run1("Mod", 13, {a, vec<int32_t>({1}, {0})}), Error);
}

TEST(MathBinary, PowMixedTypes) {
  expect_near(run1("Pow", 15, {f32({3}, {2.f, 4.f, -2.f}), i64({3}, {3, -1, 2})}), {8, 0.25, 4});
  EXPECT_EQ(values<int32_t>(run1("Pow", 15, {vec<int32_t>({4}, {2, 3, -1, 5}), i64({4}, {10, -1, -3, 0})})),
            (std::vector<int32_t>{1024, 0, -1, 1}));
  EXPECT_EQ(values<int64_t>(run1("Pow", 15, {i64({2}, {3, 2}), f32({2}, {2.f, 0.5f})})), (std::vector<int64_t>{9, 1}));
  // int32 overflow wraps: 2^31 == INT32_MIN.
  EXPECT_EQ(values<int32_t>(run1("Pow", 15, {vec<int32_t>({1}, {2}), vec<int32_t>({1}, {31})})),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::min()}));
  EXPECT_THROW(run1("Pow", 7, {f32({1}, {2.f}), i64({1}, {2})}), Error);
}

TEST(MathBinary, BitShiftPastWidthIsZero) {
  Tensor x = vec<uint8_t>({3}, {255, 1, 16});
  Tensor s = vec<uint8_t>({3}, {1, 8, 2});
  EXPECT_EQ(values<uint8_t>(run1("BitShift", 11, {x, s}, {{"direction", as("LEFT")}})),
            (std::vector<uint8_t>{254, 0, 64}));
  EXPECT_EQ(values<uint8_t>(run1("BitShift", 11, {x, s}, {{"direction", as("RIGHT")}})),
            (std::vector<uint8_t>{127, 0, 4}));
  EXPECT_THROW(run1("BitShift", 11, {x, s}, {{"direction", as("UP")}}), Error);
}

TEST(MathLogic, ComparisonsAndLogicBroadcast) {
  Tensor a = f32({2, 2}, {1.f, 2.f, 3.f, kNaN});
  Tensor b = f32({2}, {2.f, 2.f});
  EXPECT_EQ(values<bool>(run1("Greater", 13, {a, b})), (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(values<bool>(run1("LessOrEqual", 16, {a, b})), (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(values<bool>(run1("Equal", 13, {a, b})), (std::vector<bool>{false, true, false, false}));
  Tensor p = vec<bool>({2}, {true, false});
  Tensor q = vec<bool>({2, 1}, {true, false});
  EXPECT_EQ(values<bool>(run1("Xor", 7, {p, q})), (std::vector<bool>{false, true, true, false}));
  EXPECT_THROW(run1("And", 7, {a, b}), Error);
  EXPECT_THROW(run1("Less", 13, {a, f32({3}, {1.f, 2.f, 3.f})}), Error);
}

TEST(MathVariadic, BroadcastAcrossAllInputs) {
  Tensor a = f32({3}, {1.f, 5.f, 3.f});
  Tensor b = f32({2, 1}, {2.f, 4.f});
  Tensor c = f32({}, {0.f});
  expect_near(run1("Max", 13, {a, b, c}), {2, 5, 3, 4, 5, 4});
  expect_near(run1("Min", 13, {a, b, c}), {0, 0, 0, 0, 0, 0});
  expect_near(run1("Sum", 13, {a, b}), {3, 7, 5, 5, 9, 7});
  expect_near(run1("Mean", 13, {a, b, c}), {1, 7 / 3.0, 5 / 3.0, 5 / 3.0, 3, 7 / 3.0});
  expect_near(run1("Max", 13, {f32({1}, {kNaN}), f32({1}, {1.f})}), {NAN});
  EXPECT_EQ(values<int32_t>(run1("Max", 13, {vec<int32_t>({2}, {-1, 7}), vec<int32_t>({2}, {3, 2})})),
            (std::vector<int32_t>{3, 7}));
}

TEST(MathReduce, AxesAttributeInputAndKeepdims) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = run1("ReduceSum", 13, {x, i64({1}, {1})}, {{"keepdims", ai(0)}});
  EXPECT_EQ(r.dims(), (Dims{2}));
  expect_near(r, {6, 15});
  r = run1("ReduceMean", 11, {x}, {{"axes", ais({-2})}});
  EXPECT_EQ(r.dims(), (Dims{1, 3}));
  expect_near(r, {2.5, 3.5, 4.5});
  r = run1("ReduceMax", 13, {x});  // no axes: all
  EXPECT_EQ(r.dims(), (Dims{1, 1}));
  expect_near(r, {6});
  // Opset-18 style: axes as input on a non-Sum reduction.
  expect_near(run1("ReduceProd", 18, {x, i64({1}, {0})}, {{"keepdims", ai(0)}}), {4, 10, 18});
  // noop_with_empty_axes: identity.
  r = run1("ReduceSum", 13, {x, i64({0}, {})}, {{"noop_with_empty_axes", ai(1)}});
  EXPECT_EQ(r.dims(), (Dims{2, 3}));
  expect_near(r, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(run1("ReduceSum", 13, {x, i64({1}, {2})}), Error);
  EXPECT_THROW(run1("ReduceMin", 11, {x}, {{"axes", ais({0, -2})}}), Error);  // repeated
}

TEST(MathReduce, ThreeDMiddleAxesAndKinds) {
  Tensor x = f32({2, 2, 2}, {1, -2, 3, -4, 5, -6, 7, -8});
  expect_near(run1("ReduceL1", 13, {x}, {{"axes", ais({0, 2})}, {"keepdims", ai(0)}}), {1 + 2 + 5 + 6, 3 + 4 + 7 + 8});
  expect_near(run1("ReduceL2", 13, {x}, {{"axes", ais({1})}}),
              {std::sqrt(10.0), std::sqrt(20.0), std::sqrt(74.0), std::sqrt(100.0)});
  expect_near(run1("ReduceSumSquare", 13, {x}, {{"axes", ais({2})}}), {5, 25, 61, 113});
  expect_near(run1("ReduceLogSum", 13, {f32({2}, {1.f, 2.f})}), {std::log(3.0)});
  expect_near(run1("ReduceMin", 13, {x}, {{"axes", ais({0, 1})}}), {1, -8});
}

TEST(MathReduce, LogSumExpIsStable) {
  expect_near(run1("ReduceLogSumExp", 13, {f32({2}, {1000.f, 1000.f})}), {1000 + std::log(2.0)});
  expect_near(run1("ReduceLogSumExp", 13, {f32({2}, {-kInf, -kInf})}), {-INFINITY});
}

TEST(MathReduce, IntegersWrapAndHalfAccumulates) {
  Tensor x = vec<int32_t>({2}, {std::numeric_limits<int32_t>::max(), 1});
  EXPECT_EQ(values<int32_t>(run1("ReduceSum", 13, {x})), (std::vector<int32_t>{std::numeric_limits<int32_t>::min()}));
  // 4096 halves of 1: accumulating in half would stall at 2048.
  std::vector<Float16> ones(4096, Float16(1.0f));
  expect_near(run1("ReduceSum", 13, {vec<Float16>({4096}, ones)}), {4096});
}

TEST(MathReduce, ScalarsAndEmptyGroups) {
  Tensor s = run1("ReduceSum", 13, {f32({}, {4.f})});
  EXPECT_EQ(s.rank(), 0);
  expect_near(s, {4});
  Tensor e(DType::Float32, {2, 0});
  Tensor r = run1("ReduceMax", 13, {e}, {{"axes", ais({1})}, {"keepdims", ai(0)}});
  EXPECT_EQ(r.dims(), (Dims{2}));
  expect_near(r, {-INFINITY, -INFINITY});
  expect_near(run1("ReduceSum", 13, {e, i64({1}, {1})}), {0, 0});
  expect_near(run1("ReduceProd", 13, {e}, {{"axes", ais({1})}}), {1, 1});
  EXPECT_EQ(run1("ReduceSum", 13, {e, i64({1}, {0})}).dims(), (Dims{1, 0}));
}

TEST(MathReduce, InferShapes) {
  ValueType in{DType::Float32, Shape({Dim::named("N"), 3, 4})};
  EXPECT_EQ(infer("ReduceMean", 13, {in}, {nullptr}, {{"axes", ais({-1})}, {"keepdims", ai(0)}}).shape,
            Shape({Dim::named("N"), 3}));
  Tensor axes = i64({1}, {1});
  ValueType ax{DType::Int64, Shape({1})};
  EXPECT_EQ(infer("ReduceSum", 13, {in, ax}, {nullptr, &axes}).shape, Shape({Dim::named("N"), 1, 4}));
  EXPECT_EQ(infer("ArgMax", 13, {in}, {nullptr}, {{"axis", ai(1)}, {"keepdims", ai(0)}}),
            (ValueType{DType::Int64, Shape({Dim::named("N"), 4})}));
  EXPECT_EQ(infer("Einsum", 12, {ValueType{DType::Float32, Shape({2, 3})}, ValueType{DType::Float32, Shape({3, 5})}},
                  {nullptr, nullptr}, {{"equation", as("ij,jk")}})
                .shape,
            Shape({2, 5}));
}

TEST(MathReduce, ArgMaxArgMinTiesAndLastIndex) {
  Tensor x = f32({2, 3}, {1, 3, 3, 2, 0, 0});
  Tensor r = run1("ArgMax", 13, {x}, {{"axis", ai(1)}});
  EXPECT_EQ(r.dims(), (Dims{2, 1}));
  EXPECT_EQ(values<int64_t>(r), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(values<int64_t>(run1("ArgMax", 13, {x}, {{"axis", ai(1)}, {"select_last_index", ai(1)}})),
            (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(values<int64_t>(run1("ArgMin", 13, {x}, {{"axis", ai(-1)}, {"select_last_index", ai(1)}})),
            (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(values<int64_t>(run1("ArgMin", 13, {x}, {{"keepdims", ai(0)}})), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_THROW(run1("ArgMax", 13, {x}, {{"axis", ai(2)}}), Error);
}

TEST(MathSoftmax, CoerceTo2DBeforeOpset13) {
  Tensor x(DType::Float32, {1, 2, 2});  // zeros
  expect_near(run1("Softmax", 11, {x}, {{"axis", ai(1)}}), {0.25, 0.25, 0.25, 0.25});
  expect_near(run1("Softmax", 13, {x}, {{"axis", ai(1)}}), {0.5, 0.5, 0.5, 0.5});
  Tensor y = f32({2, 2}, {1000.f, 1000.f, 0.f, std::log(3.f)});
  expect_near(run1("Softmax", 13, {y}), {0.5, 0.5, 0.25, 0.75});
  expect_near(run1("LogSoftmax", 13, {y}), {std::log(0.5), std::log(0.5), std::log(0.25), std::log(0.75)});
  // Middle axis with inner > 1 (opset 13).
  Tensor z = f32({1, 2, 2}, {0.f, 1.f, std::log(3.f), 1.f});
  expect_near(run1("Softmax", 13, {z}, {{"axis", ai(1)}}), {0.25, 0.5, 0.75, 0.5});
  EXPECT_EQ(values<float>(run1("Hardmax", 13, {f32({1, 3}, {2.f, 5.f, 5.f})})), (std::vector<float>{0, 1, 0}));
  EXPECT_EQ(values<float>(run1("Hardmax", 11, {f32({1, 2, 2}, {1.f, 9.f, 9.f, 2.f})})),
            (std::vector<float>{0, 1, 0, 0}));
  EXPECT_THROW(run1("Softmax", 13, {x}, {{"axis", ai(3)}}), Error);
}

TEST(MathEinsum, ExplicitImplicitDiagonalEllipsis) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = f32({3, 2}, {1, 0, 0, 1, 1, 1});
  expect_near(run1("Einsum", 12, {a, b}, {{"equation", as("ij,jk->ik")}}), {4, 5, 10, 11});
  expect_near(run1("Einsum", 12, {a, b}, {{"equation", as("ij, jk")}}), {4, 5, 10, 11});
  Tensor t = run1("Einsum", 12, {a}, {{"equation", as("ji")}});  // implicit output sorts labels: transpose
  EXPECT_EQ(t.dims(), (Dims{3, 2}));
  expect_near(t, {1, 4, 2, 5, 3, 6});
  Tensor sq = f32({2, 2}, {1, 2, 3, 4});
  expect_near(run1("Einsum", 12, {sq}, {{"equation", as("ii->i")}}), {1, 4});
  expect_near(run1("Einsum", 12, {sq}, {{"equation", as("ii")}}), {5});
  expect_near(run1("Einsum", 12, {sq}, {{"equation", as("ij->")}}), {10});
  // Batched matmul with a broadcast batch dimension.
  Tensor x = f32({2, 1, 2}, {1, 2, 3, 4});
  Tensor y = f32({1, 2, 1}, {10, 100});
  Tensor r = run1("Einsum", 12, {x, y}, {{"equation", as("...ij,...jk->...ik")}});
  EXPECT_EQ(r.dims(), (Dims{2, 1, 1}));
  expect_near(r, {210, 430});
  EXPECT_EQ(values<int32_t>(
                run1("Einsum", 12, {vec<int32_t>({2}, {2, 3}), vec<int32_t>({2}, {4, 5})}, {{"equation", as("i,i")}})),
            (std::vector<int32_t>{23}));
  EXPECT_THROW(run1("Einsum", 12, {a, b}, {{"equation", as("ij,kk->ik")}}), Error);  // size mismatch
  EXPECT_THROW(run1("Einsum", 12, {a}, {{"equation", as("i->i")}}), Error);          // rank mismatch
  EXPECT_THROW(run1("Einsum", 12, {a}, {{"equation", as("i1")}}), Error);
  EXPECT_THROW(run1("Einsum", 12, {a}, {{"equation", as("ij->iq")}}), Error);
}

TEST(MathNorm, DetLpNormMvn) {
  expect_near(run1("Det", 11, {f32({2, 2, 2}, {1, 2, 3, 4, 2, 0, 0, 3})}), {-2, 6});
  expect_near(run1("Det", 11, {f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}), {0}, 1e-6);
  expect_near(run1("Det", 11, {f32({3, 3}, {0, 1, 0, 1, 0, 0, 0, 0, 1})}), {-1});
  EXPECT_THROW(run1("Det", 11, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}), Error);
  expect_near(run1("LpNormalization", 1, {f32({2, 2}, {3, 4, 1, -1})}),
              {0.6, 0.8, 1 / std::sqrt(2.0), -1 / std::sqrt(2.0)});
  expect_near(run1("LpNormalization", 1, {f32({2, 2}, {3, 4, 1, -1})}, {{"axis", ai(0)}, {"p", ai(1)}}),
              {0.75, 0.8, 0.25, -0.2});
  Tensor r = run1("MeanVarianceNormalization", 13, {f32({1, 1, 1, 2}, {1, 3})});
  expect_near(r, {-1, 1}, 1e-6);
}

TEST(MathArithmetic, NarrowUnsignedMultiplyWraps) {
  // uint16 * uint16 promotes to int in C++; 65535^2 must wrap, not overflow.
  Tensor a = vec<uint16_t>({1}, {65535});
  EXPECT_EQ(values<uint16_t>(run1("Mul", 14, {a, a})), (std::vector<uint16_t>{1}));
  Tensor b = vec<int64_t>({1}, {std::numeric_limits<int64_t>::max()});
  EXPECT_EQ(values<int64_t>(run1("Add", 14, {b, i64({1}, {1})})),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::min()}));
}

TEST(MathErrors, MessagesNameTheNode) {
  try {
    run1("Add", 14, {f32({2}, {1, 2}), f32({3}, {1, 2, 3})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n0"), std::string::npos) << e.what();
  }
  try {
    run1("ReduceSum", 11, {f32({2}, {1, 2})}, {{"axes", ais({5})}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wafer
