#include "harness/config_file.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace wafer::harness {

namespace {
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

double to_double(const std::string& v, const std::string& where) {
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v.c_str(), &end);
  check(!v.empty() && *end == '\0' && errno == 0 && std::isfinite(d), where, ": '", v, "' is not a number");
  return d;
}

int64_t to_int(const std::string& v, const std::string& where) {
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(v.c_str(), &end, 10);
  check(!v.empty() && *end == '\0' && errno == 0, where, ": '", v, "' is not an integer");
  return i;
}

uint64_t to_uint(const std::string& v, const std::string& where) {
  char* end = nullptr;
  errno = 0;
  unsigned long long u = std::strtoull(v.c_str(), &end, 10);
  check(!v.empty() && v[0] != '-' && *end == '\0' && errno == 0, where, ": '", v, "' is not an unsigned integer");
  return u;
}

int64_t ms_to_ns(double ms, const std::string& where) {
  check(ms >= 0 && ms < 1e12, where, ": latency out of range");
  return int64_t(std::llround(ms * 1e6));
}
}  // namespace

ConfigFile ConfigFile::parse(const std::string& text, const std::string& name_for_errors) {
  ConfigFile cf;
  cf.name_ = name_for_errors;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    std::string where = name_for_errors + ":" + std::to_string(line_no);
    auto eq = line.find('=');
    check(eq != std::string::npos, where, ": expected 'model.scenario.key = value'");
    std::string lhs = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    auto d1 = lhs.find('.');
    auto d2 = d1 == std::string::npos ? d1 : lhs.find('.', d1 + 1);
    check(d2 != std::string::npos && d1 > 0 && d2 > d1 + 1 && d2 + 1 < lhs.size() &&
              lhs.find('.', d2 + 1) == std::string::npos,
          where, ": expected 'model.scenario.key', got '", lhs, "'");
    check(!value.empty(), where, ": missing value");
    std::string pattern = trim(lhs.substr(0, d1)) + "." + trim(lhs.substr(d1 + 1, d2 - d1 - 1));
    cf.entries_[trim(lhs.substr(d2 + 1))][pattern] = value;  // a later line overrides an earlier one
  }
  return cf;
}

ConfigFile ConfigFile::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  check(f.good(), path, ": cannot open settings file");
  std::ostringstream ss;
  ss << f.rdbuf();
  check(ss.str().size() < (size_t(16) << 20), path, ": settings file larger than 16 MiB");
  return parse(ss.str(), path);
}

const std::string* ConfigFile::lookup(const std::string& model, const std::string& scenario,
                                      const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  for (const std::string& pattern : {model + "." + scenario, "*." + scenario, model + ".*", std::string("*.*")})
    if (auto v = it->second.find(pattern); v != it->second.end()) return &v->second;
  return nullptr;
}

void ConfigFile::apply(const std::string& model, TestSettings& s) const {
  std::string scen = scenario_name(s.scenario);
  auto get = [&](const char* key) -> const std::string* { return lookup(model, scen, key); };
  auto where = [&](const char* key) { return name_ + ": " + key; };
  if (auto v = get("target_qps")) s.target_qps = to_double(*v, where("target_qps"));
  if (auto v = get("target_latency")) s.target_latency_ns = ms_to_ns(to_double(*v, where("target_latency")), name_);
  if (auto v = get("target_latency_ns")) s.target_latency_ns = to_int(*v, where("target_latency_ns"));
  if (auto v = get("target_latency_percentile"))
    s.target_latency_percentile = to_double(*v, where("target_latency_percentile")) / 100.0;
  if (auto v = get("min_duration")) s.min_duration_ms = to_int(*v, where("min_duration"));
  if (auto v = get("max_duration")) s.max_duration_ms = to_int(*v, where("max_duration"));
  if (auto v = get("min_query_count")) s.min_query_count = to_int(*v, where("min_query_count"));
  if (auto v = get("max_query_count")) s.max_query_count = to_int(*v, where("max_query_count"));
  if (auto v = get("samples_per_query")) s.samples_per_query = to_int(*v, where("samples_per_query"));
  if (auto v = get("performance_sample_count_override"))
    s.performance_sample_count_override = to_int(*v, where("performance_sample_count_override"));
  if (auto v = get("qsl_rng_seed")) s.qsl_rng_seed = to_uint(*v, where("qsl_rng_seed"));
  if (auto v = get("sample_index_rng_seed")) s.sample_index_rng_seed = to_uint(*v, where("sample_index_rng_seed"));
  if (auto v = get("schedule_rng_seed")) s.schedule_rng_seed = to_uint(*v, where("schedule_rng_seed"));
  if (auto v = get("use_token_latencies")) s.use_token_latencies = to_int(*v, where("use_token_latencies")) != 0;
  if (auto v = get("ttft_latency")) s.ttft_latency_ns = ms_to_ns(to_double(*v, where("ttft_latency")), name_);
  if (auto v = get("tpot_latency")) s.tpot_latency_ns = ms_to_ns(to_double(*v, where("tpot_latency")), name_);
  // MLPerf's per-scenario aliases for the expected rate/latency.
  if (s.scenario == Scenario::Offline)
    if (auto v = get("offline_expected_qps")) s.target_qps = to_double(*v, where("offline_expected_qps"));
  if (s.scenario == Scenario::SingleStream)
    if (auto v = get("single_stream_expected_latency_ns")) s.target_latency_ns = to_int(*v, name_);
  if (s.scenario == Scenario::MultiStream)
    if (auto v = get("multi_stream_expected_latency_ns")) s.target_latency_ns = to_int(*v, name_);
}

}  // namespace wafer::harness
