#include "harness/llm_dataset.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "harness/rng.h"

namespace wafer::harness {

// Sources of the figures (OpenOrcaFigures):
// - 24,576 samples, prompts of at most 1,024 tokens: mlcommons/inference,
//   language/llama2-70b/README.md ("processorca.py ... --seqlen_limit=1024 ...
//   --num_total_samples=24576"); loadgen/mlperf.conf (performance_sample_count_override = 24576).
// - Mean output 294.45 tokens: the same README's accuracy target "Tokens per sample: 294.45" (the
//   FP16 reference run's outputs; TEST06 accepts +-10 %). Published Server summaries agree:
//   completed tokens/s over samples/s = 291 tokens (e.g. 3883.67 / 13.33).
// - Outputs of at most 1,024 tokens: the reference SUT's generation limit.
// Not found in a public source we could read: the input mean and median and the output median.
// The input distribution below is therefore an assumption (median 550, log-sigma 0.6, clipped to
// [8, 1024]: mean ~620); the output's log-sigma (0.9) is an assumption too, its median is solved
// so that the clipped mean is the published 294.45.
namespace {
constexpr double kInputMedian = 550, kInputSigma = 0.6, kOutputSigma = 0.9;
constexpr int64_t kMinInput = 8, kMinOutput = 1;

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

// E[min(X, cap)] for X log-normal(mu, sigma): the part below cap plus cap times the tail.
double clipped_lognormal_mean(double mu, double sigma, double cap) {
  double lc = std::log(cap);
  return std::exp(mu + sigma * sigma / 2) * normal_cdf((lc - mu - sigma * sigma) / sigma) +
         cap * (1 - normal_cdf((lc - mu) / sigma));
}

// mu such that the clipped mean is `mean` (bisection; the clipped mean rises with mu).
double solve_mu(double mean, double sigma, double cap) {
  double lo = -10, hi = std::log(cap) + 10;
  for (int i = 0; i < 200; ++i) {
    double mid = (lo + hi) / 2;
    (clipped_lognormal_mean(mid, sigma, cap) < mean ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// Standard normal by Box-Muller over the written-out uniform (rng.h): the same on every platform.
double standard_normal(Rng& rng) {
  double u1 = 1.0 - rng.uniform01(), u2 = rng.uniform01();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

int64_t draw(Rng& rng, double mu, double sigma, int64_t lo, int64_t hi) {
  double x = std::exp(mu + sigma * standard_normal(rng));
  return std::clamp<int64_t>(int64_t(std::llround(x)), lo, hi);
}
}  // namespace

int64_t LlmDataset::max_prompt() const {
  int64_t m = 0;
  for (const auto& r : requests) m = std::max(m, r.prompt_tokens);
  return m;
}
int64_t LlmDataset::max_output() const {
  int64_t m = 0;
  for (const auto& r : requests) m = std::max(m, r.output_tokens);
  return m;
}
int64_t LlmDataset::max_context() const {
  int64_t m = 0;
  for (const auto& r : requests) m = std::max(m, r.prompt_tokens + r.output_tokens);
  return m;
}

LlmDataset openorca_like_dataset(uint64_t seed, int64_t n) {
  check(n >= 1, "an LLM data set needs at least one request, got ", n);
  using F = OpenOrcaFigures;
  const double in_mu = std::log(kInputMedian);
  const double out_mu = solve_mu(F::kMeanOutputTokens, kOutputSigma, double(F::kMaxOutputTokens));
  LlmDataset d;
  d.name = "openorca-like(" + std::to_string(n) + ")";
  d.requests.resize(size_t(n));
  Rng rng(seed);
  for (auto& r : d.requests) {
    r.prompt_tokens = draw(rng, in_mu, kInputSigma, kMinInput, F::kMaxInputTokens);
    r.output_tokens = draw(rng, out_mu, kOutputSigma, kMinOutput, F::kMaxOutputTokens);
  }
  return d;
}

LlmDataset fixed_length_dataset(int64_t n, int64_t prompt, int64_t output) {
  check(n >= 1, "an LLM data set needs at least one request, got ", n);
  check(prompt >= 1, "--prompt-len must be at least 1, got ", prompt);
  check(output >= 1, "--gen-len must be at least 1, got ", output);
  LlmDataset d;
  d.name = "fixed(" + std::to_string(prompt) + " in, " + std::to_string(output) + " out)";
  d.requests.assign(size_t(n), LlmRequest{prompt, output});
  return d;
}

}  // namespace wafer::harness
