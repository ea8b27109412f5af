// Helpers the backend and pass tests share: building small graphs by hand,
// random inputs, and comparing results. Header-only (inline) so each test file
// stays one translation unit of the single test binary.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/error.h"
#include "ir/graph.h"

namespace wafer::test {

// The type of an f32 value with concrete dims.
inline ValueType f32(const Dims& d) {
  return ValueType{DType::Float32, Shape::from(d)};
}

// An f32 tensor of the given dims, uniform in [lo, hi).
inline Tensor random_tensor(const Dims& d, std::mt19937& rng, float lo, float hi) {
  Tensor t(DType::Float32, d);
  std::uniform_real_distribution<float> u(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

// An f32 tensor of the given dims, uniform in [-scale, scale).
inline Tensor random_tensor(const Dims& d, std::mt19937& rng, float scale = 1.f) {
  return random_tensor(d, rng, -scale, scale);
}

// An f32 tensor of the given dims, uniform in [-1, 1), from its own seed.
inline Tensor random_tensor(const Dims& d, uint32_t seed) {
  std::mt19937 rng(seed);
  return random_tensor(d, rng);
}

// The message of the wafer::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A 1-D int64 tensor holding v (shapes, axes, starts/ends as initializers).
inline Tensor ints(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>({int64_t(v.size())}, v);
}

// A graph whose only input is the f32 value "x" with dims d.
inline Graph input_graph(const Dims& d) {
  Graph g;
  g.inputs = {"x"};
  g.types["x"] = f32(d);
  return g;
}

// Appends a node of the default domain at opset version v (its name is the graph's generated one).
inline Node& add(Graph& g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                 int v = 13) {
  Node& n = g.add_node(op, std::move(in), std::move(out));
  n.op_version = v;
  return n;
}

// As add, and names the node "<op>_<first output>" so fallback lists and errors are readable.
inline Node& add_named(Graph& g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                       int v = 13) {
  Node& n = add(g, op, std::move(in), std::move(out), v);
  n.name = op + "_" + n.outputs[0];
  return n;
}

// Relative L2 error of a against the expected b (expects equal dims; compares the common prefix).
inline double rel_l2(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.dims(), b.dims());
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i) {
    double d = a.get_double(i) - b.get_double(i);
    num += d * d;
    den += b.get_double(i) * b.get_double(i);
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// Compiles g on the named backend ("cpu", "reference", ...) with opts and runs it once.
inline std::vector<Tensor> run_on(const std::string& backend, const Graph& g, const std::vector<Tensor>& inputs,
                                  CompileOptions opts = {}) {
  return make_backend(backend, &opts)->compile(g, opts)->run(inputs);
}

// Why a bf16-kernel test skips: what bf16 does instead is itself tested (CpuBf16.Bf16KernelsNeedAvx512Bf16).
inline constexpr const char* kNoBf16 =
    "bf16 kernels need AVX512_BF16 (and WAFER_CPU_ISA=avx512); without it --precision bf16 runs the fp32 program";

// Compile options that run matmuls and activations in bf16.
inline CompileOptions bf16_options() {
  CompileOptions o;
  o.precision = Precision::bf16;
  return o;
}

}  // namespace wafer::test
