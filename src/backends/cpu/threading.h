// Threads and CPU features of the cpu backend. oneDNN (Debian's build) runs on
// OpenMP, so the backend's own kernels use the same OpenMP pool and one setting
// controls both.
#pragma once

namespace wafer::cpu {

// Sets the OpenMP thread count; 0 = all cores.
void set_threads(int threads);
// Threads the pool currently uses.
int current_threads();

}  // namespace wafer::cpu
