// The null SUT completes every sample at once, inside issue_query, with no
// response data: what it measures is the harness itself. IndexQsl is a QSL of
// bare indices to go with it (and with device models that need no data).
#pragma once

#include <vector>

#include "harness/sut.h"

namespace wafer::harness {

class NullSut : public SystemUnderTest {
 public:
  std::string name() const override { return "null"; }
  void start(ResponseSink& sink) override { sink_ = &sink; }
  void issue_query(std::span<const QuerySample> samples) override;

 private:
  ResponseSink* sink_ = nullptr;
  std::vector<QuerySampleResponse> buffer_;
};

class IndexQsl : public QuerySampleLibrary {
 public:
  IndexQsl(size_t total, size_t performance) : total_(total), performance_(performance) {}
  std::string name() const override { return "index"; }
  size_t total_sample_count() const override { return total_; }
  size_t performance_sample_count() const override { return performance_; }
  void load_samples(const std::vector<uint64_t>& indices) override { loaded_ += indices.size(); }
  void unload_samples(const std::vector<uint64_t>& indices) override { loaded_ -= indices.size(); }
  size_t loaded() const { return loaded_; }

 private:
  size_t total_, performance_, loaded_ = 0;
};

}  // namespace wafer::harness
