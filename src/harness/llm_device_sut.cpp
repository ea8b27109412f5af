#include "harness/llm_device_sut.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "core/error.h"

namespace wafer::harness {

LlmBatching parse_llm_batching(const std::string& s) {
  if (s == "continuous") return LlmBatching::continuous;
  if (s == "static") return LlmBatching::static_batches;
  fail("--batching must be continuous or static, got '", s, "'");
}

std::string llm_batching_name(LlmBatching b) {
  return b == LlmBatching::continuous ? "continuous" : "static";
}

LlmDeviceSut::LlmDeviceSut(LlmDeviceModel model, const LlmDataset& data) : model_(std::move(model)), data_(data) {
  check(model_.max_batch >= 1, "LLM device '", model_.name, "': max batch must be at least 1, got ", model_.max_batch);
  check(model_.kv_capacity_tokens >= 0, "LLM device '", model_.name, "': negative KV capacity");
}

void LlmDeviceSut::start(ResponseSink& sink) {
  sink_ = &sink;
  waiting_.clear();
  running_.clear();
  joining_.clear();
  kv_reserved_ = context_sum_ = static_batch_ = 0;
  now_ = iter_end_ = 0;
  busy_ = false;
  iterations_ = busy_total_ns_ = batch_sum_ = peak_kv_tokens_ = 0;
}

void LlmDeviceSut::issue_query(std::span<const QuerySample> samples) {
  for (const auto& s : samples) {
    check(s.index < data_.requests.size(), "LLM device: sample index ", s.index, " outside the data set of ",
          data_.requests.size());
    const LlmRequest& r = data_.requests[s.index];
    Seq q{s.id, r.prompt_tokens, r.output_tokens};
    if (model_.kv_capacity_tokens > 0 && q.prompt + q.output > model_.kv_capacity_tokens) {
      // It could never be admitted: fail it now rather than wait forever.
      sink_->report_error("request of " + std::to_string(q.prompt) + " + " + std::to_string(q.output) +
                          " tokens needs more KV cache than the device holds (" +
                          std::to_string(model_.kv_capacity_tokens) + " tokens)");
      QuerySampleResponse resp{s.id, nullptr, 0, 0};
      sink_->complete_at({&resp, 1}, now_);
      continue;
    }
    waiting_.push_back(q);
  }
  if (!busy_) start_iteration(now_);
}

bool LlmDeviceSut::admit(const Seq& s) const {
  if (int64_t(running_.size() + joining_.size()) >= model_.max_batch) return false;
  return model_.kv_capacity_tokens == 0 || kv_reserved_ + s.prompt + s.output <= model_.kv_capacity_tokens;
}

void LlmDeviceSut::start_iteration(int64_t t) {
  bool may_admit = model_.batching == LlmBatching::continuous || running_.empty();
  double prefill = 0;
  if (may_admit)
    while (!waiting_.empty() && admit(waiting_.front())) {
      Seq s = waiting_.front();
      waiting_.pop_front();
      kv_reserved_ += s.prompt + s.output;
      prefill += model_.costs.prefill_s(double(s.prompt));
      joining_.push_back(s);
    }
  if (running_.empty() && joining_.empty()) {
    busy_ = false;
    return;
  }
  if (model_.batching == LlmBatching::static_batches && !joining_.empty()) static_batch_ = int64_t(joining_.size());
  double decode = 0;
  if (!running_.empty()) {
    // Static batching decodes the whole batch, finished sequences included (padding).
    int64_t b = model_.batching == LlmBatching::static_batches ? static_batch_ : int64_t(running_.size());
    decode = model_.costs.decode_s(double(b), double(context_sum_) / double(running_.size()));
    batch_sum_ += b;
  }
  int64_t dt = std::max<int64_t>(1, int64_t(std::llround((prefill + decode) * 1e9)));
  peak_kv_tokens_ = std::max(peak_kv_tokens_, kv_reserved_);
  iter_end_ = t + dt;
  busy_total_ns_ += dt;
  ++iterations_;
  busy_ = true;
}

void LlmDeviceSut::finish_iteration() {
  const int64_t t = iter_end_;
  std::vector<QuerySampleResponse> done;
  // Running sequences: one more token each.
  size_t keep = 0;
  for (size_t i = 0; i < running_.size(); ++i) {
    Seq& s = running_[i];
    ++s.generated;
    ++context_sum_;
    if (s.generated >= s.output) {
      done.push_back(QuerySampleResponse{s.id, nullptr, 0, s.output});
      kv_reserved_ -= s.prompt + s.output;
      context_sum_ -= s.prompt + s.generated;
    } else {
      running_[keep++] = s;
    }
  }
  running_.resize(keep);
  // Prefilled sequences: their first token.
  for (Seq& s : joining_) {
    sink_->first_token_at(s.id, t);
    s.generated = 1;
    if (s.generated >= s.output) {
      done.push_back(QuerySampleResponse{s.id, nullptr, 0, s.output});
      kv_reserved_ -= s.prompt + s.output;
    } else {
      running_.push_back(s);
      context_sum_ += s.prompt + s.generated;
    }
  }
  joining_.clear();
  if (!done.empty()) sink_->complete_at(done, t);
  busy_ = false;
  now_ = std::max(now_, t);
  if (running_.empty()) static_batch_ = 0;
  start_iteration(t);
}

void LlmDeviceSut::advance_to(int64_t time_ns) {
  while (busy_ && iter_end_ <= time_ns) finish_iteration();
  now_ = std::max(now_, time_ns);
  if (!busy_ && !waiting_.empty()) start_iteration(now_);
}

int64_t LlmDeviceSut::drain() {
  while (busy_) finish_iteration();
  return now_;
}

}  // namespace wafer::harness
