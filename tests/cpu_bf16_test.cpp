// bf16 activations in the cpu backend: the conversions against core's BFloat16;
// elementwise, LayerNorm and Softmax kernels reading and writing bf16 against the
// same math on bf16-rounded data (identity-weight GEMMs in bf16 produce and read
// exactly rounded values, so the expected results are computable on the host);
// and a BERT-like GEMM -> LN -> GEMM(+residual) -> LN -> GEMM chain that runs
// with no conversion step between its kernels.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/bf16_convert.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "core/float16.h"
#include "graph_test_util.h"
#include "passes/cpu_pipeline.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using namespace wafer::test;

float rb(float f) {
  return float(BFloat16(f));
}

Tensor identity(int64_t n) {
  Tensor t(DType::Float32, {n, n});
  for (int64_t i = 0; i < n * n; ++i) t.data<float>()[i] = i % (n + 1) == 0 ? 1.f : 0.f;
  return t;
}

int count_prefix(const std::vector<std::string>& labels, const std::string& prefix) {
  int n = 0;
  for (const auto& l : labels) n += l.rfind(prefix, 0) == 0;
  return n;
}

TEST(CpuBf16, ConversionsMatchCoreBFloat16) {
  std::mt19937 rng(41);
  std::vector<float> v;
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int i = 0; i < 500; ++i) v.push_back(u(rng) * std::pow(10.f, float(i % 60 - 30)));
  for (uint32_t b : {0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x3f807fffu, 0xbf818000u, 0x7f7fffffu, 0x7f800000u,
                     0xff800000u, 0x7fc00001u, 0x7f800001u, 0xffa12345u, 0x00000000u, 0x80000000u})
    v.push_back(std::bit_cast<float>(b));  // ties both ways, overflow to inf, infinities, NaNs, zeros
  std::vector<float> denormals = {std::numeric_limits<float>::denorm_min(), -1e-39f, 5e-39f};
  for (size_t n : {size_t(1), size_t(15), size_t(16), size_t(33), v.size()}) {
    std::vector<uint16_t> fast(n), generic(n + denormals.size());
    cpu::f32_to_bf16(v.data(), fast.data(), int64_t(n));
    std::vector<float> all(v.begin(), v.begin() + ptrdiff_t(n));
    all.insert(all.end(), denormals.begin(), denormals.end());
    cpu::f32_to_bf16_generic(all.data(), generic.data(), int64_t(all.size()));
    for (size_t i = 0; i < all.size(); ++i) {
      uint16_t want = BFloat16::from_float(all[i]);
      EXPECT_EQ(generic[i], want) << "generic, value bits " << std::hex << std::bit_cast<uint32_t>(all[i]);
      if (i < n) {
        EXPECT_EQ(fast[i], want) << "dispatched, value bits " << std::hex << std::bit_cast<uint32_t>(all[i]);
      }
    }
  }
  // Widening is exact for all 65536 patterns.
  std::vector<uint16_t> every(65536);
  for (uint32_t i = 0; i < 65536; ++i) every[i] = uint16_t(i);
  std::vector<float> wide(65536);
  cpu::bf16_to_f32(every.data(), wide.data(), 65536);
  for (uint32_t i = 0; i < 65536; ++i) ASSERT_EQ(std::bit_cast<uint32_t>(wide[i]), i << 16);
}

// With AVX512_BF16 --precision bf16 compiles a different program whose results are rounded;
// without it (AVX2 CPUs, or WAFER_CPU_ISA below avx512) exactly the fp32 program, bit for bit.
TEST(CpuBf16, Bf16KernelsNeedAvx512Bf16) {
  std::mt19937 rng(61);
  Graph g = input_graph({6, 32});
  g.initializers["w"] = random_tensor({32, 16}, rng);
  add(g, "MatMul", {"x", "w"}, {"y"}, 13);
  g.outputs = {"y"};
  auto program = [&](const CompileOptions& o) {
    auto typed = g.clone();
    optimize(*typed);
    return std::make_unique<cpu::Program>(std::move(typed), o);
  };
  auto fp32 = program({}), bf16 = program(bf16_options());
  Tensor x = random_tensor({6, 32}, rng);
  double diff = rel_l2(bf16->run({x})[0], fp32->run({x})[0]);
  if (cpu::has_avx512_bf16()) {
    EXPECT_NE(bf16->fingerprint(), fp32->fingerprint());
    EXPECT_GT(diff, 1e-6);
    EXPECT_LE(diff, 2e-2);
  } else {
    EXPECT_EQ(bf16->fingerprint(), fp32->fingerprint());
    EXPECT_EQ(diff, 0.0);
  }
}

// x -> MatMul(I) (bf16 rounding of x) -> Add row -> Mul scalar -> Sub same-shape ->
// Sub scalar-first -> Div row -> Relu -> MatMul(I): every kernel between the GEMMs
// reads and writes bf16, rounding once per op, which the host repeats exactly.
TEST(CpuBf16, ElementwiseKernelsReadAndWriteBf16) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << kNoBf16;
  std::mt19937 rng(43);
  for (Dims xd : {Dims{3, 37}, Dims{2, 5, 131}, Dims{64, 600}}) {
    int64_t c = xd.back();
    auto g = std::make_unique<Graph>();
    g->inputs = {"x"};
    g->types["x"] = f32(xd);
    g->initializers["I"] = identity(c);
    g->initializers["row"] = random_tensor({c}, rng, -1.f, 1.f);
    g->initializers["row1"] = random_tensor({1, c}, rng, 0.5f, 2.f);
    g->initializers["k"] = Tensor::scalar(1.75f);
    g->initializers["k2"] = Tensor::scalar(0.375f);
    add(*g, "MatMul", {"x", "I"}, {"r"}, 13);
    add(*g, "Add", {"r", "row"}, {"a"}, 14);
    add(*g, "Mul", {"a", "k"}, {"b"}, 14);
    add(*g, "Sub", {"b", "r"}, {"c"}, 14);
    add(*g, "Sub", {"k2", "c"}, {"d"}, 14);
    add(*g, "Div", {"d", "row1"}, {"e"}, 14);
    add(*g, "Relu", {"e"}, {"f"}, 14);
    add(*g, "MatMul", {"f", "I"}, {"y"}, 13);
    g->outputs = {"y"};
    Tensor x = random_tensor(xd, rng, -2.f, 2.f), row = g->initializers["row"], row1 = g->initializers["row1"];
    optimize(*g);
    cpu::Program p(std::move(g), bf16_options());
    SCOPED_TRACE(::testing::PrintToString(xd));
    EXPECT_TRUE(p.fallback_nodes().empty());
    auto labels = p.step_labels();
    EXPECT_EQ(count_prefix(labels, "to plain"), 0) << ::testing::PrintToString(labels);
    EXPECT_EQ(count_prefix(labels, "reorder"), 1) << ::testing::PrintToString(labels);  // x only
    Tensor y = p.run({x})[0];
    const float* xs = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t j = i % c;
      float r = rb(xs[i]);
      float a = rb(r + row.data<float>()[j]);
      float b = rb(a * 1.75f);
      float cc = rb(b - r);
      float d = rb(0.375f - cc);
      float e = rb(d / row1.data<float>()[j]);
      float f = e > 0 ? e : 0.f;
      ASSERT_EQ(y.data<float>()[i], f) << "element " << i;
    }
  }
}

// LayerNormalization (scale+bias, scale only, over 1 or 2 axes) and Softmax read
// a bf16 GEMM output and write bf16 for a GEMM; one LN result is also a graph
// output, so that LN writes fp32 and bf16 at once.
TEST(CpuBf16, LayerNormAndSoftmaxReadAndWriteBf16) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << kNoBf16;
  std::mt19937 rng(47);
  for (int64_t axis : {-1, -2}) {
    for (bool with_bias : {true, false}) {
      Dims xd = {5, 3, 45};
      Dims nd = axis == -1 ? Dims{45} : Dims{3, 45};
      int64_t d = element_count(nd);
      auto g = std::make_unique<Graph>();
      g->inputs = {"x"};
      g->types["x"] = f32(xd);
      g->initializers["I"] = identity(45);
      g->initializers["s"] = random_tensor(nd, rng, -2.f, 2.f);
      g->initializers["b"] = random_tensor(nd, rng, -1.f, 1.f);
      add(*g, "MatMul", {"x", "I"}, {"r"}, 13);
      std::vector<std::string> ln_in = {"r", "s"};
      if (with_bias) ln_in.push_back("b");
      Node& ln = add(*g, "LayerNormalization", ln_in, {"n"}, 17);
      ln.attrs["axis"] = Attribute{axis};
      ln.attrs["epsilon"] = Attribute{1e-3f};
      add(*g, "MatMul", {"n", "I"}, {"y"}, 13);
      add(*g, "Softmax", {"r"}, {"sm"}, 13);
      add(*g, "MatMul", {"sm", "I"}, {"z"}, 13);
      g->outputs = {"y", "n", "z"};
      Tensor x = random_tensor(xd, rng, -3.f, 3.f), s = g->initializers["s"], b = g->initializers["b"];
      optimize(*g);
      cpu::Program p(std::move(g), bf16_options());
      SCOPED_TRACE("axis " + std::to_string(axis) + (with_bias ? " with bias" : " scale only"));
      EXPECT_TRUE(p.fallback_nodes().empty());
      auto labels = p.step_labels();
      EXPECT_EQ(count_prefix(labels, "to plain"), 0) << ::testing::PrintToString(labels);
      EXPECT_EQ(count_prefix(labels, "reorder"), 1) << ::testing::PrintToString(labels);
      auto out = p.run({x});
      const float* xs = x.data<float>();
      for (int64_t row = 0; row < x.numel() / d; ++row) {
        std::vector<double> r(size_t(d), 0.0);
        double mean = 0, var = 0, mx = -1e30, den = 0;
        for (int64_t i = 0; i < d; ++i) {
          r[size_t(i)] = rb(xs[row * d + i]);
          mean += r[size_t(i)] / double(d);
        }
        for (double v : r) var += (v - mean) * (v - mean) / double(d);
        // Softmax is over the last axis (45) only.
        for (int64_t i = 0; i < d; ++i) {
          int64_t at = row * d + i;
          double n = (r[size_t(i)] - mean) / std::sqrt(var + 1e-3) * s.data<float>()[i] +
                     (with_bias ? b.data<float>()[i] : 0.f);
          EXPECT_NEAR(out[1].data<float>()[at], n, 1e-5 * (1 + std::abs(n))) << "fp32 LN, element " << at;
          EXPECT_NEAR(out[0].data<float>()[at], n, std::abs(n) / 128 + 1e-5) << "bf16 LN, element " << at;
        }
        for (int64_t i0 = 0; i0 < d; i0 += 45) {
          mx = -1e30;
          den = 0;
          for (int64_t i = i0; i < i0 + 45; ++i) mx = std::max(mx, r[size_t(i)]);
          for (int64_t i = i0; i < i0 + 45; ++i) den += std::exp(r[size_t(i)] - mx);
          for (int64_t i = i0; i < i0 + 45; ++i) {
            double want = std::exp(r[size_t(i)] - mx) / den;
            EXPECT_NEAR(out[2].data<float>()[row * d + i], want, want / 128 + 1e-7) << "softmax, element " << i;
          }
        }
      }
    }
  }
}

// fp32 LayerNorm on rows long and many enough for the threaded path, against the reference kernel.
TEST(CpuBf16, LayerNormFp32ThreadedRows) {
  std::mt19937 rng(53);
  Graph g = input_graph({41, 1001});
  g.initializers["s"] = random_tensor({1001}, rng, -2.f, 2.f);
  g.initializers["b"] = random_tensor({1001}, rng, -1.f, 1.f);
  add(g, "LayerNormalization", {"x", "s", "b"}, {"y"}, 17);
  g.outputs = {"y"};
  Tensor x = random_tensor({41, 1001}, rng, 5.f, 9.f);  // a large mean: the two-pass variance matters
  auto ref = make_backend("reference")->compile(g, {})->run({x});
  auto got = make_backend("cpu")->compile(g, {})->run({x});
  EXPECT_LE(rel_l2(got[0], ref[0]), 1e-6);
}

// BERT's layer shape: x -> GEMM+bias -> LN1 -> GEMM+bias+residual(LN1) -> LN2 -> GEMM.
// In bf16 only the graph input is converted (to bf16 for the first GEMM); with the
// residual in fp32 (WAFER_CPU_BF16_RESIDUAL=f32) LN1 writes both forms and the
// residual GEMM an fp32 dst, still without a conversion step.
TEST(CpuBf16, GemmLayerNormChainHasNoConversionSteps) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << kNoBf16;
  std::mt19937 rng(59);
  Graph g = input_graph({1, 24, 64});
  for (const char* w : {"w1", "w2", "w3"}) g.initializers[w] = random_tensor({64, 64}, rng, -0.2f, 0.2f);
  for (const char* b : {"b1", "b2", "s1", "s2", "t1", "t2"}) g.initializers[b] = random_tensor({64}, rng, -1.f, 1.f);
  add(g, "MatMul", {"x", "w1"}, {"m1"}, 13);
  add(g, "Add", {"m1", "b1"}, {"h1"}, 14);
  add(g, "LayerNormalization", {"h1", "s1", "t1"}, {"n1"}, 17);
  add(g, "MatMul", {"n1", "w2"}, {"m2"}, 13);
  add(g, "Add", {"m2", "b2"}, {"h2"}, 14);
  add(g, "Add", {"h2", "n1"}, {"r2"}, 14);
  add(g, "LayerNormalization", {"r2", "s2", "t2"}, {"n2"}, 17);
  add(g, "MatMul", {"n2", "w3"}, {"y"}, 13);
  g.outputs = {"y"};
  Tensor x = random_tensor({1, 24, 64}, rng, -1.f, 1.f);
  auto want = make_backend("reference")->compile(g, {})->run({x});
  for (const char* residual : {"bf16", "f32"}) {
    SCOPED_TRACE(std::string("residual ") + residual);
    setenv("WAFER_CPU_BF16_RESIDUAL", residual, 1);
    auto copy = g.clone();
    CpuPipelineOptions opts;
    cpu_pipeline(*copy, opts);
    cpu::Program p(std::move(copy), bf16_options());
    unsetenv("WAFER_CPU_BF16_RESIDUAL");
    EXPECT_EQ(p.bf16_residual_f32(), std::string(residual) == "f32");
    EXPECT_TRUE(p.fallback_nodes().empty());
    auto labels = p.step_labels();
    EXPECT_EQ(count_prefix(labels, "to plain"), 0) << ::testing::PrintToString(labels);
    EXPECT_EQ(count_prefix(labels, "reorder"), 1) << ::testing::PrintToString(labels);
    EXPECT_EQ(count_prefix(labels, "reorder x"), 1) << ::testing::PrintToString(labels);
    double err = rel_l2(p.run({x})[0], want[0]);
    EXPECT_LE(err, 2e-2);
    EXPECT_GT(err, 1e-6);  // bf16 really ran
  }
}

}  // namespace
}  // namespace wafer
