// An LLM serving engine on a device, in virtual time: requests (samples of an LlmDataset) queue on
// arrival and are served in iterations, each a prefill of newly admitted prompts and/or one decode
// step of the running sequences. Every sample reports its first token (first_token_at) and its
// completion with its output token count, so the harness computes TTFT, TPOT and tokens/s.
//
// Continuous (iteration-level) batching, as Orca and vLLM serve: the running batch is re-formed
// at every iteration. Policy:
// - admission at the start of each iteration, first come first served, while the running batch
//   stays within max_batch and the KV cache within its capacity; a request reserves KV for its
//   whole context (prompt + output tokens) on admission, so no sequence is ever preempted;
// - the newly admitted requests' prefills run in the same iteration as the running sequences'
//   decode step (prefill is not chunked, and takes priority: nothing waits for a decode-only
//   step); iteration time = sum of their prefill times + decode_s(running, mean context);
// - at the end of the iteration, admitted requests have their first token, running ones one more;
//   a sequence with all its output tokens completes and frees its slot and KV reservation.
// Static batching (for comparison): when the device is idle it takes up to max_batch waiting
// requests (within the KV capacity), prefills them all, then decodes the whole batch until its
// longest sequence is done; finished sequences keep their slot (padding) and newcomers wait.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "harness/llm_dataset.h"
#include "harness/llm_step_costs.h"
#include "harness/sut.h"

namespace wafer::harness {

enum class LlmBatching { continuous, static_batches };
LlmBatching parse_llm_batching(const std::string& s);  // "continuous" | "static"
std::string llm_batching_name(LlmBatching b);

struct LlmDeviceModel {
  std::string name = "llm-device";
  int64_t max_batch = 64;
  int64_t kv_capacity_tokens = 0;  // tokens of KV cache the device holds beside the weights; 0: no limit
  LlmBatching batching = LlmBatching::continuous;
  StepCostTable costs;
};

class LlmDeviceSut : public VirtualTimeSut {
 public:
  LlmDeviceSut(LlmDeviceModel model, const LlmDataset& data);
  std::string name() const override { return model_.name; }
  void start(ResponseSink& sink) override;
  void issue_query(std::span<const QuerySample> samples) override;
  void advance_to(int64_t time_ns) override;
  int64_t drain() override;

  // Statistics of the last run.
  int64_t iterations() const { return iterations_; }
  int64_t busy_ns() const { return busy_total_ns_; }
  double mean_running_batch() const { return iterations_ ? double(batch_sum_) / double(iterations_) : 0; }
  int64_t peak_kv_tokens() const { return peak_kv_tokens_; }

 private:
  struct Seq {
    uint64_t id;
    int64_t prompt, output, generated = 0;
  };
  void start_iteration(int64_t t);  // decides the iteration's work and its end time
  void finish_iteration();          // at its end: first tokens, completions
  bool admit(const Seq& s) const;

  LlmDeviceModel model_;
  const LlmDataset& data_;
  ResponseSink* sink_ = nullptr;
  std::deque<Seq> waiting_;
  std::vector<Seq> running_, joining_;  // joining_: prefilled in the current iteration
  int64_t kv_reserved_ = 0;
  int64_t context_sum_ = 0;   // cached tokens over running_, for the mean context of a decode step
  int64_t static_batch_ = 0;  // static batching: the batch's size while any of it runs
  int64_t now_ = 0, iter_end_ = 0;
  bool busy_ = false;
  int64_t iterations_ = 0, busy_total_ns_ = 0, batch_sum_ = 0, peak_kv_tokens_ = 0;
};

}  // namespace wafer::harness
