#include "harness/null_sut.h"

#include <algorithm>

#include "core/error.h"

namespace wafer::harness {

void NullSut::issue_query(std::span<const QuerySample> samples) {
  check(sink_ != nullptr, "null SUT: issue_query before start");
  // Complete in chunks through one reused buffer: no allocation per query.
  constexpr size_t kChunk = 4096;
  for (size_t first = 0; first < samples.size(); first += kChunk) {
    size_t n = std::min(kChunk, samples.size() - first);
    buffer_.resize(n);
    for (size_t i = 0; i < n; ++i) buffer_[i] = QuerySampleResponse{samples[first + i].id, nullptr, 0};
    sink_->complete(buffer_);
  }
}

}  // namespace wafer::harness
