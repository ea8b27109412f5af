#include "backends/cpu/threading.h"

#include <omp.h>

namespace wafer::cpu {

void set_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}

int current_threads() {
  return omp_get_max_threads();
}

}  // namespace wafer::cpu
