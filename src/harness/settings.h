// Test settings: what the load generator does and what makes a run valid.
// Defaults per scenario follow MLPerf Inference's mlperf.conf; files in the
// mlperf.conf / user.conf syntax override them (see config_file.h).
#pragma once

#include <cstdint>
#include <string>

namespace wafer::harness {

enum class Scenario { SingleStream, MultiStream, Server, Offline };
enum class TestMode { PerformanceOnly, AccuracyOnly };

std::string scenario_name(Scenario s);  // "SingleStream", ...
std::string mode_name(TestMode m);      // "PerformanceOnly" / "AccuracyOnly"
// Accepts the MLPerf names case-insensitively (also "single-stream", ...).
Scenario parse_scenario(const std::string& s);
// Accepts "performance", "accuracy", "PerformanceOnly", "AccuracyOnly".
TestMode parse_mode(const std::string& s);

struct TestSettings {
  Scenario scenario = Scenario::SingleStream;
  TestMode mode = TestMode::PerformanceOnly;
  // Server: Poisson arrival rate. Offline: expected samples/s, which sizes the
  // single query so that it lasts min_duration.
  double target_qps = 1;
  // Server: the latency bound at target_latency_percentile. SingleStream /
  // MultiStream: the expected latency (informational).
  int64_t target_latency_ns = 0;
  double target_latency_percentile = 0.90;  // fraction, e.g. 0.99
  int64_t min_duration_ms = 600000;
  int64_t max_duration_ms = 0;  // 0: no limit
  int64_t min_query_count = 1024;
  int64_t max_query_count = 0;                    // 0: no limit
  int64_t samples_per_query = 1;                  // MultiStream: 8
  int64_t performance_sample_count_override = 0;  // 0: the QSL's own count
  uint64_t qsl_rng_seed = 0x5eed0001;
  uint64_t sample_index_rng_seed = 0x5eed0002;
  uint64_t schedule_rng_seed = 0x5eed0003;
  double early_stopping_confidence = 0.99;
  // Real-time runs give up when the SUT completes nothing for this long.
  int64_t response_timeout_ms = 600000;
  // Per-query lines in mlperf_log_detail.txt are written for at most this many queries.
  int64_t detail_log_max_queries = 1000;
  // LLM benchmarks (mlperf.conf `use_token_latencies`, `ttft_latency`, `tpot_latency` in ms): the
  // Server constraint is on the time to first token and the time per output token at
  // target_latency_percentile instead of the sample latency; 0 means no bound.
  bool use_token_latencies = false;
  int64_t ttft_latency_ns = 0;
  int64_t tpot_latency_ns = 0;
};

// MLPerf's defaults for a scenario (mlperf.conf, v4-era values).
TestSettings default_settings(Scenario scenario, TestMode mode = TestMode::PerformanceOnly);

// Throws naming the field when a setting is out of range.
void validate(const TestSettings& settings);

}  // namespace wafer::harness
