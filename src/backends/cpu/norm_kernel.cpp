// Vectorized LayerNormalization and Softmax over the last axes (float32),
// rows spread over the OpenMP pool. Sums accumulate in double per row: the
// reference kernel's accuracy at a fraction of its passes over memory.
#include <omp.h>

#include <cmath>

#include "backends/cpu/program.h"

namespace wafer::cpu {

namespace {

__attribute__((target_clones("avx512f", "avx2", "default"))) void layernorm_rows(const float* x, const float* scale,
                                                                                 const float* bias, float* y,
                                                                                 int64_t rows, int64_t d, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < d; ++i) sum += xr[i];
    float mean = float(sum / double(d));
    double var = 0;
#pragma omp simd reduction(+ : var)
    for (int64_t i = 0; i < d; ++i) var += double(xr[i] - mean) * double(xr[i] - mean);
    float inv = float(1.0 / std::sqrt(var / double(d) + double(eps)));
    if (bias) {
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * scale[i] + bias[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * scale[i];
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_rows(const float* x, float* y, int64_t rows,
                                                                               int64_t d) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    float mx = xr[0];
#pragma omp simd reduction(max : mx)
    for (int64_t i = 0; i < d; ++i) mx = std::max(mx, xr[i]);
    double sum = 0;
    for (int64_t i = 0; i < d; ++i) {
      yr[i] = std::exp(xr[i] - mx);
      sum += yr[i];
    }
    float inv = float(1.0 / sum);
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) yr[i] *= inv;
  }
}

}  // namespace

bool lower_norm(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.empty() || node.outputs[0].empty() || !node.has_input(0)) return false;
  bool ln = node.op_type == "LayerNormalization", sm = node.op_type == "Softmax" && node.op_version >= 13;
  if (!ln && !sm) return false;
  for (size_t o = 1; o < node.outputs.size(); ++o)
    if (!node.outputs[o].empty()) return false;  // Mean / InvStdDev outputs: reference kernel
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x);
  if (!xd || p.dtype_of_value(x) != DType::Float32 || p.dims_of(y) != xd) return false;
  int64_t r = int64_t(xd->size()), axis = node.attr_int("axis", -1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  if (sm && axis != r - 1) return false;
  if (ln && node.attr_int("stash_type", 1) != 1) return false;
  int64_t d = 1;
  for (int64_t i = axis; i < r; ++i) d *= (*xd)[size_t(i)];
  int64_t rows = element_count(*xd) / std::max<int64_t>(d, 1);
  int scale = -1, bias = -1;
  if (ln) {
    for (size_t i : {size_t(1), size_t(2)}) {
      if (!node.has_input(i)) {
        if (i == 1) return false;
        continue;
      }
      auto dd = p.dims_of(node.inputs[i]);
      if (!dd || p.dtype_of_value(node.inputs[i]) != DType::Float32 || element_count(*dd) != d) return false;
      // Scale and bias must cover the normalized dims exactly (no broadcasting inside them).
      Dims tail(xd->begin() + axis, xd->end());
      Dims own = *dd;
      while (!own.empty() && own.front() == 1 && own.size() > tail.size()) own.erase(own.begin());
      if (own != tail) return false;
      (i == 1 ? scale : bias) = p.plain(node.inputs[i]);
    }
  }
  float eps = ln ? node.attr_float("epsilon", 1e-5f) : 0.f;
  int in = p.plain(x);
  MemRef out = p.define(y, plain_md(*xd));
  Step s;
  s.label = node.label();
  s.args.push_back({0, out});
  s.args.push_back({1, MemRef{plain_md(*xd), -1, in}});
  for (int t : {scale, bias})
    if (t >= 0) s.uses.push_back(t);
  s.fn = [&p, ln, in, out, scale, bias, rows, d, eps] {
    const float* xp = static_cast<const float*>(p.tensor_data(in));
    float* yp = static_cast<float*>(p.tensor_data(out.tensor));
    if (ln)
      layernorm_rows(xp, static_cast<const float*>(p.tensor_data(scale)),
                     bias >= 0 ? static_cast<const float*>(p.tensor_data(bias)) : nullptr, yp, rows, d, eps);
    else
      softmax_rows(xp, yp, rows, d);
  };
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
