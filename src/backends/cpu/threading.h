// Threads and CPU features of the cpu backend. oneDNN (Debian's build) runs on
// OpenMP, so the backend's own kernels use the same OpenMP pool and one setting
// controls both.
#pragma once

namespace wafer::cpu {

// Sets the OpenMP thread count; 0 = all cores.
void set_threads(int threads);
// Threads the pool currently uses.
int current_threads();
// Whether the CPU has AVX512_BF16 (bf16 dot products); checked with cpuid.
bool has_avx512_bf16();
// Whether the CPU (and OS) support AVX-512F / AVX2 for the vectorized kernels.
bool has_avx512f();
bool has_avx2();

}  // namespace wafer::cpu
