// bf16 <-> fp32 over arrays, for the backend's own kernels: they compute in
// fp32 registers and keep activations in bf16 between bf16 GEMMs, so they read
// bf16 (a 16-bit shift) and write it (round to nearest even, NaN stays NaN, as
// core's BFloat16). AVX512_BF16's vcvtneps2bf16 where present, else AVX-512 /
// AVX2 / scalar integer rounding; chosen once at run time.
#pragma once

#include <cstdint>

namespace wafer::cpu {

// A kernel operand or result: fp32 or bf16 elements.
struct ElemPtr {
  void* p = nullptr;
  bool bf16 = false;
};

void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
// Round to nearest even. The AVX512_BF16 path treats fp32 denormals as zero
// (the instruction's rule, as in oneDNN's bf16 reorders); the others keep them.
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
// The portable rounding (no AVX512_BF16), exposed so tests can check both paths.
void f32_to_bf16_generic(const float* src, uint16_t* dst, int64_t n);

// fp32 view of n elements of `src` starting at element `at`: the data itself when
// it is fp32, else converted into `scratch` (n floats).
inline const float* f32_view(ElemPtr src, int64_t at, int64_t n, float* scratch) {
  if (!src.bf16) return static_cast<const float*>(src.p) + at;
  bf16_to_f32(static_cast<const uint16_t*>(src.p) + at, scratch, n);
  return scratch;
}
// Where a kernel writes n fp32 results for element `at` of `dst`: dst itself
// when it is fp32, else `scratch`, which store_f32() then rounds into dst.
inline float* f32_target(ElemPtr dst, int64_t at, float* scratch) {
  return dst.bf16 ? scratch : static_cast<float*>(dst.p) + at;
}
inline void store_f32(ElemPtr dst, int64_t at, int64_t n, const float* values) {
  if (dst.bf16) f32_to_bf16(values, static_cast<uint16_t*>(dst.p) + at, n);
}

}  // namespace wafer::cpu
