#include "harness/run_record.h"

#include "core/error.h"

namespace wafer::harness {

void Recorder::add_query(int64_t scheduled_ns, const std::vector<uint64_t>& indices, std::vector<QuerySample>& out) {
  uint64_t first = samples.size();
  check(samples.grow(indices.size()), "the run would record more than ", samples.kMax,
        " samples: lower min_duration, min_query_count or target_qps");
  out.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    samples[first + i].qsl_index = indices[i];
    out[i] = QuerySample{first + i, indices[i]};
  }
  queries.push_back(QueryRecord{scheduled_ns, scheduled_ns, first, uint32_t(indices.size())});
  // Publishes the new records before the SUT sees their ids.
  issued_.store(first + indices.size(), std::memory_order_release);
}

void Recorder::complete_at(std::span<const QuerySampleResponse> responses, int64_t time_ns) {
  uint64_t issued = issued_.load(std::memory_order_acquire);
  int64_t good = 0, bad = 0;
  for (const auto& r : responses) {
    if (r.id >= issued || samples[r.id].complete_ns >= 0) {
      ++bad;
      continue;
    }
    samples[r.id].complete_ns = time_ns;
    samples[r.id].n_tokens = r.n_tokens;
    ++good;
  }
  if (bad || keep_data_) {
    std::lock_guard lock(mutex_);
    bad_responses += bad;
    if (keep_data_)
      for (const auto& r : responses) {
        if (r.id >= issued) continue;
        const auto* p = static_cast<const uint8_t*>(r.data);
        accuracy.push_back(AccuracyEntry{r.id, samples[r.id].qsl_index,
                                         p ? std::vector<uint8_t>(p, p + r.size) : std::vector<uint8_t>{}});
      }
  }
  // Last: the release makes the completion times visible to whoever sees the count.
  completed_.fetch_add(good, std::memory_order_release);
}

void Recorder::first_token_at(uint64_t id, int64_t time_ns) {
  // Only the SUT thread that owns the sample writes its record; an unknown id is counted as bad.
  if (id >= issued_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    ++bad_responses;
    return;
  }
  if (samples[id].first_token_ns < 0) samples[id].first_token_ns = time_ns;
}

void Recorder::report_error(const std::string& message) {
  std::lock_guard lock(mutex_);
  if (errors.size() < 100) errors.push_back(message);
}

}  // namespace wafer::harness
