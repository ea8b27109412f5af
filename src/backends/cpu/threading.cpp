#include "backends/cpu/threading.h"

#include <cpuid.h>
#include <omp.h>

namespace wafer::cpu {

void set_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}

int current_threads() {
  return omp_get_max_threads();
}

bool has_avx512_bf16() {
  // CPUID leaf 7, sub-leaf 1: EAX bit 5 = AVX512_BF16.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  return has_avx512f() && (eax & (1u << 5)) != 0;
}

bool has_avx512f() {
  return __builtin_cpu_supports("avx512f");
}
bool has_avx2() {
  return __builtin_cpu_supports("avx2");
}

}  // namespace wafer::cpu
