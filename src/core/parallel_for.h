// A small fork-join pool for independent work items (design points of a sweep):
// `jobs` threads take indices from a shared counter, so a slow item does not hold
// back the others. The caller's order is kept by indexing results, not by timing.
#pragma once

#include <cstddef>
#include <functional>

namespace wafer {

// The number of threads `jobs` asks for: itself when >= 1, every hardware thread when 0.
// Throws on a negative count.
int resolve_jobs(int jobs);

// Calls work(i) once for each i in [0, count) on up to `jobs` threads (resolve_jobs; never more
// threads than items; 1 runs inline on the calling thread, in index order). If work throws, no
// new items start and the first exception is rethrown once all threads have stopped.
void parallel_for(size_t count, int jobs, const std::function<void(size_t)>& work);

}  // namespace wafer
