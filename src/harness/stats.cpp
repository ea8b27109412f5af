#include "harness/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace wafer::harness {

int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  check(!sorted.empty(), "percentile of no latencies");
  // The tiny relative nudge keeps products like 0.97 * 100 from landing just below an integer.
  double pos = std::floor(p * double(sorted.size()) * (1 + 1e-12));
  size_t idx = pos <= 0 ? 0 : std::min(sorted.size() - 1, size_t(pos));
  return sorted[idx];
}

LatencyStats summarize(std::vector<int64_t>& lat) {
  LatencyStats s;
  if (lat.empty()) return s;
  std::sort(lat.begin(), lat.end());
  s.count = int64_t(lat.size());
  s.min = lat.front();
  s.max = lat.back();
  long double sum = 0;
  for (int64_t v : lat) sum += v;
  s.mean = double(sum / lat.size());
  s.p50 = percentile(lat, 0.50);
  s.p90 = percentile(lat, 0.90);
  s.p95 = percentile(lat, 0.95);
  s.p97 = percentile(lat, 0.97);
  s.p99 = percentile(lat, 0.99);
  s.p999 = percentile(lat, 0.999);
  return s;
}

namespace {
double log_add(double a, double b) {
  if (a == -std::numeric_limits<double>::infinity()) return b;
  if (a < b) std::swap(a, b);
  return a + std::log1p(std::exp(b - a));
}

// Calls f(k, log P[X <= k]) for k = 0, 1, ... until f returns false or k > n.
// The pmf is advanced by its ratio, so the whole walk is O(k).
template <typename F>
void walk_log_cdf(int64_t n, double q, F f) {
  double log_q = std::log(q), log_1q = std::log1p(-q);
  double lp = double(n) * log_1q;  // log P[X = 0]
  double lcdf = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k <= n; ++k) {
    lcdf = log_add(lcdf, lp);
    if (!f(k, lcdf)) return;
    lp += std::log(double(n - k) / double(k + 1)) + log_q - log_1q;
  }
}
}  // namespace

double binomial_cdf(int64_t k, int64_t n, double q) {
  check(n >= 0 && q >= 0 && q <= 1, "binomial_cdf: bad parameters");
  if (k < 0) return 0;
  if (k >= n || q == 0) return 1;
  if (q == 1) return 0;
  double result = 1;
  walk_log_cdf(n, q, [&](int64_t i, double lcdf) {
    if (i < k) return true;
    result = std::exp(lcdf);
    return false;
  });
  return std::min(1.0, result);
}

int64_t early_stopping_max_overlatency(int64_t n, double p, double c) {
  check(p > 0 && p < 1 && c > 0 && c < 1, "early stopping: percentile and confidence must be in (0, 1)");
  if (n <= 0) return -1;
  double log_alpha = std::log(1 - c);
  int64_t best = -1;
  walk_log_cdf(n, 1 - p, [&](int64_t k, double lcdf) {
    if (lcdf > log_alpha) return false;  // the cdf only grows with k
    best = k;
    return true;
  });
  return best;
}

int64_t early_stopping_min_queries(int64_t t, double p, double c) {
  check(t >= 0 && p > 0 && p < 1 && c > 0 && c < 1, "early stopping: bad parameters");
  // P[Binomial(n, 1-p) <= t] falls as n grows: find the first n that passes.
  auto passes = [&](int64_t n) { return binomial_cdf(t, n, 1 - p) <= 1 - c; };
  int64_t lo = t + 1, hi = t + 1;
  while (!passes(hi)) {
    lo = hi + 1;
    check(hi < (int64_t(1) << 50), "early stopping: no query count passes");
    hi *= 2;
  }
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (passes(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

EarlyStoppingEstimate early_stopping_estimate(const std::vector<int64_t>& sorted, double p, double c) {
  EarlyStoppingEstimate e;
  e.min_queries = early_stopping_min_queries(1, p, c);
  int64_t n = int64_t(sorted.size());
  if (n < e.min_queries) return e;
  e.satisfied = true;
  // Conservatively the estimate itself counts as over it (ties cannot help the claim):
  // with t allowed overlatency queries, the estimate is the t-th highest latency and
  // the t - 1 above it are discarded. This reproduces LoadGen's reported figures.
  int64_t t = early_stopping_max_overlatency(n, p, c);
  e.discarded = t - 1;
  e.estimate_ns = sorted[size_t(n - t)];
  return e;
}

}  // namespace wafer::harness
