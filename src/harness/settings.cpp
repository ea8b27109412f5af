#include "harness/settings.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace wafer::harness {

namespace {
std::string simplify(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_' && c != ' ') out += char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::string scenario_name(Scenario s) {
  switch (s) {
    case Scenario::SingleStream:
      return "SingleStream";
    case Scenario::MultiStream:
      return "MultiStream";
    case Scenario::Server:
      return "Server";
    case Scenario::Offline:
      return "Offline";
  }
  return "?";
}

std::string mode_name(TestMode m) {
  return m == TestMode::AccuracyOnly ? "AccuracyOnly" : "PerformanceOnly";
}

Scenario parse_scenario(const std::string& s) {
  std::string k = simplify(s);
  if (k == "singlestream") return Scenario::SingleStream;
  if (k == "multistream") return Scenario::MultiStream;
  if (k == "server") return Scenario::Server;
  if (k == "offline") return Scenario::Offline;
  fail("unknown scenario '", s, "' (expected SingleStream, MultiStream, Server or Offline)");
}

TestMode parse_mode(const std::string& s) {
  std::string k = simplify(s);
  if (k == "performance" || k == "performanceonly") return TestMode::PerformanceOnly;
  if (k == "accuracy" || k == "accuracyonly") return TestMode::AccuracyOnly;
  fail("unknown mode '", s, "' (expected performance or accuracy)");
}

TestSettings default_settings(Scenario scenario, TestMode mode) {
  TestSettings s;
  s.scenario = scenario;
  s.mode = mode;
  switch (scenario) {
    case Scenario::SingleStream:
      s.target_latency_percentile = 0.90;
      s.min_query_count = 1024;
      s.target_latency_ns = 10'000'000;
      break;
    case Scenario::MultiStream:
      s.target_latency_percentile = 0.99;
      s.samples_per_query = 8;
      s.min_query_count = 662;
      s.target_latency_ns = 80'000'000;
      break;
    case Scenario::Server:
      s.target_latency_percentile = 0.99;
      s.min_query_count = 270336;
      s.target_latency_ns = 100'000'000;  // LoadGen's default bound; models set their own (ResNet-50: 15 ms)
      break;
    case Scenario::Offline:
      s.target_latency_percentile = 0.90;
      s.min_query_count = 24576;  // for Offline: the minimum number of samples in its one query
      break;
  }
  return s;
}

void validate(const TestSettings& s) {
  check(std::isfinite(s.target_qps) && s.target_qps > 0, "target_qps must be positive, got ", s.target_qps);
  check(s.target_latency_ns >= 0, "target_latency must not be negative");
  check(s.target_latency_percentile > 0 && s.target_latency_percentile < 1,
        "target_latency_percentile must be in (0, 100) percent");
  check(s.min_duration_ms >= 0 && s.max_duration_ms >= 0, "durations must not be negative");
  check(s.min_query_count >= 0 && s.max_query_count >= 0, "query counts must not be negative");
  check(s.samples_per_query >= 1 && s.samples_per_query <= (int64_t(1) << 30), "samples_per_query must be >= 1");
  check(s.performance_sample_count_override >= 0, "performance_sample_count_override must not be negative");
  check(s.early_stopping_confidence > 0 && s.early_stopping_confidence < 1, "early stopping confidence in (0, 1)");
  check(s.response_timeout_ms > 0, "response_timeout_ms must be positive");
  // Offline sizes its query from target_qps * min_duration: keep that allocatable.
  check(s.target_qps * double(s.min_duration_ms) / 1000.0 < 1e10, "target_qps * min_duration is absurdly large");
  check(s.min_query_count < (int64_t(1) << 34), "min_query_count is absurdly large");
}

}  // namespace wafer::harness
