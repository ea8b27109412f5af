#include "harness/logs.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "harness/run_record.h"

namespace wafer::harness {

namespace {
const char* kRule = "================================================\n";

std::string pct(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", p * 100);
  return buf;
}

void stat_lines(std::ostream& o, const LatencyStats& s, const std::string& what) {
  auto line = [&](const std::string& name, auto v) {
    o << std::left << std::setw(32) << (name + " " + what + " (ns)") << ": " << v << "\n";
  };
  line("Min", s.min);
  line("Max", s.max);
  line("Mean", int64_t(std::llround(s.mean)));
  line(pct(0.50) + " percentile", s.p50);
  line(pct(0.90) + " percentile", s.p90);
  line(pct(0.95) + " percentile", s.p95);
  line(pct(0.97) + " percentile", s.p97);
  line(pct(0.99) + " percentile", s.p99);
  line(pct(0.999) + " percentile", s.p999);
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  check(f.good(), p.string(), ": cannot write");
  f << text;
  check(f.good(), p.string(), ": write failed");
}

std::string hex(const std::vector<uint8_t>& data) {
  static const char* digits = "0123456789ABCDEF";
  std::string out(data.size() * 2, '0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}
}  // namespace

std::string format_summary(const TestResult& r) {
  const TestSettings& s = r.settings;
  std::ostringstream o;
  o << kRule << "MLPerf Results Summary\n" << kRule;
  o << "SUT name : " << r.sut_name << "\n";
  o << "Scenario : " << scenario_name(s.scenario) << "\n";
  o << "Mode     : " << mode_name(s.mode) << "\n";
  o << std::fixed << std::setprecision(2);
  if (s.scenario == Scenario::Offline || s.scenario == Scenario::Server) {
    o << r.headline_name() << " : " << r.headline_value() << "\n";
    if (r.token_metrics)
      o << (s.scenario == Scenario::Server ? "Completed samples per second" : "Samples per second") << " : "
        << r.samples_per_s << "\n";
  } else
    o << r.headline_name() << " : " << r.percentile_latency_ns << "\n";
  o << "Result is : " << (r.valid ? "VALID" : "INVALID") << "\n";
  for (const auto& c : r.checks) {
    o << "  " << c.name << " : " << (c.ok ? "Yes" : "NO");
    if (!c.ok && !c.detail.empty()) o << " (" << c.detail << ")";
    o << "\n";
  }
  if (s.mode == TestMode::PerformanceOnly && s.scenario != Scenario::Offline) {
    o << "Early Stopping Result:\n";
    if (s.scenario == Scenario::Server) {
      if (r.query_count >= r.early_stopping_queries_needed)
        o << " * Run successful.\n";
      else
        o << " * Run unsuccessful.\n";
      o << " * " << r.overlatency_count << " queries over the latency bound; " << r.early_stopping_queries_needed
        << " queries needed to claim the " << pct(s.target_latency_percentile) << " percentile (" << r.query_count
        << " processed).\n";
    } else {
      const auto& e = r.early_stopping;
      if (!e.satisfied) {
        o << " * Only processed " << r.query_count << " queries; need at least " << e.min_queries << ".\n";
      } else {
        o << " * Processed at least " << e.min_queries << " queries (" << r.query_count << ").\n";
        o << " * Would discard " << e.discarded << " highest latency queries.\n";
        o << " * Early stopping " << pct(s.target_latency_percentile) << " percentile estimate: " << e.estimate_ns
          << "\n";
        if (s.scenario == Scenario::SingleStream)
          o << " * Early stopping 99.00 percentile estimate: " << r.early_stopping_p99.estimate_ns << "\n";
      }
    }
  }
  o << "\n" << kRule << "Additional Stats\n" << kRule;
  o << "Clock : " << (r.virtual_time ? "virtual" : "real (steady_clock)") << "\n";
  o << "Queries : " << r.query_count << "\nSamples : " << r.sample_count << "\n";
  o << "Duration (ns) : " << r.duration_ns << "\n";
  if (s.scenario == Scenario::SingleStream || s.scenario == Scenario::MultiStream) {
    o << "QPS w/ loadgen overhead         : " << r.queries_per_s << "\n";
    o << "QPS w/o loadgen overhead        : " << r.queries_per_s_no_overhead << "\n\n";
    stat_lines(o, r.latency, s.scenario == Scenario::MultiStream ? "per-query latency" : "latency");
  } else {
    if (s.scenario == Scenario::Server) o << "Scheduled samples per second : " << r.scheduled_samples_per_s << "\n";
    o << "Samples per second : " << r.samples_per_s << "\n\n";
    stat_lines(o, r.latency, "latency");
  }
  if (r.token_metrics) {
    o << "\nTokens : " << r.token_count << "\nTokens per second : " << r.tokens_per_s << "\n\n";
    stat_lines(o, r.ttft, "first token latency");
    o << "\n";
    stat_lines(o, r.tpot, "time per output token");
  }
  if (r.issue_lag_measured) {
    o << "\nIssue delay behind schedule (real clock):\n";
    stat_lines(o, r.issue_lag, "issue delay");
  }
  o << "\n" << kRule << "Test Parameters Used\n" << kRule;
  o << std::defaultfloat;
  o << "samples_per_query : " << s.samples_per_query << "\n";
  o << "target_qps : " << s.target_qps << "\n";
  o << "target_latency (ns): " << s.target_latency_ns << "\n";
  o << "target_latency_percentile : " << s.target_latency_percentile * 100 << "\n";
  o << "min_duration (ms): " << s.min_duration_ms << "\n";
  o << "max_duration (ms): " << s.max_duration_ms << "\n";
  o << "min_query_count : " << s.min_query_count << "\n";
  o << "max_query_count : " << s.max_query_count << "\n";
  o << "qsl_rng_seed : " << s.qsl_rng_seed << "\n";
  o << "sample_index_rng_seed : " << s.sample_index_rng_seed << "\n";
  o << "schedule_rng_seed : " << s.schedule_rng_seed << "\n";
  o << "performance_sample_count : " << r.performance_sample_count << "\n";
  if (r.token_metrics) {
    o << "ttft_latency (ns): " << s.ttft_latency_ns << "\n";
    o << "tpot_latency (ns): " << s.tpot_latency_ns << "\n";
  }
  o << "\n";
  if (r.warnings.empty()) o << "No warnings encountered during test.\n";
  for (const auto& w : r.warnings) o << "WARNING: " << w << "\n";
  o << "\n";
  if (r.errors.empty()) o << "No errors encountered during test.\n";
  for (const auto& e : r.errors) o << "ERROR: " << e << "\n";
  return o.str();
}

std::string format_accuracy_json(const TestResult& r) {
  std::ostringstream o;
  o << "[\n";
  for (size_t i = 0; i < r.accuracy_log.size(); ++i) {
    const auto& e = r.accuracy_log[i];
    o << "{ \"seq_id\" : " << e.seq_id << ", \"qsl_idx\" : " << e.qsl_idx << ", \"data\" : \"" << hex(e.data) << "\" }"
      << (i + 1 < r.accuracy_log.size() ? ",\n" : "\n");
  }
  o << "]\n";
  return o.str();
}

void write_logs(const std::string& dir, const TestResult& r, const Recorder& rec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  check(!ec && fs::is_directory(dir), dir, ": cannot create the log folder");
  write_file(fs::path(dir) / "mlperf_log_summary.txt", format_summary(r));

  // Detail log: one event per line, values as JSON, times in ms of the run's clock.
  std::ostringstream d;
  auto event = [&](const std::string& key, const nlohmann::json& value, double time_ms) {
    nlohmann::json j = {{"key", key}, {"value", value}, {"time_ms", time_ms}};
    d << ":::MLLOG " << j.dump() << "\n";
  };
  nlohmann::json res = r.to_json();
  event("sut_name", r.sut_name, 0);
  event("qsl_name", r.qsl_name, 0);
  event("effective_scenario", scenario_name(r.settings.scenario), 0);
  event("effective_test_mode", mode_name(r.settings.mode), 0);
  event("clock", r.virtual_time ? "virtual" : "real", 0);
  for (const auto& [k, v] : res["settings"].items()) event("effective_" + k, v, 0);
  int64_t limit = r.settings.detail_log_max_queries;
  for (size_t q = 0; q < rec.queries.size() && int64_t(q) < limit; ++q) {
    const QueryRecord& qr = rec.queries[q];
    int64_t done = qr.scheduled_ns;
    for (uint64_t i = qr.first_sample; i < qr.first_sample + qr.count; ++i)
      done = std::max(done, rec.samples[i].complete_ns);
    event("query_issued",
          {{"query", q}, {"samples", qr.count}, {"scheduled_ns", qr.scheduled_ns}, {"issued_ns", qr.issued_ns}},
          double(qr.issued_ns) / 1e6);
    event("query_complete", {{"query", q}, {"latency_ns", done - qr.scheduled_ns}}, double(done) / 1e6);
    if (r.token_metrics)
      for (uint64_t i = qr.first_sample; i < qr.first_sample + qr.count; ++i) {
        const SampleRecord& sr = rec.samples[i];
        int64_t first = sr.first_token_ns >= 0 ? sr.first_token_ns : sr.complete_ns;
        event("sample_tokens",
              {{"query", q},
               {"qsl_idx", sr.qsl_index},
               {"n_tokens", sr.n_tokens},
               {"ttft_ns", first - qr.scheduled_ns},
               {"tpot_ns", sr.n_tokens >= 2 ? (sr.complete_ns - first) / (sr.n_tokens - 1) : 0}},
              double(first) / 1e6);
      }
  }
  if (int64_t(rec.queries.size()) > limit)
    event("query_events_truncated", {{"logged", limit}, {"total", rec.queries.size()}}, double(r.duration_ns) / 1e6);
  for (const auto& w : r.warnings) event("warning", w, double(r.duration_ns) / 1e6);
  for (const auto& e : r.errors) event("error", e, double(r.duration_ns) / 1e6);
  event("result_validity", r.valid ? "VALID" : "INVALID", double(r.duration_ns) / 1e6);
  for (const auto& c : r.checks) event("result_check", {{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}}, 0);
  event("result_samples_per_second", r.samples_per_s, double(r.duration_ns) / 1e6);
  event("result_mean_latency_ns", r.latency.mean, double(r.duration_ns) / 1e6);
  event("result_90.00_percentile_latency_ns", r.latency.p90, double(r.duration_ns) / 1e6);
  event("result_99.00_percentile_latency_ns", r.latency.p99, double(r.duration_ns) / 1e6);
  if (r.token_metrics) {
    event("result_tokens_per_second", r.tokens_per_s, double(r.duration_ns) / 1e6);
    event("result_first_token_mean_latency_ns", r.ttft.mean, double(r.duration_ns) / 1e6);
    event("result_first_token_99.00_percentile_latency_ns", r.ttft.p99, double(r.duration_ns) / 1e6);
    event("result_time_per_output_token_mean_ns", r.tpot.mean, double(r.duration_ns) / 1e6);
    event("result_time_per_output_token_99.00_percentile_ns", r.tpot.p99, double(r.duration_ns) / 1e6);
  }
  write_file(fs::path(dir) / "mlperf_log_detail.txt", d.str());
  if (r.settings.mode == TestMode::AccuracyOnly)
    write_file(fs::path(dir) / "mlperf_log_accuracy.json", format_accuracy_json(r));
}

}  // namespace wafer::harness
