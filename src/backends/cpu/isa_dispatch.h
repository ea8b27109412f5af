// One kernel body, compiled once per instruction-set level and called at the
// level cpu_isa() allows (so WAFER_CPU_ISA reaches it; GCC's target_clones
// resolve at load time from the CPU alone and cannot be capped).
//
//   [[gnu::always_inline]] inline void scale_body(float* y, int64_t n, float k) {
//   #pragma omp simd
//     for (int64_t i = 0; i < n; ++i) y[i] *= k;
//   }
//   void scale(float* y, int64_t n, float k) { isa_dispatch<scale_body>(y, n, k); }
//
// The body has the default target and is always inlined, so each wrapper below
// vectorizes it for its own target (GCC inlines a default-target function into
// any wider target).
#pragma once

#include "backends/cpu/isa.h"

// The targets of the levels (attention_kernel.cpp spells them out in its pragmas).
#define WAFER_TARGET_AVX512 "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"
#define WAFER_TARGET_AVX2 "avx2,fma"

namespace wafer::cpu {

template <auto Body, class... A>
[[gnu::target(WAFER_TARGET_AVX512)]] auto body_avx512(A... a) {
  return Body(a...);
}
template <auto Body, class... A>
[[gnu::target(WAFER_TARGET_AVX2)]] auto body_avx2(A... a) {
  return Body(a...);
}
template <auto Body, class... A>
auto body_scalar(A... a) {
  return Body(a...);
}

template <auto Body, class... A>
auto isa_dispatch(A... a) {
  switch (cpu_isa()) {
    case Isa::avx512:
      return body_avx512<Body>(a...);
    case Isa::avx2:
      return body_avx2<Body>(a...);
    case Isa::scalar:
      break;
  }
  return body_scalar<Body>(a...);
}

}  // namespace wafer::cpu
