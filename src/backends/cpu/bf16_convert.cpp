#include "backends/cpu/bf16_convert.h"

#include <immintrin.h>

#include <bit>

#include "backends/cpu/isa_dispatch.h"

namespace wafer::cpu {

namespace {

// vcvtne2ps2bf16 rounds 32 floats per instruction; the tail goes through masks.
[[gnu::target(WAFER_TARGET_AVX512 ",avx512bf16")]] void f32_to_bf16_avx512bf16(const float* s, uint16_t* d, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + i + 16), _mm512_loadu_ps(s + i));
    _mm512_storeu_si512(d + i, (__m512i)v);
  }
  for (; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s + i));
    _mm256_mask_storeu_epi16(d + i, m, (__m256i)v);
  }
}

bool use_avx512bf16() {
  static const bool yes = has_avx512_bf16();
  return yes;
}

}  // namespace

// Integer rounding that the compiler vectorizes: add 0x7fff plus the lowest kept
// bit (ties to even), keep the high half; NaNs get the quiet bit instead.
[[gnu::always_inline]] inline void f32_to_bf16_body(const float* s, uint16_t* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u = std::bit_cast<uint32_t>(s[i]);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (u >> 16) | 0x40u;
    d[i] = uint16_t((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
  }
}

void f32_to_bf16_generic(const float* s, uint16_t* d, int64_t n) {
  isa_dispatch<f32_to_bf16_body>(s, d, n);
}

[[gnu::always_inline]] inline void bf16_to_f32_body(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = std::bit_cast<float>(uint32_t(s[i]) << 16);
}

void bf16_to_f32(const uint16_t* s, float* d, int64_t n) {
  isa_dispatch<bf16_to_f32_body>(s, d, n);
}

void f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  if (use_avx512bf16())
    f32_to_bf16_avx512bf16(src, dst, n);
  else
    f32_to_bf16_generic(src, dst, n);
}

}  // namespace wafer::cpu
