// Latency statistics and MLPerf's early-stopping math.
//
// Percentile: of n latencies sorted ascending, the p-th percentile is element
// floor(p * n) (clamped to n - 1), as LoadGen reports it.
//
// Early stopping: each query either meets a latency L or not. To claim with
// confidence c that L is (at least) the p-th percentile latency, the number of
// queries over L, t, must be improbably small were the true overlatency
// probability 1 - p: P[Binomial(n, 1 - p) <= t] <= 1 - c. For a run of n
// queries with t the largest such count, the early-stopping estimate is the
// t-th highest latency (counting a query at the estimate as over it), and the
// t - 1 above it are "discarded". LoadGen needs t >= 1 (n >= 64 at p = 0.90).
#pragma once

#include <cstdint>
#include <vector>

namespace wafer::harness {

// `sorted` ascending and non-empty.
int64_t percentile(const std::vector<int64_t>& sorted, double p);

struct LatencyStats {
  int64_t count = 0;
  int64_t min = 0, max = 0;
  double mean = 0;
  int64_t p50 = 0, p90 = 0, p95 = 0, p97 = 0, p99 = 0, p999 = 0;
};
// Sorts `latencies` in place and summarises them (all zero when empty).
LatencyStats summarize(std::vector<int64_t>& latencies);

// P[X <= k] for X ~ Binomial(n, q), computed in log space (n up to billions).
double binomial_cdf(int64_t k, int64_t n, double q);

// Largest t with P[Binomial(n, 1 - p) <= t] <= 1 - c, or -1 when even t = 0 fails.
int64_t early_stopping_max_overlatency(int64_t n, double p, double c);

// Smallest n with P[Binomial(n, 1 - p) <= t] <= 1 - c: the queries needed to
// pass when t of them are over the latency bound.
int64_t early_stopping_min_queries(int64_t t, double p, double c);

struct EarlyStoppingEstimate {
  bool satisfied = false;   // enough queries that t >= 1 (LoadGen's requirement)
  int64_t min_queries = 0;  // queries needed for that
  int64_t discarded = 0;    // highest latencies that may be discarded
  int64_t estimate_ns = 0;  // the latency claimable at percentile p with confidence c
};
// From latencies sorted ascending.
EarlyStoppingEstimate early_stopping_estimate(const std::vector<int64_t>& sorted, double p, double c);

}  // namespace wafer::harness
