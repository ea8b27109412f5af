#include "api/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace wafer::api {

void check_sampling(const SamplingOptions& o) {
  check(std::isfinite(o.temperature) && o.temperature >= 0, "--temperature must be >= 0 (0: greedy), got ",
        o.temperature);
  check(o.top_k >= 0, "--top-k must be >= 0 (0: no limit), got ", o.top_k);
  check(o.top_p > 0 && o.top_p <= 1, "--top-p must be in (0, 1], got ", o.top_p);
}

int64_t choose_token(const float* logits, int64_t vocab, const SamplingOptions& o, std::mt19937_64& rng) {
  if (o.temperature == 0) return int64_t(std::max_element(logits, logits + vocab) - logits);
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  size_t keep = o.top_k > 0 ? std::min<size_t>(size_t(o.top_k), order.size()) : order.size();
  auto by_logit = [&](int64_t a, int64_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(keep), order.end(), by_logit);
  order.resize(keep);
  // Softmax of logits / T over the kept tokens, largest first (subtracting the max keeps exp in range).
  std::vector<double> p(keep);
  double top = logits[order[0]], sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((double(logits[order[i]]) - top) / o.temperature);
  size_t nucleus = keep;
  double mass = 0;
  for (size_t i = 0; i < keep; ++i) {
    mass += p[i] / sum;
    if (mass >= o.top_p) {
      nucleus = i + 1;
      break;
    }
  }
  double kept = std::accumulate(p.begin(), p.begin() + std::ptrdiff_t(nucleus), 0.0);
  double u = std::uniform_real_distribution<double>(0, kept)(rng);
  for (size_t i = 0; i < nucleus; ++i) {
    if (u < p[i]) return order[i];
    u -= p[i];
  }
  return order[nucleus - 1];  // u == kept up to rounding
}

}  // namespace wafer::api
