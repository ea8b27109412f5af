// Turns a finished run's record into MLPerf's metrics and validity verdict.
#include <algorithm>
#include <cmath>

#include "harness/results.h"
#include "harness/run_record.h"

namespace wafer::harness {

namespace {
std::string pct_label(double p) {
  // "90th", "99th", "99.9th": MLPerf's headline spelling.
  double v = p * 100;
  char buf[32];
  if (std::fabs(v - std::round(v)) < 1e-9)
    std::snprintf(buf, sizeof buf, "%.0fth", v);
  else
    std::snprintf(buf, sizeof buf, "%.1fth", v);
  return buf;
}

nlohmann::json stats_json(const LatencyStats& s) {
  return {{"count", s.count}, {"min_ns", s.min}, {"max_ns", s.max}, {"mean_ns", s.mean}, {"p50_ns", s.p50},
          {"p90_ns", s.p90},  {"p95_ns", s.p95}, {"p97_ns", s.p97}, {"p99_ns", s.p99},   {"p99_9_ns", s.p999}};
}
}  // namespace

std::string TestResult::headline_name() const {
  switch (settings.scenario) {
    case Scenario::SingleStream:
    case Scenario::MultiStream:
      return pct_label(target_latency_percentile) + " percentile latency (ns)";
    case Scenario::Server:
      return token_metrics ? "Completed tokens per second" : "Completed samples per second";
    case Scenario::Offline:
      return token_metrics ? "Tokens per second" : "Samples per second";
  }
  return "";
}

double TestResult::headline_value() const {
  bool latency_metric = settings.scenario == Scenario::SingleStream || settings.scenario == Scenario::MultiStream;
  if (latency_metric) return double(percentile_latency_ns);
  return token_metrics ? tokens_per_s : samples_per_s;
}

TestResult build_result(const Recorder& rec, const TestSettings& s, const std::string& sut_name,
                        const std::string& qsl_name, int64_t psc, int64_t total, bool virtual_time) {
  TestResult r;
  r.sut_name = sut_name;
  r.qsl_name = qsl_name;
  r.settings = s;
  r.virtual_time = virtual_time;
  r.performance_sample_count = psc;
  r.total_sample_count = total;
  r.target_latency_ns = s.target_latency_ns;
  r.target_latency_percentile = s.target_latency_percentile;
  r.query_count = int64_t(rec.queries.size());
  r.sample_count = int64_t(rec.samples.size());
  r.errors = rec.errors;
  if (rec.bad_responses > 0)
    r.errors.push_back(std::to_string(rec.bad_responses) + " responses with unknown or repeated sample ids");
  bool accuracy = s.mode == TestMode::AccuracyOnly;

  // Per-sample and per-query latencies, counted from the scheduled issue time.
  std::vector<int64_t> sample_lat, query_lat, lag;
  sample_lat.reserve(size_t(r.sample_count));
  query_lat.reserve(size_t(r.query_count));
  int64_t first_ns = rec.queries.empty() ? 0 : rec.queries.front().scheduled_ns, last_done = first_ns;
  int64_t last_scheduled = 0, incomplete = 0;
  for (const QueryRecord& q : rec.queries) {
    int64_t q_done = q.scheduled_ns;
    for (uint64_t i = q.first_sample; i < q.first_sample + q.count; ++i) {
      int64_t done = rec.samples[i].complete_ns;
      if (done < 0) {
        ++incomplete;
        continue;
      }
      sample_lat.push_back(done - q.scheduled_ns);
      q_done = std::max(q_done, done);
    }
    query_lat.push_back(q_done - q.scheduled_ns);
    last_done = std::max(last_done, q_done);
    last_scheduled = std::max(last_scheduled, q.scheduled_ns);
    lag.push_back(q.issued_ns - q.scheduled_ns);
  }
  if (incomplete > 0) r.errors.push_back(std::to_string(incomplete) + " samples never completed");
  r.duration_ns = last_done - first_ns;
  double duration_s = double(r.duration_ns) / 1e9;
  if (duration_s > 0) {
    r.samples_per_s = double(sample_lat.size()) / duration_s;
    r.queries_per_s = double(r.query_count) / duration_s;
  }
  if (s.scenario == Scenario::Server && last_scheduled > 0)
    r.scheduled_samples_per_s = double(r.sample_count) / (double(last_scheduled) / 1e9);

  bool per_query = s.scenario == Scenario::SingleStream || s.scenario == Scenario::MultiStream;
  std::vector<int64_t>& lat = per_query ? query_lat : sample_lat;
  if (per_query) {
    long double sum = 0;
    for (int64_t v : query_lat) sum += v;
    if (sum > 0) r.queries_per_s_no_overhead = double(r.query_count / (sum / 1e9L));
  }
  r.latency = summarize(lat);  // sorts lat
  if (!lat.empty()) r.percentile_latency_ns = percentile(lat, s.target_latency_percentile);
  // Token latencies, per sample.
  std::vector<int64_t> ttft, tpot;
  for (const QueryRecord& q : rec.queries)
    for (uint64_t i = q.first_sample; i < q.first_sample + q.count; ++i) {
      const SampleRecord& sr = rec.samples[i];
      if (sr.n_tokens <= 0 && sr.first_token_ns < 0) continue;
      r.token_metrics = true;
      if (sr.complete_ns < 0) continue;
      r.token_count += sr.n_tokens;
      // A SUT that reports no separate first token produced it at completion.
      int64_t first = sr.first_token_ns >= 0 ? sr.first_token_ns : sr.complete_ns;
      ttft.push_back(first - q.scheduled_ns);
      if (sr.n_tokens >= 2) tpot.push_back((sr.complete_ns - first) / (sr.n_tokens - 1));
    }
  if (r.token_metrics) {
    if (duration_s > 0) r.tokens_per_s = double(r.token_count) / duration_s;
    r.ttft = summarize(ttft);
    r.tpot = summarize(tpot);
    if (!ttft.empty()) r.ttft_percentile_ns = percentile(ttft, s.target_latency_percentile);
    if (!tpot.empty()) r.tpot_percentile_ns = percentile(tpot, s.target_latency_percentile);
    auto over = [](const std::vector<int64_t>& v, int64_t bound) {
      return bound > 0 ? int64_t(std::count_if(v.begin(), v.end(), [&](int64_t x) { return x > bound; })) : 0;
    };
    r.ttft_overlatency_count = over(ttft, s.ttft_latency_ns);
    r.tpot_overlatency_count = over(tpot, s.tpot_latency_ns);
  }
  if (!virtual_time && !per_query && !rec.queries.empty()) {
    r.issue_lag_measured = true;
    r.issue_lag = summarize(lag);
  }

  // The verdict. Accuracy runs only need every sample answered.
  auto add = [&](std::string name, bool ok, std::string detail) {
    r.checks.push_back(ValidityCheck{std::move(name), ok, std::move(detail)});
  };
  if (!accuracy) {
    int64_t min_dur_ns = s.min_duration_ms * 1'000'000;
    add("Min duration satisfied", r.duration_ns >= min_dur_ns,
        "ran " + std::to_string(r.duration_ns / 1'000'000) + " ms, minimum " + std::to_string(s.min_duration_ms) +
            " ms");
    int64_t counted = s.scenario == Scenario::Offline ? r.sample_count : r.query_count;
    add("Min queries satisfied", counted >= s.min_query_count,
        std::to_string(counted) + (s.scenario == Scenario::Offline ? " samples" : " queries") + ", minimum " +
            std::to_string(s.min_query_count));
    double c = s.early_stopping_confidence;
    bool token_bounds = r.token_metrics && (s.ttft_latency_ns > 0 || s.tpot_latency_ns > 0);
    if (s.scenario == Scenario::Server && token_bounds) {
      // MLPerf's LLM Server constraint: TTFT and TPOT at the percentile, each with early stopping.
      std::string detail;
      bool ok = !lat.empty();
      auto bound = [&](const char* what, int64_t value, int64_t limit) {
        if (limit <= 0) return;
        ok = ok && value <= limit;
        if (!detail.empty()) detail += "; ";
        detail += pct_label(s.target_latency_percentile) + " percentile " + what + " " + std::to_string(value) +
                  " ns, bound " + std::to_string(limit) + " ns";
      };
      bound("TTFT", r.ttft_percentile_ns, s.ttft_latency_ns);
      bound("TPOT", r.tpot_percentile_ns, s.tpot_latency_ns);
      add("Performance constraints satisfied", ok, detail);
      r.overlatency_count = std::max(r.ttft_overlatency_count, r.tpot_overlatency_count);
      r.early_stopping_queries_needed = early_stopping_min_queries(r.overlatency_count, s.target_latency_percentile, c);
      add("Early stopping satisfied", r.query_count >= r.early_stopping_queries_needed,
          std::to_string(r.ttft_overlatency_count) + " queries over the TTFT bound, " +
              std::to_string(r.tpot_overlatency_count) + " over the TPOT bound need " +
              std::to_string(r.early_stopping_queries_needed) + " queries in all");
    } else if (s.scenario == Scenario::Server) {
      r.overlatency_count =
          int64_t(std::count_if(lat.begin(), lat.end(), [&](int64_t v) { return v > s.target_latency_ns; }));
      add("Performance constraints satisfied", !lat.empty() && r.percentile_latency_ns <= s.target_latency_ns,
          pct_label(s.target_latency_percentile) + " percentile latency " + std::to_string(r.percentile_latency_ns) +
              " ns, bound " + std::to_string(s.target_latency_ns) + " ns");
      r.early_stopping_queries_needed = early_stopping_min_queries(r.overlatency_count, s.target_latency_percentile, c);
      add("Early stopping satisfied", r.query_count >= r.early_stopping_queries_needed,
          std::to_string(r.overlatency_count) + " queries over the bound need " +
              std::to_string(r.early_stopping_queries_needed) + " queries in all");
    } else if (per_query) {
      r.early_stopping = early_stopping_estimate(lat, s.target_latency_percentile, c);
      if (s.scenario == Scenario::SingleStream) r.early_stopping_p99 = early_stopping_estimate(lat, 0.99, c);
      add("Early stopping satisfied", r.early_stopping.satisfied,
          "needs at least " + std::to_string(r.early_stopping.min_queries) + " queries");
    }
  }
  add("Performance sample count", psc <= total,
      "performance sample count " + std::to_string(psc) + ", QSL holds " + std::to_string(total));
  add("SUT reported no errors", r.errors.empty(), r.errors.empty() ? "" : r.errors.front());
  r.valid = std::all_of(r.checks.begin(), r.checks.end(), [](const ValidityCheck& k) { return k.ok; });
  if (accuracy) {
    r.accuracy_log = rec.accuracy;
    std::sort(r.accuracy_log.begin(), r.accuracy_log.end(),
              [](const AccuracyEntry& a, const AccuracyEntry& b) { return a.seq_id < b.seq_id; });
  }
  return r;
}

nlohmann::json TestResult::to_json() const {
  nlohmann::json j;
  j["sut_name"] = sut_name;
  j["qsl_name"] = qsl_name;
  j["scenario"] = scenario_name(settings.scenario);
  j["mode"] = mode_name(settings.mode);
  j["clock"] = virtual_time ? "virtual" : "real";
  j["valid"] = valid;
  j["result"] = valid ? "VALID" : "INVALID";
  j["headline"] = {{"name", headline_name()}, {"value", headline_value()}};
  j["samples_per_s"] = samples_per_s;
  j["queries_per_s"] = queries_per_s;
  j["mean_latency_ns"] = latency.mean;
  j["p50_latency_ns"] = latency.p50;
  j["p90_latency_ns"] = latency.p90;
  j["p99_latency_ns"] = latency.p99;
  j["percentile_latency_ns"] = percentile_latency_ns;
  j["latency"] = stats_json(latency);
  j["latency_kind"] = (settings.scenario == Scenario::SingleStream || settings.scenario == Scenario::MultiStream)
                          ? "per_query"
                          : "per_sample";
  j["query_count"] = query_count;
  j["sample_count"] = sample_count;
  j["duration_ns"] = duration_ns;
  if (settings.scenario == Scenario::Server) {
    j["scheduled_samples_per_s"] = scheduled_samples_per_s;
    j["overlatency_count"] = overlatency_count;
    j["early_stopping"] = {{"queries_needed", early_stopping_queries_needed},
                           {"satisfied", query_count >= early_stopping_queries_needed}};
  } else if (settings.scenario != Scenario::Offline) {
    j["queries_per_s_no_overhead"] = queries_per_s_no_overhead;
    j["early_stopping"] = {{"satisfied", early_stopping.satisfied},
                           {"min_queries", early_stopping.min_queries},
                           {"discarded", early_stopping.discarded},
                           {"estimate_ns", early_stopping.estimate_ns}};
    if (settings.scenario == Scenario::SingleStream)
      j["early_stopping"]["p99_estimate_ns"] = early_stopping_p99.estimate_ns;
  }
  if (issue_lag_measured) j["issue_lag"] = stats_json(issue_lag);
  if (token_metrics) {
    j["token_count"] = token_count;
    j["tokens_per_s"] = tokens_per_s;
    j["ttft"] = stats_json(ttft);
    j["tpot"] = stats_json(tpot);
    j["ttft_p99_s"] = double(ttft.p99) / 1e9;
    j["tpot_p99_s"] = double(tpot.p99) / 1e9;
    j["ttft_percentile_ns"] = ttft_percentile_ns;
    j["tpot_percentile_ns"] = tpot_percentile_ns;
    j["ttft_overlatency_count"] = ttft_overlatency_count;
    j["tpot_overlatency_count"] = tpot_overlatency_count;
  }
  for (const auto& c : checks) j["checks"].push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  j["errors"] = errors;
  j["warnings"] = warnings;
  const TestSettings& s = settings;
  j["settings"] = {{"target_qps", s.target_qps},
                   {"target_latency_ns", s.target_latency_ns},
                   {"target_latency_percentile", s.target_latency_percentile},
                   {"min_duration_ms", s.min_duration_ms},
                   {"max_duration_ms", s.max_duration_ms},
                   {"min_query_count", s.min_query_count},
                   {"max_query_count", s.max_query_count},
                   {"samples_per_query", s.samples_per_query},
                   {"performance_sample_count", performance_sample_count},
                   {"qsl_rng_seed", s.qsl_rng_seed},
                   {"sample_index_rng_seed", s.sample_index_rng_seed},
                   {"schedule_rng_seed", s.schedule_rng_seed},
                   {"ttft_latency_ns", s.ttft_latency_ns},
                   {"tpot_latency_ns", s.tpot_latency_ns}};
  if (s.mode == TestMode::AccuracyOnly) j["accuracy_samples"] = accuracy_log.size();
  return j;
}

}  // namespace wafer::harness
