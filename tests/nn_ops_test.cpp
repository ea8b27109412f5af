// Neural-network ops of the reference backend: hand-computed values, a naive
// convolution/matmul cross-check of the tiled loop nests (odd sizes hit every
// tail), shape inference with symbolic dims, and error cases.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "ir/op_registry.h"

namespace wafer {
namespace {

using Attrs = std::map<std::string, Attribute>;

Node make_node(const std::string& op, int version, size_t inputs, size_t outputs, Attrs attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = "n0";
  n.op_version = version;
  for (size_t i = 0; i < inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  n.attrs = std::move(attrs);
  return n;
}

// Runs the registered kernel; undefined tensors are omitted optional inputs.
std::vector<Tensor> run(const Node& node, const std::vector<Tensor>& inputs) {
  const OpSchema* schema = OpRegistry::global().find(node);
  if (!schema) throw Error("no schema for " + node.op_type);
  KernelContext ctx{node, {}, nullptr};
  for (const Tensor& t : inputs) ctx.inputs.push_back(t.defined() ? &t : nullptr);
  return schema->kernel(ctx);
}

std::vector<ValueType> infer(const Node& node, const std::vector<ValueType>& inputs,
                             std::vector<const Tensor*> constants = {}) {
  InferContext ctx{node, {}, std::move(constants)};
  for (const auto& t : inputs) ctx.inputs.push_back(t);
  return infer_node(*OpRegistry::global().find(node), ctx);
}

Attribute ints(std::vector<int64_t> v) {
  return Attribute{std::move(v)};
}
Attribute i64(int64_t v) {
  return Attribute{v};
}
Attribute f32(float v) {
  return Attribute{v};
}
Attribute str(std::string v) {
  return Attribute{std::move(v)};
}

Tensor iota(Dims dims, float start = 0, float step = 1) {
  Tensor t(DType::Float32, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + step * float(i);
  return t;
}

Tensor random(Dims dims, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor t(DType::Float32, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

std::vector<float> vals(const Tensor& t) {
  auto v = t.values<float>();
  return {v.begin(), v.end()};
}

// Naive 2-D convolution in double, the definition itself.
Tensor naive_conv2d(const Tensor& x, const Tensor& w, int64_t groups, Dims s, Dims d, Dims pads, Dims out_hw) {
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), m = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  int64_t cg = c / groups, mg = m / groups;
  Tensor y(DType::Float32, {n, m, out_hw[0], out_hw[1]});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t oh = 0; oh < out_hw[0]; ++oh)
        for (int64_t ow = 0; ow < out_hw[1]; ++ow) {
          double acc = 0;
          int64_t g = oc / mg;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                int64_t ih = oh * s[0] - pads[0] + i * d[0], iw = ow * s[1] - pads[1] + j * d[1];
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                acc += double(x.data<float>()[((b * c + g * cg + ic) * h + ih) * wd + iw]) *
                       double(w.data<float>()[((oc * cg + ic) * kh + i) * kw + j]);
              }
          y.data<float>()[((b * m + oc) * out_hw[0] + oh) * out_hw[1] + ow] = float(acc);
        }
  return y;
}

void expect_near(const Tensor& a, const Tensor& b, float tol = 1e-4f) {
  ASSERT_EQ(a.dims(), b.dims());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], tol) << "element " << i;
}

TEST(NnConv, HandComputed2x2Kernel) {
  Node node = make_node("Conv", 11, 3, 1);
  Tensor x = iota({1, 1, 3, 3});
  Tensor w = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor b = Tensor::from_vector<float>({1}, {0.5f});
  auto y = run(node, {x, w, b});
  EXPECT_EQ(y[0].dims(), (Dims{1, 1, 2, 2}));
  EXPECT_EQ(vals(y[0]), (std::vector<float>{8.5f, 12.5f, 20.5f, 24.5f}));
}

TEST(NnConv, MatchesNaiveConvolutionOnOddShapes) {
  std::mt19937 rng(7);
  struct Case {
    int64_t c, m, groups, h, w, k;
    Dims s, d, pads;
  };
  // Output channels 5 and 6 leave a remainder of the 4-channel tiles; widths 7, 19 and
  // 37 leave partial column tiles; groups, depthwise, dilation, stride 2 and 1x1 paths.
  std::vector<Case> cases = {{3, 5, 1, 9, 19, 3, {1, 1}, {1, 1}, {1, 1}},
                             {4, 6, 2, 7, 7, 3, {2, 2}, {1, 1}, {1, 0}},
                             {6, 6, 6, 10, 37, 3, {1, 1}, {2, 2}, {2, 2}},
                             {8, 5, 1, 5, 11, 1, {1, 1}, {1, 1}, {0, 0}},
                             {3, 4, 1, 12, 12, 5, {1, 2}, {1, 1}, {2, 2}}};
  for (const Case& t : cases) {
    Tensor x = random({2, t.c, t.h, t.w}, rng);
    Tensor w = random({t.m, t.c / t.groups, t.k, t.k}, rng);
    Node node = make_node("Conv", 11, 2, 1,
                          {{"group", i64(t.groups)},
                           {"strides", ints(t.s)},
                           {"dilations", ints(t.d)},
                           {"pads", ints({t.pads[0], t.pads[1], t.pads[0], t.pads[1]})}});
    auto y = run(node, {x, w});
    Dims hw{(t.h + 2 * t.pads[0] - (t.k - 1) * t.d[0] - 1) / t.s[0] + 1,
            (t.w + 2 * t.pads[1] - (t.k - 1) * t.d[1] - 1) / t.s[1] + 1};
    expect_near(y[0], naive_conv2d(x, w, t.groups, t.s, t.d, t.pads, hw));
  }
}

TEST(NnConv, AutoPadSameLowerPutsExtraPadFirst) {
  // 1-D: x = [1, 2, 3, 4], kernel [1, 10] (size 2): total pad 1.
  Tensor x = Tensor::from_vector<float>({1, 1, 4}, {1, 2, 3, 4});
  Tensor w = Tensor::from_vector<float>({1, 1, 2}, {1, 10});
  auto upper = run(make_node("Conv", 11, 2, 1, {{"auto_pad", str("SAME_UPPER")}}), {x, w});
  auto lower = run(make_node("Conv", 11, 2, 1, {{"auto_pad", str("SAME_LOWER")}}), {x, w});
  EXPECT_EQ(vals(upper[0]), (std::vector<float>{21, 32, 43, 4}));
  EXPECT_EQ(vals(lower[0]), (std::vector<float>{10, 21, 32, 43}));
}

TEST(NnConv, ThreeDimensionalAndHalf) {
  Tensor x = Tensor(DType::Float32, {1, 1, 2, 2, 2});
  for (int i = 0; i < 8; ++i) x.data<float>()[i] = float(i + 1);
  Tensor w = Tensor::from_vector<float>({1, 1, 2, 2, 2}, std::vector<float>(8, 1.0f));
  auto y = run(make_node("Conv", 11, 2, 1), {x, w});
  EXPECT_EQ(y[0].dims(), (Dims{1, 1, 1, 1, 1}));
  EXPECT_EQ(y[0].data<float>()[0], 36.0f);
  auto yh = run(make_node("Conv", 11, 2, 1), {x.cast(DType::Float16), w.cast(DType::Float16)});
  EXPECT_EQ(yh[0].dtype(), DType::Float16);
  EXPECT_EQ(float(yh[0].data<Float16>()[0]), 36.0f);
}

TEST(NnConv, RejectsMismatchedChannelsNamingTheNode) {
  Node node = make_node("Conv", 11, 2, 1, {{"group", i64(2)}});
  try {
    run(node, {iota({1, 3, 4, 4}), iota({2, 3, 1, 1})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run(make_node("Conv", 11, 2, 1), {iota({1, 2, 4, 4}), iota({1, 3, 1, 1})}), Error);
  EXPECT_THROW(run(make_node("Conv", 11, 2, 1), {iota({1, 1, 2, 2}), iota({1, 1, 3, 3})}), Error);  // empty output
  EXPECT_THROW(run(make_node("Conv", 11, 2, 1, {{"strides", ints({0, 1})}}), {iota({1, 1, 4, 4}), iota({1, 1, 1, 1})}),
               Error);
}

TEST(NnConv, AbsurdPadsAreAnErrorNotACrash) {
  const int64_t big = int64_t(1) << 40;
  Node node = make_node("Conv", 11, 2, 1, {{"strides", ints({big, big})}, {"pads", ints({big, big, big, big})}});
  EXPECT_THROW(run(node, {iota({1, 1, 4, 4}), iota({1, 1, 1, 1})}), Error);
}

TEST(NnConv, InfersShapesWithSymbolicBatch) {
  Node node = make_node("Conv", 11, 2, 1, {{"strides", ints({2, 2})}, {"pads", ints({3, 3, 3, 3})}});
  ValueType x{DType::Float32, Shape({Dim::named("batch"), 3, 224, 224})};
  ValueType w{DType::Float32, Shape({64, 3, 7, 7})};
  auto out = infer(node, {x, w});
  EXPECT_EQ(out[0].str(), "float32[batch,64,112,112]");
  Node same = make_node("Conv", 11, 2, 1, {{"auto_pad", str("SAME_UPPER")}, {"strides", ints({2, 2})}});
  ValueType xs{DType::Float32, Shape({1, 3, 15, Dim()})};
  EXPECT_EQ(infer(same, {xs, w})[0].str(), "float32[1,64,8,?]");
}

TEST(NnConvTranspose, StridedOneDimensional) {
  // x = [1, 2], w = [1, 1, 1], stride 2: [1, 1, 1+2, 2, 2].
  Tensor x = Tensor::from_vector<float>({1, 1, 2}, {1, 2});
  Tensor w = Tensor::from_vector<float>({1, 1, 3}, {1, 1, 1});
  auto y = run(make_node("ConvTranspose", 11, 2, 1, {{"strides", ints({2})}}), {x, w});
  EXPECT_EQ(vals(y[0]), (std::vector<float>{1, 1, 3, 2, 2}));
  auto padded = run(make_node("ConvTranspose", 11, 2, 1,
                              {{"strides", ints({2})}, {"pads", ints({1, 0})}, {"output_padding", ints({1})}}),
                    {x, w});
  EXPECT_EQ(vals(padded[0]), (std::vector<float>{1, 3, 2, 2, 0}));
}

TEST(NnMatMul, BroadcastsBatchesAndHandlesVectors) {
  Tensor a = iota({2, 1, 2, 3});
  Tensor b = iota({3, 3, 2}, 1);
  auto y = run(make_node("MatMul", 13, 2, 1), {a, b});
  ASSERT_EQ(y[0].dims(), (Dims{2, 3, 2, 2}));
  // Batch (1, 2): a[1] rows [6 7 8], [9 10 11]; b[2] = [[13 14] [15 16] [17 18]].
  const float* p = y[0].data<float>() + (1 * 3 + 2) * 4;
  EXPECT_EQ(p[0], 6 * 13 + 7 * 15 + 8 * 17);
  EXPECT_EQ(p[3], 9 * 14 + 10 * 16 + 11 * 18);
  auto v = run(make_node("MatMul", 13, 2, 1), {Tensor::from_vector<float>({3}, {1, 2, 3}), iota({3, 2})});
  EXPECT_EQ(v[0].dims(), (Dims{2}));
  EXPECT_EQ(vals(v[0]), (std::vector<float>{16, 22}));
  auto i64s = run(make_node("MatMul", 13, 2, 1),
                  {Tensor::from_vector<int64_t>({1, 2}, {3, -4}), Tensor::from_vector<int64_t>({2, 1}, {5, 6})});
  EXPECT_EQ(i64s[0].data<int64_t>()[0], -9);
  EXPECT_THROW(run(make_node("MatMul", 13, 2, 1), {iota({2, 3}), iota({2, 3})}), Error);
}

TEST(NnMatMul, TiledKernelMatchesNaiveOnOddSizes) {
  std::mt19937 rng(3);
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {5, 7, 21}, {9, 33, 17}, {4, 16, 16}}) {
    Tensor a = random({m, k}, rng), b = random({k, n}, rng);
    auto y = run(make_node("MatMul", 13, 2, 1), {a, b});
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += double(a.data<float>()[i * k + p]) * b.data<float>()[p * n + j];
        ASSERT_NEAR(y[0].data<float>()[i * n + j], acc, 1e-4) << m << "x" << k << "x" << n;
      }
  }
}

TEST(NnMatMul, InfersSymbolicBatch) {
  ValueType a{DType::Float32, Shape({Dim::named("batch"), Dim::named("seq"), 768})};
  ValueType b{DType::Float32, Shape({768, 3072})};
  EXPECT_EQ(infer(make_node("MatMul", 13, 2, 1), {a, b})[0].str(), "float32[batch,seq,3072]");
  ValueType v{DType::Float32, Shape({768})};
  EXPECT_EQ(infer(make_node("MatMul", 13, 2, 1), {a, v})[0].str(), "float32[batch,seq]");
  ValueType bad{DType::Float32, Shape({767, 3})};
  EXPECT_THROW(infer(make_node("MatMul", 13, 2, 1), {a, bad}), Error);
}

TEST(NnGemm, TransposesScalesAndBroadcastsC) {
  Tensor a = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});  // A^T = [[1 3] [2 4]]
  Tensor b = Tensor::from_vector<float>({2, 2}, {1, 0, 1, 1});  // B^T = [[1 1] [0 1]]
  Tensor c = Tensor::from_vector<float>({2}, {10, 20});
  Node node =
      make_node("Gemm", 13, 3, 1, {{"transA", i64(1)}, {"transB", i64(1)}, {"alpha", f32(2)}, {"beta", f32(0.5f)}});
  auto y = run(node, {a, b, c});
  // A^T B^T = [[1 4] [2 6]]; 2x + 0.5 c.
  EXPECT_EQ(vals(y[0]), (std::vector<float>{7, 18, 9, 22}));
  auto no_c = run(make_node("Gemm", 13, 2, 1), {a, b});
  EXPECT_EQ(vals(no_c[0]), (std::vector<float>{3, 2, 7, 4}));
  EXPECT_THROW(run(make_node("Gemm", 13, 3, 1), {a, b, Tensor::from_vector<float>({3}, {1, 2, 3})}), Error);
  ValueType ta{DType::Float32, Shape({Dim::named("k"), Dim::named("m")})};
  ValueType tb{DType::Float32, Shape({Dim::named("k"), 5})};
  EXPECT_EQ(infer(make_node("Gemm", 13, 2, 1, {{"transA", i64(1)}}), {ta, tb})[0].str(), "float32[m,5]");
}

TEST(NnPool, MaxPoolIndicesInBothStorageOrders) {
  Tensor x = iota({1, 1, 3, 3});
  Attrs attrs = {{"kernel_shape", ints({2, 2})}, {"strides", ints({1, 1})}};
  auto y = run(make_node("MaxPool", 12, 1, 2, attrs), {x});
  EXPECT_EQ(vals(y[0]), (std::vector<float>{4, 5, 7, 8}));
  EXPECT_EQ(y[1].to_int_vector(), (std::vector<int64_t>{4, 5, 7, 8}));
  attrs["storage_order"] = i64(1);
  auto col = run(make_node("MaxPool", 12, 1, 2, attrs), {x});
  EXPECT_EQ(col[1].to_int_vector(), (std::vector<int64_t>{4, 7, 5, 8}));  // (h, w) -> w * H + h
}

TEST(NnPool, CeilModeAndCountIncludePad) {
  Tensor x = iota({1, 1, 4, 4});
  Node ceil = make_node("MaxPool", 12, 1, 1,
                        {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", i64(1)}});
  auto y = run(ceil, {x});
  EXPECT_EQ(y[0].dims(), (Dims{1, 1, 2, 2}));
  EXPECT_EQ(vals(y[0]), (std::vector<float>{10, 11, 14, 15}));
  ValueType xt{DType::Float32, Shape({Dim::named("n"), 8, 4, 4})};
  EXPECT_EQ(infer(ceil, {xt})[0].str(), "float32[n,8,2,2]");
  // 1-D average of [1, 2] with pads 1: windows [pad, 1], [2, pad].
  Tensor v = Tensor::from_vector<float>({1, 1, 2}, {1, 2});
  Attrs a = {{"kernel_shape", ints({2})}, {"strides", ints({2})}, {"pads", ints({1, 1})}};
  EXPECT_EQ(vals(run(make_node("AveragePool", 11, 1, 1, a), {v})[0]), (std::vector<float>{1, 2}));
  a["count_include_pad"] = i64(1);
  EXPECT_EQ(vals(run(make_node("AveragePool", 11, 1, 1, a), {v})[0]), (std::vector<float>{0.5f, 1}));
  EXPECT_THROW(run(make_node("MaxPool", 12, 1, 1), {x}), Error);  // kernel_shape missing
}

TEST(NnPool, HugeWindowsVisitOnlyInputTaps) {
  // Kernel and pads of 2^30: two output positions, each must not walk 2^60 taps.
  const int64_t big = int64_t(1) << 30;
  Node node = make_node("MaxPool", 12, 1, 1,
                        {{"kernel_shape", ints({big, big})},
                         {"strides", ints({big, big})},
                         {"pads", ints({big - 1, big - 1, big - 1, big - 1})}});
  auto y = run(node, {iota({1, 1, 4, 4})});
  EXPECT_EQ(y[0].dims(), (Dims{1, 1, 2, 2}));
  EXPECT_EQ(vals(y[0]), (std::vector<float>{0, 3, 12, 15}));  // window 0 reaches only x[0][0]
}

TEST(NnPool, GlobalAndLpPool) {
  Tensor x = iota({1, 2, 2, 2});
  EXPECT_EQ(vals(run(make_node("GlobalAveragePool", 1, 1, 1), {x})[0]), (std::vector<float>{1.5f, 5.5f}));
  EXPECT_EQ(vals(run(make_node("GlobalMaxPool", 1, 1, 1), {x})[0]), (std::vector<float>{3, 7}));
  Tensor v = Tensor::from_vector<float>({1, 1, 2}, {3, -4});
  auto lp = run(make_node("LpPool", 11, 1, 1, {{"kernel_shape", ints({2})}}), {v});
  EXPECT_FLOAT_EQ(lp[0].data<float>()[0], 5.0f);
}

TEST(NnPool, MaxUnpoolScattersAndChecksIndices) {
  Tensor x = Tensor::from_vector<float>({1, 1, 1, 2}, {5, 6});
  Tensor idx = Tensor::from_vector<int64_t>({1, 1, 1, 2}, {1, 2});
  Attrs attrs = {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}};
  auto y = run(make_node("MaxUnpool", 11, 2, 1, attrs), {x, idx});
  EXPECT_EQ(y[0].dims(), (Dims{1, 1, 2, 4}));
  EXPECT_EQ(vals(y[0]), (std::vector<float>{0, 5, 6, 0, 0, 0, 0, 0}));
  Tensor bad = Tensor::from_vector<int64_t>({1, 1, 1, 2}, {1, 8});
  EXPECT_THROW(run(make_node("MaxUnpool", 11, 2, 1, attrs), {x, bad}), Error);
}

TEST(NnNorm, BatchNormInferenceAndTraining) {
  Tensor x = Tensor::from_vector<float>({2, 1, 1}, {1, 3});
  Tensor one = Tensor::from_vector<float>({1}, {1}), zero = Tensor::from_vector<float>({1}, {0});
  Tensor mean = Tensor::from_vector<float>({1}, {1}), var = Tensor::from_vector<float>({1}, {4});
  Node node = make_node("BatchNormalization", 15, 5, 1, {{"epsilon", f32(0)}});
  EXPECT_EQ(vals(run(node, {x, one, zero, mean, var})[0]), (std::vector<float>{0, 1}));
  Node train = make_node("BatchNormalization", 15, 5, 3, {{"epsilon", f32(0)}, {"training_mode", i64(1)}});
  auto t = run(train, {x, one, zero, mean, var});
  EXPECT_EQ(vals(t[0]), (std::vector<float>{-1, 1}));           // batch mean 2, var 1
  EXPECT_FLOAT_EQ(t[1].data<float>()[0], 0.9f * 1 + 0.1f * 2);  // running mean
  EXPECT_FLOAT_EQ(t[2].data<float>()[0], 0.9f * 4 + 0.1f * 1);  // running var
  EXPECT_THROW(run(node, {x, Tensor::from_vector<float>({2}, {1, 1}), zero, mean, var}), Error);
}

TEST(NnNorm, LayerNormOutputsStatistics) {
  Tensor x = Tensor::from_vector<float>({2, 2}, {1, 3, 2, 4});
  Tensor scale = Tensor::from_vector<float>({2}, {1, 2});
  Tensor bias = Tensor::from_vector<float>({2}, {0, 1});
  auto y = run(make_node("LayerNormalization", 17, 3, 3, {{"epsilon", f32(0)}}), {x, scale, bias});
  EXPECT_EQ(vals(y[0]), (std::vector<float>{-1, 3, -1, 3}));
  EXPECT_EQ(y[1].dims(), (Dims{2, 1}));
  EXPECT_EQ(vals(y[1]), (std::vector<float>{2, 3}));
  EXPECT_EQ(vals(y[2]), (std::vector<float>{1, 1}));
  ValueType xt{DType::Float32, Shape({Dim::named("b"), 7, 768})};
  auto types = infer(make_node("LayerNormalization", 17, 3, 3, {{"axis", i64(1)}}), {xt, xt, xt});
  EXPECT_EQ(types[1].str(), "float32[b,1,1]");
}

TEST(NnNorm, InstanceNormAndLrn) {
  Tensor x = Tensor::from_vector<float>({1, 2, 2}, {1, 3, 5, 7});
  Tensor s = Tensor::from_vector<float>({2}, {2, 1}), b = Tensor::from_vector<float>({2}, {0, 7});
  auto y = run(make_node("InstanceNormalization", 6, 3, 1, {{"epsilon", f32(0)}}), {x, s, b});
  EXPECT_EQ(vals(y[0]), (std::vector<float>{-2, 2, 6, 8}));
  // LRN size 2: the window of channel c is [c - 0, c + 1] (floor((size-1)/2) before).
  Tensor l = Tensor::from_vector<float>({1, 2, 1}, {1, 2});
  auto r =
      run(make_node("LRN", 13, 1, 1, {{"size", i64(2)}, {"alpha", f32(2)}, {"beta", f32(1)}, {"bias", f32(1)}}), {l});
  EXPECT_FLOAT_EQ(r[0].data<float>()[0], 1.0f / (1 + 1.0f * 5));
  EXPECT_FLOAT_EQ(r[0].data<float>()[1], 2.0f / (1 + 1.0f * 4));
}

TEST(NnQuant, QuantizeRoundsHalfToEvenThenAddsZeroPoint) {
  Tensor x = Tensor::from_vector<float>({5}, {2.5f, 3.5f, -1.5f, 1000, -1000});
  Tensor scale = Tensor::scalar<float>(1);
  Tensor zp = Tensor::scalar<uint8_t>(1);
  auto y = run(make_node("QuantizeLinear", 13, 3, 1), {x, scale, zp});
  EXPECT_EQ(y[0].to_int_vector(), (std::vector<int64_t>{3, 5, 0, 255, 0}));
  auto s8 = run(make_node("QuantizeLinear", 13, 3, 1), {x, scale, Tensor::scalar<int8_t>(0)});
  EXPECT_EQ(s8[0].to_int_vector(), (std::vector<int64_t>{2, 4, -2, 127, -128}));
}

TEST(NnQuant, PerAxisDequantizeAndDynamicQuantize) {
  Tensor x = Tensor::from_vector<uint8_t>({2, 2}, {10, 20, 30, 40});
  Tensor scale = Tensor::from_vector<float>({2}, {0.5f, 2});
  Tensor zp = Tensor::from_vector<uint8_t>({2}, {10, 0});
  auto y = run(make_node("DequantizeLinear", 13, 3, 1, {{"axis", i64(0)}}), {x, scale, zp});
  EXPECT_EQ(vals(y[0]), (std::vector<float>{0, 5, 60, 80}));
  EXPECT_THROW(run(make_node("DequantizeLinear", 13, 3, 1, {{"axis", i64(0)}}),
                   {x, Tensor::from_vector<float>({3}, {1, 1, 1}), Tensor()}),
               Error);
  auto d = run(make_node("DynamicQuantizeLinear", 11, 1, 3), {Tensor::from_vector<float>({3}, {-1, 0, 2.4f})});
  EXPECT_FLOAT_EQ(d[1].data<float>()[0], 3.4f / 255);
  EXPECT_EQ(d[2].data<uint8_t>()[0], 75);  // round(1 / (3.4 / 255)) = round(75.0)
  EXPECT_EQ(d[0].to_int_vector(), (std::vector<int64_t>{0, 75, 255}));
}

TEST(NnQuant, MatMulIntegerSubtractsZeroPoints) {
  Tensor a = Tensor::from_vector<uint8_t>({1, 2}, {3, 4});
  Tensor b = Tensor::from_vector<uint8_t>({2, 2}, {1, 2, 3, 4});
  Tensor azp = Tensor::scalar<uint8_t>(1), bzp = Tensor::from_vector<uint8_t>({2}, {1, 0});
  auto y = run(make_node("MatMulInteger", 10, 4, 1), {a, b, azp, bzp});
  // (3-1, 4-1) @ [[0 2] [2 4]] = [6, 16].
  EXPECT_EQ(y[0].dtype(), DType::Int32);
  EXPECT_EQ(y[0].to_int_vector(), (std::vector<int64_t>{6, 16}));
}

TEST(NnDropout, IdentityInInferenceSeededInTraining) {
  Tensor x = iota({1000}, 1);
  auto inf = run(make_node("Dropout", 13, 1, 2), {x});
  EXPECT_TRUE(inf[0].same_buffer(x));
  EXPECT_TRUE(inf[1].data<bool>()[999]);
  Node train = make_node("Dropout", 13, 3, 2, {{"seed", i64(5)}});
  std::vector<Tensor> in{x, Tensor::scalar<float>(0.5f), Tensor::scalar<bool>(true)};
  auto a = run(train, in), b = run(train, in);
  int64_t kept = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    bool m = a[1].data<bool>()[i];
    kept += m;
    EXPECT_EQ(a[0].data<float>()[i], m ? 2 * float(i + 1) : 0.0f);
    EXPECT_EQ(m, b[1].data<bool>()[i]);  // same seed, same mask
  }
  EXPECT_GT(kept, 400);
  EXPECT_LT(kept, 600);
  EXPECT_THROW(run(train, {x, Tensor::scalar<float>(1.0f), Tensor::scalar<bool>(true)}), Error);
}

// Timing check, not a test: run with --gtest_also_run_disabled_tests --gtest_filter='*Timing*'.
TEST(NnTiming, DISABLED_ConvAndMatMulThroughput) {
  std::mt19937 rng(1);
  auto time = [](auto&& f) {
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      f();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  };
  Tensor x = random({1, 64, 56, 56}, rng), w = random({64, 64, 3, 3}, rng);
  Node conv = make_node("Conv", 11, 2, 1, {{"pads", ints({1, 1, 1, 1})}});
  double s = time([&] { run(conv, {x, w}); });
  std::printf("conv 3x3 64->64 56x56: %.2f GFLOP/s\n", 2.0 * 64 * 64 * 9 * 56 * 56 / s / 1e9);
  Tensor w1 = random({256, 64, 1, 1}, rng);
  s = time([&] { run(make_node("Conv", 11, 2, 1), {x, w1}); });
  std::printf("conv 1x1 64->256 56x56: %.2f GFLOP/s\n", 2.0 * 256 * 64 * 56 * 56 / s / 1e9);
  Tensor a = random({128, 768}, rng), b = random({768, 768}, rng);
  s = time([&] { run(make_node("MatMul", 13, 2, 1), {a, b}); });
  std::printf("matmul 128x768x768: %.2f GFLOP/s\n", 2.0 * 128 * 768 * 768 / s / 1e9);
}

}  // namespace
}  // namespace wafer
