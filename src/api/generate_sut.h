// Real generation as an MLPerf LLM system under test (real clock): requests of an LlmDataset are
// generated one at a time, in arrival order, by a GenerateSession (prefill, then decode over the
// preallocated cache) on a worker thread; each sample reports its first token when the prefill's token
// is chosen and completes with its output token count. No batching across requests: the cpu
// backend's decode step serves one sequence (continuous batching is modelled on the npu target).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "api/generate.h"
#include "harness/llm_dataset.h"
#include "harness/sut.h"

namespace wafer::api {

class GenerateSut : public harness::SystemUnderTest {
 public:
  // `options`: model, backend, threads, precision (the prompts and lengths come from `data`).
  // Compiles and warms up on the data set's first request before the run, so that the first query's
  // TTFT does not include compilation.
  GenerateSut(const GenerateOptions& options, const harness::LlmDataset& data);
  ~GenerateSut() override;
  std::string name() const override { return name_; }
  void start(harness::ResponseSink& sink) override;
  void stop() override;
  void issue_query(std::span<const harness::QuerySample> samples) override;

 private:
  void worker();
  GenerateOptions request_options(const harness::LlmRequest& r) const;

  GenerateOptions options_;
  const harness::LlmDataset& data_;
  std::unique_ptr<GenerateSession> session_;
  std::string name_;
  harness::ResponseSink* sink_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<harness::QuerySample> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wafer::api
