// The attention kernel's instruction-set versions: attention_body.inc is
// compiled three times, over AVX-512, AVX2+FMA and plain float "vectors" of
// width 1, each in its own namespace and target region, and attention()
// picks the one cpu_isa() allows (as isa_dispatch.h does for the other kernels).
#include "backends/cpu/attention_kernel.h"

// GCC 12 reports the self-initialized _mm512_undefined_*() inside its own
// AVX-512 headers as maybe-uninitialized (GCC bug 105593) wherever they are
// inlined; the headers' lines are exempted, nothing else.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "backends/cpu/isa_dispatch.h"

namespace wafer::cpu {

namespace {

// Scratch layout, shared by every version (padding to 16 floats and row
// blocks of multiples of 8 suit all three vector widths and tile heights).
struct Layout {
  int64_t skp = 0, dvp = 0;    // sk, dv rounded up to 16
  int64_t mb = 0, blocks = 0;  // query rows per task (a multiple of 8), blocks per head
  int64_t kt_floats = 0, v_floats = 0, q_floats = 0, s_floats = 0, o_floats = 0;  // per thread
  int64_t thread_floats = 0;
  int64_t total = 0;
};

int64_t round_up(int64_t x, int64_t m) {
  return (x + m - 1) / m * m;
}

Layout layout(int64_t batch, int64_t heads, int64_t s, int64_t sk, int64_t d, int64_t dv, int threads) {
  Layout L;
  L.skp = round_up(std::max<int64_t>(sk, 1), 16);
  L.dvp = round_up(std::max<int64_t>(dv, 1), 16);
  // Score rows of a block stay in L1 (~32 KiB), 8 to 64 rows; more, smaller
  // blocks when there are too few tasks to keep every thread busy.
  L.mb = std::clamp<int64_t>(8192 / L.skp / 8 * 8, 8, 64);
  L.mb = std::min(L.mb, round_up(s, 8));
  while (L.mb > 8 && batch * heads * ((s + L.mb - 1) / L.mb) < 4 * int64_t(threads)) L.mb -= 8;
  L.blocks = (s + L.mb - 1) / L.mb;
  L.kt_floats = round_up(d * L.skp, 16);
  L.v_floats = round_up(sk * L.dvp, 16);
  L.q_floats = round_up(std::max(L.mb, int64_t(16)) * d, 16);  // also K's rows while packing
  L.s_floats = L.mb * L.skp;
  L.o_floats = L.mb * L.dvp;
  L.thread_floats = L.kt_floats + L.v_floats + L.q_floats + L.s_floats + L.o_floats + round_up(L.mb, 16);
  L.total = int64_t(threads) * L.thread_floats;
  return L;
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest even, as oneDNN's and the reference's conversions do.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// e^x for x <= 0 as used by the softmax: 2^n * e^r with n = round(x / ln 2),
// |r| <= ln2 / 2 split off in two parts (Cody-Waite), e^r by its degree-6
// Taylor polynomial (error < 2e-7 relative), 0 below -87 (2^-126 is the
// smallest normal float).
#define WAFER_ATTENTION_EXP_BODY(x)                 \
  const T lo = set1(-87.3f);                        \
  T xc = max(x, lo);                                \
  T n = round(mul(xc, set1(1.44269504088896341f))); \
  T r = fma(n, set1(-0.693359375f), xc);            \
  r = fma(n, set1(2.12194440e-4f), r);              \
  T p = set1(1.f / 720);                            \
  p = fma(p, r, set1(1.f / 120));                   \
  p = fma(p, r, set1(1.f / 24));                    \
  p = fma(p, r, set1(1.f / 6));                     \
  p = fma(p, r, set1(0.5f));                        \
  p = fma(p, r, set1(1.f));                         \
  p = fma(p, r, set1(1.f));

}  // namespace

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")  // WAFER_TARGET_AVX512 (pragmas take no macros)
namespace avx512 {
namespace {
struct V {
  using T = __m512;
  static constexpr int W = 16, MR = 8;  // 8 x 32 tile: 16 accumulators of 32 registers
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T load_bf16(const uint16_t* p) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  static void store_bf16(uint16_t* p, T v) {
    __m512i u = _mm512_castps_si512(v);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
    __m512i nan = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), nan);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(r));
  }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static float hmax(T a) { return _mm512_reduce_max_ps(a); }
  static float hsum(T a) { return _mm512_reduce_add_ps(a); }
  static T exp(T x) {
    WAFER_ATTENTION_EXP_BODY(x)
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    T y = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), y);
  }
};
#include "backends/cpu/attention_body.inc"
}  // namespace
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")  // WAFER_TARGET_AVX2
namespace avx2 {
namespace {
struct V {
  using T = __m256;
  static constexpr int W = 8, MR = 4;  // 4 x 16 tile: 8 accumulators of 16 registers
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T load_bf16(const uint16_t* p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static void store_bf16(uint16_t* p, T v) {
    __m256i u = _mm256_castps_si256(v);
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
    __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    r = _mm256_blendv_epi8(r, nan, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
    // 8 x 32-bit -> 8 x 16-bit (values < 2^16, so unsigned saturation is exact).
    __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), packed);
  }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static float hmax(T a) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
  }
  static float hsum(T a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static T exp(T x) {
    WAFER_ATTENTION_EXP_BODY(x)
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    T y = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_and_ps(_mm256_cmp_ps(x, lo, _CMP_GE_OQ), y);
  }
};
#include "backends/cpu/attention_body.inc"
}  // namespace
}  // namespace avx2
#pragma GCC pop_options

namespace scalar {
namespace {
struct V {
  using T = float;
  static constexpr int W = 1, MR = 4;
  static T zero() { return 0.f; }
  static T set1(float x) { return x; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T load_bf16(const uint16_t* p) { return bf16_to_f32(*p); }
  static void store_bf16(uint16_t* p, T v) { *p = f32_to_bf16(v); }
  static T add(T a, T b) { return a + b; }
  static T mul(T a, T b) { return a * b; }
  static T max(T a, T b) { return std::max(a, b); }
  static T fma(T a, T b, T c) { return a * b + c; }
  static float hmax(T a) { return a; }
  static float hsum(T a) { return a; }
  static T exp(T x) { return std::exp(x); }
};
#include "backends/cpu/attention_body.inc"
}  // namespace
}  // namespace scalar

#undef WAFER_ATTENTION_EXP_BODY

size_t attention_scratch_floats(int64_t batch, int64_t heads, int64_t s, int64_t sk, int64_t d, int64_t dv,
                                int threads) {
  return size_t(layout(batch, heads, s, sk, d, dv, threads).total);
}

bool attention_with(const char* isa, const AttentionArgs& a) {
  if (a.batch * a.heads * a.s == 0) return true;
  Layout L = layout(a.batch, a.heads, a.s, a.sk, a.d, a.dv, a.threads);
  Isa want = parse_isa(isa, "attention instruction set");
  if (want > cpu_isa()) return false;
  if (want == Isa::avx512)
    avx512::run(a, L);
  else if (want == Isa::avx2)
    avx2::run(a, L);
  else
    scalar::run(a, L);
  return true;
}

void attention(const AttentionArgs& a) {
  attention_with(isa_name(cpu_isa()), a);
}

}  // namespace wafer::cpu
