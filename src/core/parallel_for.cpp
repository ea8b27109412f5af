#include "core/parallel_for.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace wafer {

int resolve_jobs(int jobs) {
  check(jobs >= 0, "--jobs ", jobs, ": expected 0 (all cores) or a positive thread count");
  if (jobs > 0) return jobs;
  unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

void parallel_for(size_t count, int jobs, const std::function<void(size_t)>& work) {
  const size_t threads = std::min(count, size_t(resolve_jobs(jobs)));
  if (threads <= 1) {
    for (size_t i = 0; i < count; ++i) work(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (size_t i; !failed && (i = next++) < count;) {
      try {
        work(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace wafer
