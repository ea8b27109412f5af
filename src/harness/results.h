// The outcome of a run: MLPerf's metrics for the scenario, the validity
// verdict with its reasons, and the statistics behind them. This is the
// programmatic results API; to_json() gives the same as `wafer bench --json`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/settings.h"
#include "harness/stats.h"

namespace wafer::harness {

// One line of mlperf_log_accuracy.json.
struct AccuracyEntry {
  uint64_t seq_id = 0;  // the sample's issue sequence number
  uint64_t qsl_idx = 0;
  std::vector<uint8_t> data;
};

struct ValidityCheck {
  std::string name;  // "Min duration satisfied", ...
  bool ok = true;
  std::string detail;
};

struct TestResult {
  std::string sut_name, qsl_name;
  TestSettings settings;
  bool virtual_time = false;
  bool valid = false;
  std::vector<ValidityCheck> checks;
  std::vector<std::string> warnings, errors;

  int64_t query_count = 0, sample_count = 0;
  int64_t performance_sample_count = 0, total_sample_count = 0;
  int64_t duration_ns = 0;               // first scheduled issue to last completion
  double samples_per_s = 0;              // completed samples / duration
  double queries_per_s = 0;              // completed queries / duration ("QPS w/ loadgen overhead")
  double queries_per_s_no_overhead = 0;  // queries / sum of query latencies (SingleStream, MultiStream)
  double scheduled_samples_per_s = 0;    // Server: samples / last scheduled arrival

  // The scenario's latency: per query for SingleStream/MultiStream, per sample for Server/Offline.
  LatencyStats latency;
  double target_latency_percentile = 0;
  int64_t percentile_latency_ns = 0;  // `latency` at the target percentile: the SS/MS headline
  int64_t target_latency_ns = 0;

  EarlyStoppingEstimate early_stopping;       // at the target percentile (SS, MS)
  EarlyStoppingEstimate early_stopping_p99;   // SingleStream also reports its 99th percentile
  int64_t overlatency_count = 0;              // Server: queries over target_latency_ns
  int64_t early_stopping_queries_needed = 0;  // Server: queries needed given overlatency_count

  bool issue_lag_measured = false;  // real-clock Server/Offline: how far actual issue fell behind schedule
  LatencyStats issue_lag;

  std::vector<AccuracyEntry> accuracy_log;  // accuracy mode only

  // Token metrics (LLM benchmarks: samples reported tokens), as MLPerf defines them per sample:
  // TTFT = first token time - scheduled issue; TPOT = (completion - first token) / (tokens - 1),
  // over samples with at least 2 tokens. tokens_per_s = all tokens / duration (the Offline and
  // Server metric). In Server runs with a ttft/tpot bound, validity is the bounds at
  // target_latency_percentile instead of the sample latency bound.
  bool token_metrics = false;
  int64_t token_count = 0;
  double tokens_per_s = 0;
  LatencyStats ttft, tpot;
  int64_t ttft_percentile_ns = 0, tpot_percentile_ns = 0;  // at target_latency_percentile
  int64_t ttft_overlatency_count = 0, tpot_overlatency_count = 0;

  // Headline metric name and value as in mlperf_log_summary.txt.
  std::string headline_name() const;
  double headline_value() const;
  nlohmann::json to_json() const;
};

}  // namespace wafer::harness
