// Choosing the next token from a row of logits: greedy (argmax) or sampled with temperature, top-k and
// top-p (nucleus: Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration").
#pragma once

#include <cstdint>
#include <random>

namespace wafer::api {

struct SamplingOptions {
  double temperature = 0;  // 0: greedy (the first index of the largest logit, like torch.argmax)
  int top_k = 0;           // keep the k most likely tokens (0: all)
  double top_p = 1;        // keep the smallest set of most likely tokens whose probability reaches p
  uint64_t seed = 0;
};

// Throws naming the flag when a value is out of range.
void check_sampling(const SamplingOptions& o);

// The chosen token id in [0, vocab). `rng` is only used when sampling.
int64_t choose_token(const float* logits, int64_t vocab, const SamplingOptions& o, std::mt19937_64& rng);

}  // namespace wafer::api
