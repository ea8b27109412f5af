// The interfaces between the load generator and what it measures, with
// MLPerf LoadGen's semantics: the harness issues queries of samples to a
// system under test (SUT), which reports each sample's completion (with its
// response data) back through a ResponseSink; the query sample library (QSL)
// loads and unloads the samples the queries refer to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace wafer::harness {

// One sample of a query: `id` identifies this issue of the sample (pass it back
// in the response), `index` is the sample's index in the QSL.
struct QuerySample {
  uint64_t id = 0;
  uint64_t index = 0;
};

// A completed sample. `data`/`size` are read during complete() only (copied in
// accuracy mode, ignored in performance mode), so the SUT may reuse the buffer.
struct QuerySampleResponse {
  uint64_t id = 0;
  const void* data = nullptr;
  size_t size = 0;
  // Tokens in the response (LLM benchmarks; MLPerf's QuerySampleResponse n_tokens): with the
  // first-token time they give the time per output token. 0 for non-token workloads.
  int64_t n_tokens = 0;
};

// Where SUTs report completions. Thread-safe: any SUT thread may call it.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Completion at the harness clock's current time (real-time SUTs).
  virtual void complete(std::span<const QuerySampleResponse> responses) = 0;
  // Completion at an explicit virtual time in ns (virtual-time SUTs).
  virtual void complete_at(std::span<const QuerySampleResponse> responses, int64_t time_ns) = 0;
  // The SUT failed to process something; the run is reported INVALID with this message.
  virtual void report_error(const std::string& message) = 0;
  // The first token of sample `id` is out (LLM benchmarks; MLPerf's FirstTokenComplete), at the
  // harness clock's current time or at an explicit virtual time in ns. Sinks that do not track
  // token latencies ignore it.
  virtual void first_token(uint64_t /*id*/) {}
  virtual void first_token_at(uint64_t /*id*/, int64_t /*time_ns*/) {}
};

class SystemUnderTest {
 public:
  virtual ~SystemUnderTest() = default;
  virtual std::string name() const = 0;
  // Called once before the first query and once after the last completion.
  virtual void start(ResponseSink& sink) = 0;
  virtual void stop() {}
  // Issues one query. Returns quickly: the work may complete later, on any thread.
  virtual void issue_query(std::span<const QuerySample> samples) = 0;
  // No more queries are coming soon: do not hold samples back waiting for a fuller batch.
  virtual void flush_queries() {}
};

// A SUT that lives in virtual time: a discrete-event model. The harness owns
// the clock and drives the model forward; the SUT reports completions with
// complete_at() while advancing.
class VirtualTimeSut : public SystemUnderTest {
 public:
  // Processes every event up to and including `time_ns`; afterwards the model's
  // time is `time_ns` (queries issued next arrive at that time).
  virtual void advance_to(int64_t time_ns) = 0;
  // Processes events until nothing is outstanding; returns the model's time then.
  virtual int64_t drain() = 0;
};

class QuerySampleLibrary {
 public:
  virtual ~QuerySampleLibrary() = default;
  virtual std::string name() const = 0;
  virtual size_t total_sample_count() const = 0;
  // How many samples fit in memory at once: the performance run uses this many.
  virtual size_t performance_sample_count() const = 0;
  virtual void load_samples(const std::vector<uint64_t>& indices) = 0;
  virtual void unload_samples(const std::vector<uint64_t>& indices) = 0;
};

}  // namespace wafer::harness
