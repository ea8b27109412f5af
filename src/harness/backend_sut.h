// A real-time SUT that runs a model on any Backend: worker threads take
// samples from a shared queue, form batches of up to max_batch (waiting at
// most batch_timeout for a batch to fill, unless flushed), concatenate them
// along the batch dim, run, and split the outputs back per sample. The
// response data of a sample is its slice of every output, concatenated.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "harness/model_qsl.h"
#include "harness/sut.h"

namespace wafer::harness {

struct BackendSutOptions {
  std::string backend = "reference";  // any registered backend spec
  int workers = 1;                    // threads issuing batches concurrently
  int max_batch = 1;                  // > 1 needs a model with a symbolic batch dim
  int64_t batch_timeout_ns = 0;
  CompileOptions compile;  // threads, precision, symbols for the backend
};

class BackendSut : public SystemUnderTest {
 public:
  BackendSut(const Graph& graph, const ModelQsl& qsl, BackendSutOptions options);
  ~BackendSut() override;
  std::string name() const override { return "backend:" + options_.backend; }
  void start(ResponseSink& sink) override;
  void stop() override;
  void issue_query(std::span<const QuerySample> samples) override;
  void flush_queries() override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    QuerySample sample;
    Clock::time_point arrival;
  };
  void worker();
  void run_batch(Backend& backend, std::map<int, std::unique_ptr<Executable>>& exes, std::vector<Pending>& batch);

  const Graph& graph_;
  const ModelQsl& qsl_;
  BackendSutOptions options_;
  ResponseSink* sink_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false, flushing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace wafer::harness
