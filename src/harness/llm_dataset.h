// Query data sets for LLM benchmarks: each sample is a request of a prompt length and an output
// length in tokens (the lengths are all that timing needs). Two kinds: one with the length
// distribution of MLPerf's Llama-2-70B set, and fixed-length sets (--prompt-len / --gen-len).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/sut.h"

namespace wafer::harness {

struct LlmRequest {
  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;
};

struct LlmDataset {
  std::string name;
  std::vector<LlmRequest> requests;
  int64_t max_prompt() const;
  int64_t max_output() const;
  int64_t max_context() const;  // prompt + output, the largest over the set
};

// MLPerf Inference's Llama-2-70B data set (OpenOrca GPT-4 answers, processed by the reference's
// processorca.py): published figures that the synthetic set reproduces (sources in llm_dataset.cpp).
struct OpenOrcaFigures {
  static constexpr int64_t kSamples = 24576;
  static constexpr int64_t kMaxInputTokens = 1024;
  static constexpr int64_t kMaxOutputTokens = 1024;
  static constexpr double kMeanOutputTokens = 294.45;
};

// `n` requests (default: the published 24,576) whose lengths are drawn, seeded, from clipped
// log-normal distributions fitted to the published figures (llm_dataset.cpp says which are
// published and which are assumed).
LlmDataset openorca_like_dataset(uint64_t seed, int64_t n = OpenOrcaFigures::kSamples);
// `n` requests of `prompt` tokens in and `output` tokens out.
LlmDataset fixed_length_dataset(int64_t n, int64_t prompt, int64_t output);

// The data set as a QSL: samples are indices into `requests`; nothing to load.
class LlmQsl : public QuerySampleLibrary {
 public:
  explicit LlmQsl(const LlmDataset& data) : data_(data) {}
  std::string name() const override { return data_.name; }
  size_t total_sample_count() const override { return data_.requests.size(); }
  size_t performance_sample_count() const override { return data_.requests.size(); }
  void load_samples(const std::vector<uint64_t>&) override {}
  void unload_samples(const std::vector<uint64_t>&) override {}

 private:
  const LlmDataset& data_;
};

}  // namespace wafer::harness
