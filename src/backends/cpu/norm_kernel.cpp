// Vectorized LayerNormalization, wafer.RMSNorm, Softmax and LogSoftmax over the last axes
// (Softmax before opset 13: over all axes from `axis`), rows spread over the
// OpenMP pool; a (Log)Softmax-13 over an inner axis runs oneDNN's softmax. Inputs and results are fp32 or bf16 (bf16
// mode keeps activations in bf16 between GEMMs): a bf16 row is widened into an L1-resident fp32 row, computed in fp32
// and rounded on the way out (bf16_convert.h); a LayerNorm feeding both a bf16 GEMM and an fp32 residual writes both
// forms. Row sums use fp32 vector accumulators (many independent partial sums, then combined) and the variance is a
// second pass over the row, now in L1, so the result stays within ~1e-6 of the reference kernel's double sums at about
// the cost of two copies of the row (128x768: ~18 us on one Zen 4 core).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "backends/cpu/bf16_convert.h"
#include "backends/cpu/isa_dispatch.h"
#include "backends/cpu/program.h"
#include "backends/cpu/threading.h"

namespace wafer::cpu {

namespace {

using dt = dnnl::memory::data_type;

// Sum of the 16 lanes (once per row; GCC 12's _mm512_reduce_add_ps trips -Wuninitialized in its own header).
[[gnu::target(WAFER_TARGET_AVX512)]] float lane_sum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float s = 0;
  for (float l : lanes) s += l;
  return s;
}

// AVX-512: four independent accumulators per pass (a single one is bound by
// the add latency), masked tails.
[[gnu::target(WAFER_TARGET_AVX512)]] void layernorm_row_avx512(const float* x, const float* scale, const float* bias,
                                                               float* y, int64_t d, float eps) {
  auto tail = [d](int64_t i) { return d - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (d - i)) - 1); };
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 64 <= d; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(x + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(x + i + 48));
  }
  for (; i < d; i += 16) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(tail(i), x + i));
  float mean = lane_sum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))) / float(d);
  __m512 mv = _mm512_set1_ps(mean);
  s0 = s1 = s2 = s3 = _mm512_setzero_ps();
  for (i = 0; i + 64 <= d; i += 64) {
    __m512 a = _mm512_sub_ps(_mm512_loadu_ps(x + i), mv), b = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mv);
    __m512 c = _mm512_sub_ps(_mm512_loadu_ps(x + i + 32), mv), e = _mm512_sub_ps(_mm512_loadu_ps(x + i + 48), mv);
    s0 = _mm512_fmadd_ps(a, a, s0);
    s1 = _mm512_fmadd_ps(b, b, s1);
    s2 = _mm512_fmadd_ps(c, c, s2);
    s3 = _mm512_fmadd_ps(e, e, s3);
  }
  for (; i < d; i += 16) {
    __m512 a = _mm512_maskz_sub_ps(tail(i), _mm512_maskz_loadu_ps(tail(i), x + i), mv);
    s0 = _mm512_fmadd_ps(a, a, s0);
  }
  float var = lane_sum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))) / float(d);
  __m512 inv = _mm512_set1_ps(1.f / std::sqrt(var + eps));
  for (i = 0; i < d; i += 16) {
    __mmask16 m = tail(i);
    __m512 n = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mv), inv);
    __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + i) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(n, _mm512_maskz_loadu_ps(m, scale + i), b));
  }
}

[[gnu::always_inline]] inline void layernorm_row_body(const float* x, const float* scale, const float* bias, float* y,
                                                      int64_t d, float eps) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < d; ++i) sum += x[i];
  float mean = sum / float(d);
  float var = 0;
#pragma omp simd reduction(+ : var)
  for (int64_t i = 0; i < d; ++i) var += (x[i] - mean) * (x[i] - mean);
  float inv = 1.f / std::sqrt(var / float(d) + eps);
  if (bias) {
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) y[i] = (x[i] - mean) * inv * scale[i] + bias[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) y[i] = (x[i] - mean) * inv * scale[i];
  }
}

// e^x in float, written so the compiler vectorizes it for each ISA (no libm call):
// x = k ln2 + r with k = round(x log2 e), |r| <= ln2/2; e^r by Cephes' expf
// polynomial (Cephes Math Library, S. L. Moshier, expf.c: its coefficients and
// its two-part ln2); 2^k built in the exponent bits. Within ~2 ulp of expf;
// below -87.3 it returns ~1.2e-38 instead of a denormal or 0 (softmax rows then
// differ from the reference kernel by less than 1e-37 absolute).
[[gnu::always_inline]] inline float exp_vec(float x) {
  x = x > -87.3365f ? x : -87.3365f;
  x = x < 88.7228f ? x : 88.7228f;
  float k = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round to nearest (1.5 * 2^23 trick)
  float r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  return p * std::bit_cast<float>((int32_t(k) + 127) << 23);
}

// Softmax (log_softmax: x - max - log(sum e^(x - max))) of one row.
[[gnu::always_inline]] inline void softmax_row_body(const float* x, float* y, int64_t d, bool log_softmax) {
  float mx = x[0];
#pragma omp simd reduction(max : mx)
  for (int64_t i = 0; i < d; ++i) mx = std::max(mx, x[i]);
  float sum = 0;
  if (log_softmax) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < d; ++i) sum += exp_vec(x[i] - mx);
    float shift = mx + std::log(sum);
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) y[i] = x[i] - shift;
    return;
  }
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < d; ++i) {
    y[i] = exp_vec(x[i] - mx);
    sum += y[i];
  }
  float inv = 1.f / sum;
#pragma omp simd
  for (int64_t i = 0; i < d; ++i) y[i] *= inv;
}

// RMS norm: one pass for the mean of squares, one to scale (the plain loops vectorize at every level).
[[gnu::always_inline]] inline void rmsnorm_row_body(const float* x, const float* scale, float* y, int64_t d,
                                                    float eps) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < d; ++i) sum += x[i] * x[i];
  float inv = 1.f / std::sqrt(sum / float(d) + eps);
#pragma omp simd
  for (int64_t i = 0; i < d; ++i) y[i] = x[i] * inv * scale[i];
}

void rmsnorm_row(const float* x, const float* scale, float* y, int64_t d, float eps) {
  isa_dispatch<rmsnorm_row_body>(x, scale, y, d, eps);
}

// AVX2: GCC 12 leaves softmax_row_body scalar at this target ("control flow in loop": it does not
// if-convert the max and the clamp without AVX-512 masks), so the row is written with intrinsics:
// the same exp (exp_vec's steps, 8 lanes), scalar tails.
[[gnu::target(WAFER_TARGET_AVX2)]] inline __m256 exp_avx2(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3365f)), _mm256_set1_ps(88.7228f));
  __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

[[gnu::target(WAFER_TARGET_AVX2)]] void softmax_row_avx2(const float* x, float* y, int64_t d, bool log_softmax) {
  alignas(32) float lanes[8];
  int64_t i = 0;
  __m256 m = _mm256_set1_ps(x[0]);
  for (; i + 8 <= d; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  _mm256_store_ps(lanes, m);
  float mx = x[0];
  for (float l : lanes) mx = std::max(mx, l);
  for (; i < d; ++i) mx = std::max(mx, x[i]);
  __m256 mv = _mm256_set1_ps(mx), s = _mm256_setzero_ps();
  for (i = 0; i + 8 <= d; i += 8) {
    __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    if (!log_softmax) _mm256_storeu_ps(y + i, e);
    s = _mm256_add_ps(s, e);
  }
  _mm256_store_ps(lanes, s);
  float sum = 0;
  for (float l : lanes) sum += l;
  for (int64_t j = i; j < d; ++j) {
    float e = exp_vec(x[j] - mx);
    if (!log_softmax) y[j] = e;
    sum += e;
  }
  if (log_softmax) {
    __m256 shift = _mm256_set1_ps(mx + std::log(sum));
    for (i = 0; i + 8 <= d; i += 8) _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_loadu_ps(x + i), shift));
    for (; i < d; ++i) y[i] = x[i] - (mx + std::log(sum));
    return;
  }
  float inv = 1.f / sum;
  __m256 iv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= d; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), iv));
  for (; i < d; ++i) y[i] *= inv;
}

// The AVX2 row serves AVX-512 too: 12x128 rows of 128, one thread on the shared Zen 4, median of 3x30
// runs: 0.43 ms against 0.51 ms for the compiler's AVX-512 version of softmax_row_body (and
// 1.02 / 0.85 ms before, with a libm exp per element).
void softmax_row(const float* x, float* y, int64_t d, bool log_softmax) {
  if (cpu_isa() != Isa::scalar)
    softmax_row_avx2(x, y, d, log_softmax);
  else
    isa_dispatch<softmax_row_body>(x, y, d, log_softmax);
}

// AVX-512 has its own row kernel; AVX2 and baseline compile the plain loops.
void layernorm_row(const float* x, const float* scale, const float* bias, float* y, int64_t d, float eps) {
  if (cpu_isa() == Isa::avx512)
    layernorm_row_avx512(x, scale, bias, y, d, eps);
  else if (cpu_isa() == Isa::avx2)
    body_avx2<layernorm_row_body>(x, scale, bias, y, d, eps);
  else
    body_scalar<layernorm_row_body>(x, scale, bias, y, d, eps);
}

enum class RowKind { layer_norm, rms_norm, softmax };

struct RowJob {
  RowKind kind = RowKind::layer_norm;
  bool log_softmax = false;
  ElemPtr x, y, y2;  // y2: the bf16 twin of an fp32 y, or null
  const float* scale = nullptr;
  const float* bias = nullptr;
  int64_t rows = 0, d = 0;
  float eps = 0;
  // bf16 rows are widened into two fp32 rows per thread, in a planned buffer: a
  // thread_local std::vector here made 2-thread runs stall on the loaded machine
  // (measured: 50 fp32 LayerNorms 24 ms instead of 1.7 ms, median).
  float* scratch = nullptr;
  int threads = 1;
};

void run_rows(const RowJob& j) {
#pragma omp parallel for schedule(static) num_threads(j.threads) if (j.rows * j.d > 32768)
  for (int64_t r = 0; r < j.rows; ++r) {
    float* xs = j.scratch ? j.scratch + 2 * j.d * omp_get_thread_num() : nullptr;
    float* ys = xs ? xs + j.d : nullptr;
    const float* x = f32_view(j.x, r * j.d, j.d, xs);
    float* y = f32_target(j.y, r * j.d, ys);
    if (j.kind == RowKind::layer_norm)
      layernorm_row(x, j.scale, j.bias, y, j.d, j.eps);
    else if (j.kind == RowKind::rms_norm)
      rmsnorm_row(x, j.scale, y, j.d, j.eps);
    else
      softmax_row(x, y, j.d, j.log_softmax);
    store_f32(j.y, r * j.d, j.d, y);
    if (j.y2.p) store_f32(j.y2, r * j.d, j.d, y);
  }
}

// (Log)Softmax-13 along an inner axis: oneDNN's softmax on the plain layout.
bool lower_softmax_axis(Program& p, const Node& node, int64_t axis) {
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x);
  if (xd->size() > 6) return false;
  auto alg = node.op_type == "LogSoftmax" ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
  dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, plain_md(*xd), plain_md(*xd), int(axis));
  dnnl::softmax_v2_forward::primitive_desc pd(desc, p.engine());
  MemRef src = p.operand(x, plain_md(*xd));
  MemRef dst = p.define(y, plain_md(*xd));
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::softmax_v2_forward(pd);
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  p.add_step(std::move(s));
  return true;
}

}  // namespace

bool lower_norm(Program& p, const Node& node) {
  if (node.outputs.empty() || node.outputs[0].empty() || !node.has_input(0)) return false;
  const bool rms = node.domain == "wafer" && node.op_type == "RMSNorm";
  if (!node.domain.empty() && !rms) return false;
  // RMSNorm is a layer norm without the mean (its scale is checked like LayerNormalization's).
  bool ln = node.op_type == "LayerNormalization" || rms, sm = node.op_type == "Softmax" || node.op_type == "LogSoftmax";
  if (!ln && !sm) return false;
  // Before opset 13 (Soft)max runs over the input flattened to 2-D at `axis` (default 1): rows of all dims from axis.
  bool flat = sm && node.op_version < 13;
  for (size_t o = 1; o < node.outputs.size(); ++o)
    if (!node.outputs[o].empty()) return false;  // Mean / InvStdDev outputs: reference kernel
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x);
  if (!xd || p.dtype_of_value(x) != DType::Float32 || p.dims_of(y) != xd) return false;
  int64_t r = int64_t(xd->size()), axis = node.attr_int("axis", flat ? 1 : -1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  if (sm && !flat && axis != r - 1) return lower_softmax_axis(p, node, axis);
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
  RowJob job;
  job.kind = rms ? RowKind::rms_norm : ln ? RowKind::layer_norm : RowKind::softmax;
  job.log_softmax = node.op_type == "LogSoftmax";
  job.rows = rows;
  job.d = d;
  job.eps = ln ? node.attr_float("epsilon", rms ? 1e-6f : 1e-5f) : 0.f;
  MemRef in = p.plain_any(x);
  auto out = p.define_plain_out(y, in.md.data_type() == dt::bf16);
  job.threads = std::max(1, current_threads());
  std::optional<MemRef> scratch;
  if (in.md.data_type() == dt::bf16 || !out.f32) {
    auto md = plain_md({int64_t(job.threads) * 2 * d});
    scratch = MemRef{md, p.new_buffer(md.get_size()), -1};
  }
  Step s;
  s.label = node.label();
  s.node = &node;
  s.kernel = rms ? "rms_norm" : ln ? "layer_norm" : job.log_softmax ? "log_softmax" : "softmax";
  s.per_isa = true;
  if (out.f32) s.args.push_back({0, *out.f32});
  if (out.bf16) s.args.push_back({1, *out.bf16});
  s.args.push_back({2, in});
  if (scratch) s.args.push_back({3, *scratch});
  for (int t : {scale, bias})
    if (t >= 0) s.uses.push_back(t);
  s.fn = [&p, job, in, out, scratch, scale, bias]() mutable {
    if (scratch) job.scratch = static_cast<float*>(p.data(*scratch));
    job.x = ElemPtr{p.data(in), in.md.data_type() == dt::bf16};
    job.y = out.f32 ? ElemPtr{p.data(*out.f32), false} : ElemPtr{p.data(*out.bf16), true};
    job.y2 = out.f32 && out.bf16 ? ElemPtr{p.data(*out.bf16), true} : ElemPtr{};
    if (scale >= 0) job.scale = static_cast<const float*>(p.tensor_data(scale));
    if (bias >= 0) job.bias = static_cast<const float*>(p.tensor_data(bias));
    run_rows(job);
  };
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
