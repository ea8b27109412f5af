// Text generation with a decoder-only transformer and a KV cache: what `wafer generate` does (prefill,
// then one token at a time), with its timing and JSON report.
//
// The model follows the Hugging Face Optimum `text-generation-with-past` convention
// (decoder_interface.h). The cache lives in preallocated buffers [batch, kv_heads, capacity, head_dim],
// capacity = prompt + max_new_tokens - 1 (every position that is ever fed), allocated once. Every decode
// step feeds the whole buffer as `past` with a fixed length, and attention_mask marks the slots not yet
// written as padding; position_ids carry the true positions. So the shapes of a decode step never change
// (the cpu backend compiles two programs, prefill and decode, instead of one per token). The compiled graph's
// present outputs are cut to the new positions (a Slice of the last `seq`), so a step returns only the new
// token's keys and values, and only those are copied into the cache, at their position. The model's own
// Concat(past, new) still builds the attention's keys and values inside each step. Attention is a sum over keys, so the
// masked slots change nothing: the logits are those of an exact-length cache (a test compares them with a run over the
// whole sequence without cache). The price: every decode step attends over the whole capacity (masked).
// The limit: a model whose attention depends on a key's index in the cache rather than on position_ids
// (ALiBi computed from the mask's length, sliding windows) would see the new token at index `capacity`.
// Backends need nothing new for this (no caller-provided outputs, no views with a growing length): the
// cache tensors are ordinary inputs, passed by reference (Tensor shares its buffer), every step.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/sampling.h"
#include "backends/profile.h"
#include "core/precision.h"
#include "core/tensor.h"

namespace wafer::api {

struct GenerateOptions {
  std::string model;
  std::string backend = "cpu";  // cpu or reference
  // Prompt token ids, one list per sequence, all of one length; a single prompt with batch > 1 is repeated.
  std::vector<std::vector<int64_t>> prompts;
  int batch = 0;  // 0: one sequence per prompt
  int max_new_tokens = 16;
  int threads = 0;
  Precision precision = Precision::automatic;
  SamplingOptions sampling;  // greedy by default
  int warmup = 1;            // untimed prefill + decode runs first (the cpu backend compiles on a first run)
  bool keep_logits = false;  // keep the logits each token was chosen from (tests)
  bool profile = false;      // time every step of the prefill and decode programs (cpu and reference backends)
};

struct GenerateResult {
  std::vector<std::vector<int64_t>> tokens;  // generated ids, per sequence
  double load_ms = 0;                        // import and compile
  double ttft_ms = 0;                        // prefill and the first token's choice
  double tpot_ms = 0;                        // mean time per output token after the first (0 with one token)
  double total_ms = 0;                       // from the start of the prefill to the last token
  double tokens_per_s = 0;                   // generated tokens of all sequences / total_ms
  double decode_tokens_per_s = 0;            // tokens after the first, of all sequences, / their time
  int64_t cache_positions = 0;               // capacity of the preallocated cache
  std::string backend_name;
  std::vector<Tensor> logits;  // keep_logits: [batch, vocab] float32 per generated token
  Profile profile;             // profile: the decode steps, summed over the decode runs
  Profile prefill_profile;     // profile: the prefill steps (one run)
};

GenerateResult generate(const GenerateOptions& options);

// A decoder imported and compiled once, generating for request after request (the harness's cpu
// LLM SUT); generate() is one session's one run. The session reads model, backend, threads and
// precision from the options it is made with; run() reads the prompts, lengths, sampling, warmup.
class GenerateSession {
 public:
  explicit GenerateSession(const GenerateOptions& options);
  ~GenerateSession();
  // on_first_token runs once every sequence's first token is chosen (MLPerf's first-token report).
  GenerateResult run(const GenerateOptions& options, const std::function<void()>& on_first_token = {});
  int64_t vocab() const;
  double load_ms() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The object `wafer generate --json` prints: tokens, ttft_ms, tpot_ms, tokens_per_s and the rest.
nlohmann::json generate_json(const GenerateOptions& options, const GenerateResult& result);

// "1,2,3" -> {1, 2, 3}; throws naming --prompt on anything else.
std::vector<int64_t> parse_token_list(const std::string& text);

}  // namespace wafer::api
