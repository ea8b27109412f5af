// What a run records: queries with their schedule, samples with their
// completion times, accuracy data, errors. The Recorder is the ResponseSink the
// SUT reports to; results.cpp and logs.cpp read the finished record.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "harness/results.h"
#include "harness/sut.h"

namespace wafer::harness {

struct QueryRecord {
  int64_t scheduled_ns = 0;   // when it should have been issued (latencies count from here)
  int64_t issued_ns = 0;      // when it was issued (real clock: later than scheduled by the issue lag)
  uint64_t first_sample = 0;  // its samples have ids first_sample .. first_sample + count - 1
  uint32_t count = 0;
};

struct SampleRecord {
  int64_t complete_ns = -1;  // -1: not completed
  uint64_t qsl_index = 0;
  int64_t first_token_ns = -1;  // LLM benchmarks: when the first token was out (-1: not reported)
  int64_t n_tokens = 0;         // LLM benchmarks: tokens in the response
};

// Growable array whose elements never move, so SUT threads may write the
// records of issued samples while the load generator appends new ones.
template <typename T>
class StableVector {
 public:
  static constexpr size_t kChunkBits = 16, kChunk = size_t(1) << kChunkBits, kMaxChunks = size_t(1) << 11;
  static constexpr size_t kMax = kChunk * kMaxChunks;  // 134 M elements
  StableVector() : chunks_(new std::unique_ptr<T[]>[kMaxChunks]) {}
  size_t size() const { return size_; }
  T& operator[](size_t i) { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const T& operator[](size_t i) const { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  // Appends n default elements; false when that would exceed kMax.
  bool grow(size_t n) {
    if (n > kMax - size_) return false;
    size_t end = size_ + n;
    for (size_t c = (size_ + kChunk - 1) >> kChunkBits; (c << kChunkBits) < end; ++c) chunks_[c].reset(new T[kChunk]());
    size_ = end;
    return true;
  }

 private:
  std::unique_ptr<std::unique_ptr<T[]>[]> chunks_;
  size_t size_ = 0;
};

class Recorder : public ResponseSink {
 public:
  explicit Recorder(bool keep_data) : keep_data_(keep_data), t0_(std::chrono::steady_clock::now()) {}

  // Real clock, ns since the recorder was made.
  int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_).count();
  }

  // Appends a query of the given QSL indices; fills `out` with its samples.
  void add_query(int64_t scheduled_ns, const std::vector<uint64_t>& indices, std::vector<QuerySample>& out);
  void mark_issued(int64_t issued_ns) { queries.back().issued_ns = issued_ns; }

  void complete(std::span<const QuerySampleResponse> responses) override { complete_at(responses, now_ns()); }
  void complete_at(std::span<const QuerySampleResponse> responses, int64_t time_ns) override;
  void report_error(const std::string& message) override;
  void first_token(uint64_t id) override { first_token_at(id, now_ns()); }
  void first_token_at(uint64_t id, int64_t time_ns) override;

  int64_t completed() const { return completed_.load(std::memory_order_acquire); }
  uint64_t issued_samples() const { return issued_.load(std::memory_order_relaxed); }

  std::vector<QueryRecord> queries;  // load-generator thread only
  StableVector<SampleRecord> samples;
  std::vector<AccuracyEntry> accuracy;  // under mutex_ while running
  std::vector<std::string> errors;      // under mutex_ while running
  int64_t bad_responses = 0;            // under mutex_: unknown or repeated ids

 private:
  bool keep_data_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<uint64_t> issued_{0};
  std::atomic<int64_t> completed_{0};
  std::mutex mutex_;
};

}  // namespace wafer::harness
