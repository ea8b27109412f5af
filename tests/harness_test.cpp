// The MLPerf-style harness: statistics, settings files, and each scenario's
// metrics checked against values computed independently on known inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "harness/backend_sut.h"
#include "harness/config_file.h"
#include "harness/device_sut.h"
#include "harness/loadgen.h"
#include "harness/logs.h"
#include "harness/model_qsl.h"
#include "harness/null_sut.h"
#include "harness/stats.h"

using namespace wafer;
using namespace wafer::harness;

namespace {

TestSettings quick(Scenario s, int64_t min_queries, int64_t min_duration_ms = 0) {
  TestSettings t = default_settings(s);
  t.min_query_count = min_queries;
  t.min_duration_ms = min_duration_ms;
  return t;
}

DeviceSut fixed_device(double seconds, int max_batch = 1, int64_t timeout_ns = 0) {
  return DeviceSut(DeviceModel{"fixed", max_batch, timeout_ns, [seconds](int) { return seconds; }});
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// x: float32[N, 4] -> Relu -> y
std::unique_ptr<Graph> relu_graph() {
  auto g = std::make_unique<Graph>();
  g->inputs = {"x"};
  g->outputs = {"y"};
  g->types["x"] = ValueType{DType::Float32, Shape({Dim::named("N"), Dim(4)})};
  g->types["y"] = ValueType{DType::Float32, Shape({Dim::named("N"), Dim(4)})};
  g->add_node("Relu", {"x"}, {"y"}, "relu").op_version = 14;
  return g;
}

}  // namespace

TEST(HarnessStats, PercentileIsElementFloorPN) {
  std::vector<int64_t> v = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  EXPECT_EQ(percentile(v, 0.50), 60);   // floor(5.0) = 5
  EXPECT_EQ(percentile(v, 0.90), 100);  // floor(9.0) = 9
  EXPECT_EQ(percentile(v, 0.85), 90);   // floor(8.5) = 8
  EXPECT_EQ(percentile(v, 0.999), 100);
  EXPECT_EQ(percentile(v, 0.01), 10);
  std::vector<int64_t> hundred(100);
  for (int i = 0; i < 100; ++i) hundred[size_t(i)] = 99 - i;
  LatencyStats s = summarize(hundred);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.max, 99);
  EXPECT_DOUBLE_EQ(s.mean, 49.5);
  EXPECT_EQ(s.p50, 50);
  EXPECT_EQ(s.p90, 90);
  EXPECT_EQ(s.p97, 97);  // 0.97 * 100 must not round down to 96
  EXPECT_EQ(s.p99, 99);
  EXPECT_EQ(s.p999, 99);
  EXPECT_THROW(percentile({}, 0.5), Error);
}

TEST(HarnessStats, BinomialCdfMatchesHandComputedValues) {
  EXPECT_NEAR(binomial_cdf(0, 10, 0.5), 1.0 / 1024, 1e-15);
  EXPECT_NEAR(binomial_cdf(2, 5, 0.5), 16.0 / 32, 1e-14);
  double by_hand = std::pow(0.9, 64) + 64 * 0.1 * std::pow(0.9, 63);  // P[X <= 1], X ~ B(64, 0.1)
  EXPECT_NEAR(binomial_cdf(1, 64, 0.1), by_hand, 1e-14);
  EXPECT_EQ(binomial_cdf(-1, 10, 0.3), 0);
  EXPECT_EQ(binomial_cdf(10, 10, 0.3), 1);
}

TEST(HarnessStats, EarlyStoppingReproducesLoadGenFigures) {
  // Minimum queries: t = 1 at p90 (LoadGen prints "Processed at least 64 queries");
  // t = 0 at p99 is ceil(log 0.01 / log 0.99) = 459.
  EXPECT_EQ(early_stopping_min_queries(1, 0.90, 0.99), 64);
  EXPECT_EQ(early_stopping_min_queries(0, 0.99, 0.99), 459);
  EXPECT_EQ(early_stopping_min_queries(0, 0.90, 0.99), 44);  // 0.9^44 = 0.0097 <= 0.01 < 0.9^43
  // t = 1 at p99 needs 662: MLPerf's MultiStream minimum query count.
  EXPECT_EQ(early_stopping_min_queries(1, 0.99, 0.99), 662);
  // "Would discard N highest latency queries" from published SingleStream summaries.
  const std::pair<int64_t, int64_t> published[] = {{2048, 172}, {2116, 178}, {2145, 181}, {7469, 685}};
  for (auto [n, discard] : published) {
    std::vector<int64_t> lat(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) lat[size_t(i)] = 1000 + i;
    auto e = early_stopping_estimate(lat, 0.90, 0.99);
    EXPECT_TRUE(e.satisfied);
    EXPECT_EQ(e.discarded, discard) << n;
    EXPECT_EQ(e.estimate_ns, 1000 + n - 1 - discard) << n;
  }
  EXPECT_EQ(early_stopping_max_overlatency(4776846, 0.90, 0.99) - 1, 476158);  // a 4.8 M-query summary
  std::vector<int64_t> few(63, 5);
  EXPECT_FALSE(early_stopping_estimate(few, 0.90, 0.99).satisfied);
  EXPECT_EQ(early_stopping_max_overlatency(43, 0.90, 0.99), -1);
}

TEST(HarnessConfig, LookupOrderAndUserConfOverride) {
  auto mlperf = ConfigFile::parse(
      "# defaults\n"
      "*.*.min_duration = 1000\n"
      "*.Server.target_latency = 15   # ms\n"
      "resnet.*.min_query_count = 77\n"
      "resnet.Server.target_qps = 250\n"
      "*.Server.target_qps = 1\n"
      "*.Server.target_latency_percentile = 99\n");
  TestSettings s = default_settings(Scenario::Server);
  mlperf.apply("resnet", s);
  EXPECT_EQ(s.min_duration_ms, 1000);
  EXPECT_EQ(s.target_latency_ns, 15'000'000);
  EXPECT_EQ(s.min_query_count, 77);
  EXPECT_DOUBLE_EQ(s.target_qps, 250);  // model.scenario beats *.scenario
  EXPECT_DOUBLE_EQ(s.target_latency_percentile, 0.99);
  TestSettings other = default_settings(Scenario::Server);
  mlperf.apply("bert", other);
  EXPECT_DOUBLE_EQ(other.target_qps, 1);
  EXPECT_EQ(other.min_query_count, 270336);  // untouched default
  // *.scenario beats model.*
  auto c = ConfigFile::parse("m.*.min_duration = 5\n*.Offline.min_duration = 6\n");
  TestSettings off = default_settings(Scenario::Offline);
  c.apply("m", off);
  EXPECT_EQ(off.min_duration_ms, 6);
  // user.conf applied after mlperf.conf wins.
  ConfigFile::parse("*.Server.target_qps = 999\n").apply("resnet", s);
  EXPECT_DOUBLE_EQ(s.target_qps, 999);
  EXPECT_THROW(ConfigFile::parse("no equals sign\n"), Error);
  EXPECT_THROW(ConfigFile::parse("model.key = 3\n"), Error);
  EXPECT_THROW(ConfigFile::parse("*.*.min_duration = abc\n").apply("m", s), Error);
  EXPECT_THROW(ConfigFile::load("/nonexistent/user.conf"), Error);
}

TEST(HarnessSettings, RejectsBadValues) {
  EXPECT_EQ(parse_scenario("multi-stream"), Scenario::MultiStream);
  EXPECT_EQ(parse_mode("accuracy"), TestMode::AccuracyOnly);
  EXPECT_THROW(parse_scenario("Batch"), Error);
  TestSettings s = default_settings(Scenario::Server);
  s.target_qps = 0;
  NullSut sut;
  IndexQsl qsl(8, 8);
  EXPECT_THROW(run_test(sut, qsl, s), Error);
  EXPECT_THROW(fixed_device(0.001, 0), Error);
  auto zero = fixed_device(0.0);
  EXPECT_THROW(run_test(zero, qsl, quick(Scenario::SingleStream, 4)), Error);
}

TEST(HarnessVirtual, SingleStreamFixedServiceTimeIsExact) {
  auto dev = fixed_device(0.001);
  IndexQsl qsl(16, 16);
  TestResult r = run_test(dev, qsl, quick(Scenario::SingleStream, 10, 50));
  // Queries back to back, 1 ms each: the 50th ends at exactly 50 ms.
  EXPECT_EQ(r.query_count, 50);
  EXPECT_EQ(r.duration_ns, 50'000'000);
  EXPECT_EQ(r.latency.min, 1'000'000);
  EXPECT_EQ(r.latency.max, 1'000'000);
  EXPECT_EQ(r.percentile_latency_ns, 1'000'000);
  EXPECT_DOUBLE_EQ(r.queries_per_s, 1000);
  EXPECT_FALSE(r.early_stopping.satisfied);  // 50 < 64 queries
  EXPECT_FALSE(r.valid);
  // With a batching timeout the lone sample waits it out first.
  auto slow = fixed_device(0.001, 4, 250'000);
  TestResult t = run_test(slow, qsl, quick(Scenario::SingleStream, 100));
  EXPECT_EQ(t.query_count, 100);
  EXPECT_EQ(t.latency.p90, 1'250'000);
  EXPECT_TRUE(t.valid);
  // B(100, 0.1): P[X <= 3] = 0.0078, P[X <= 4] = 0.0237, so t = 3 and 2 are discarded.
  EXPECT_EQ(t.early_stopping.discarded, 2);
  EXPECT_EQ(t.early_stopping.estimate_ns, 1'250'000);
}

TEST(HarnessVirtual, MultiStreamQueryLatencyCoversItsBatches) {
  auto dev = fixed_device(0.002, 4);
  IndexQsl qsl(64, 64);
  TestResult r = run_test(dev, qsl, quick(Scenario::MultiStream, 662));
  EXPECT_EQ(r.query_count, 662);
  EXPECT_EQ(r.sample_count, 662 * 8);
  EXPECT_EQ(r.percentile_latency_ns, 4'000'000);  // 8 samples = 2 batches of 4 at 2 ms
  EXPECT_EQ(r.headline_name(), "99th percentile latency (ns)");
  EXPECT_TRUE(r.early_stopping.satisfied);
  EXPECT_TRUE(r.valid);
}

TEST(HarnessVirtual, OfflineThroughputIsBatchOverServiceTime) {
  double a = 0.0005, b = 0.0001;  // service(8) = 1.3 ms
  DeviceSut dev(DeviceModel{"linear", 8, 0, linear_service_time(a, b)});
  IndexQsl qsl(100, 100);
  TestResult r = run_test(dev, qsl, quick(Scenario::Offline, 800));
  EXPECT_EQ(r.query_count, 1);
  EXPECT_EQ(r.sample_count, 800);
  EXPECT_EQ(dev.batches(), 100);
  EXPECT_EQ(r.duration_ns, 100 * 1'300'000);
  EXPECT_NEAR(r.samples_per_s, 8 / (a + 8 * b), 1e-6);
  EXPECT_EQ(r.latency.max, 130'000'000);
  EXPECT_TRUE(r.valid);
  // Offline sizes its query from target_qps * min_duration when that is larger.
  TestSettings s = quick(Scenario::Offline, 10, 1000);
  s.target_qps = 2000;
  EXPECT_EQ(run_test(dev, qsl, s).sample_count, 2000);
}

// Devices sharing the queue (a system of chips, data parallel): 800 samples in batches of 8 on 4 devices are
// 25 rounds of 4 batches at 1.3 ms each; SingleStream (one sample at a time) gains nothing from them.
TEST(HarnessVirtual, DevicesShareTheQueue) {
  const double a = 0.0005, b = 0.0001;
  DeviceSut four(DeviceModel{.name = "linear x4",
                             .max_batch = 8,
                             .batch_timeout_ns = 0,
                             .service_time = linear_service_time(a, b),
                             .devices = 4});
  IndexQsl qsl(100, 100);
  TestResult r = run_test(four, qsl, quick(Scenario::Offline, 800));
  EXPECT_EQ(four.batches(), 100);
  EXPECT_EQ(r.duration_ns, 25 * 1'300'000);
  EXPECT_NEAR(r.samples_per_s, 4 * 8 / (a + 8 * b), 1e-6);
  EXPECT_EQ(four.busy_ns(), 100 * 1'300'000);  // summed over the devices
  DeviceSut two(
      DeviceModel{.name = "fixed x2", .max_batch = 1, .service_time = linear_service_time(0.001, 0), .devices = 2});
  TestResult ss = run_test(two, qsl, quick(Scenario::SingleStream, 10, 50));
  EXPECT_EQ(ss.duration_ns, 50'000'000);
  EXPECT_EQ(ss.latency.max, 1'000'000);
  EXPECT_THROW(DeviceSut(DeviceModel{
                   .name = "none", .max_batch = 1, .service_time = linear_service_time(0.001, 0), .devices = 0}),
               Error);
}

TEST(HarnessVirtual, ServerMatchesMD1AndIsDeterministic) {
  // M/D/1: Poisson arrivals at 500/s, 1 ms deterministic service, rho = 0.5;
  // mean wait in queue = rho * D / (2 (1 - rho)) = 0.5 ms, so mean latency 1.5 ms.
  auto dev = fixed_device(0.001);
  IndexQsl qsl(1024, 1024);
  TestSettings s = quick(Scenario::Server, 200000);
  s.target_qps = 500;
  s.target_latency_ns = 50'000'000;
  TestResult r = run_test(dev, qsl, s);
  EXPECT_EQ(r.query_count, 200000);
  EXPECT_NEAR(r.latency.mean, 1.5e6, 0.03 * 1.5e6);
  EXPECT_NEAR(r.scheduled_samples_per_s, 500, 5);
  EXPECT_NEAR(r.samples_per_s, 500, 5);
  EXPECT_EQ(r.latency.min, 1'000'000);
  EXPECT_TRUE(r.valid);
  EXPECT_FALSE(r.issue_lag_measured);  // virtual time: issue is exactly on schedule
  auto dev2 = fixed_device(0.001);
  EXPECT_EQ(run_test(dev2, qsl, s).to_json().dump(), r.to_json().dump());
  s.schedule_rng_seed += 1;
  EXPECT_NE(run_test(dev2, qsl, s).to_json().dump(), r.to_json().dump());
  // A bound below the service time: INVALID for the performance constraint and early stopping.
  s.target_latency_ns = 900'000;
  TestResult bad = run_test(dev2, qsl, s);
  EXPECT_FALSE(bad.valid);
  EXPECT_EQ(bad.overlatency_count, 200000);
  bool constraint_failed = false;
  for (const auto& c : bad.checks)
    if (c.name == "Performance constraints satisfied") constraint_failed = !c.ok;
  EXPECT_TRUE(constraint_failed);
}

TEST(HarnessReal, NullSutOfflineAndServer) {
  NullSut sut;
  IndexQsl qsl(1024, 1024);
  TestResult off = run_test(sut, qsl, quick(Scenario::Offline, 200000));
  EXPECT_EQ(off.sample_count, 200000);
  EXPECT_TRUE(off.valid);
  EXPECT_GT(off.samples_per_s, 1e5);  // loose: shared CI machines; `wafer bench --sut null` reports the real figure
  TestSettings s = quick(Scenario::Server, 200);
  s.target_qps = 20000;
  TestResult srv = run_test(sut, qsl, s);
  EXPECT_EQ(srv.query_count, 200);
  EXPECT_TRUE(srv.issue_lag_measured);
  EXPECT_GE(srv.issue_lag.min, 0);
  EXPECT_EQ(qsl.loaded(), 0u);  // everything unloaded again
  TestSettings too_many = quick(Scenario::Offline, 10);
  too_many.performance_sample_count_override = 2048;  // more than the QSL holds
  EXPECT_FALSE(run_test(sut, qsl, too_many).valid);
}

TEST(HarnessReal, BackendSutAccuracyModeLogsEveryResponse) {
  auto g = relu_graph();
  ModelQsl qsl(*g, 10, 4, 42);
  ASSERT_TRUE(qsl.batchable());
  BackendSutOptions o;
  o.max_batch = 3;
  BackendSut sut(*g, qsl, o);
  TestSettings s = default_settings(Scenario::Offline, TestMode::AccuracyOnly);
  auto dir = std::filesystem::temp_directory_path() / "wafer_harness_test_logs";
  std::filesystem::remove_all(dir);
  TestResult r = run_test(sut, qsl, s, LogOptions{dir.string()});
  ASSERT_TRUE(r.valid) << (r.errors.empty() ? "" : r.errors[0]);
  ASSERT_EQ(r.accuracy_log.size(), 10u);  // every sample once, in sets of 4
  for (const auto& e : r.accuracy_log) {
    ASSERT_EQ(e.data.size(), 16u);
    qsl.load_samples({e.qsl_idx});
    const float* x = qsl.sample(e.qsl_idx)[0].data<float>();
    float y[4];
    std::memcpy(y, e.data.data(), 16);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(y[k], std::max(0.0f, x[k])) << e.qsl_idx;
  }
  auto acc = nlohmann::json::parse(read_file(dir / "mlperf_log_accuracy.json"));
  ASSERT_EQ(acc.size(), 10u);
  EXPECT_EQ(acc[0]["data"].get<std::string>().size(), 32u);
  EXPECT_TRUE(acc[0].contains("seq_id") && acc[0].contains("qsl_idx"));
  std::string summary = read_file(dir / "mlperf_log_summary.txt");
  EXPECT_NE(summary.find("SUT name : backend:reference"), std::string::npos);
  EXPECT_NE(summary.find("Mode     : AccuracyOnly"), std::string::npos);
  EXPECT_NE(summary.find("Result is : VALID"), std::string::npos);
  EXPECT_NE(read_file(dir / "mlperf_log_detail.txt").find(":::MLLOG {"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(HarnessReal, BackendSutSingleStreamAndErrors) {
  auto g = relu_graph();
  ModelQsl qsl(*g, 8, 8, 1);
  BackendSut sut(*g, qsl, BackendSutOptions{});
  TestResult r = run_test(sut, qsl, quick(Scenario::SingleStream, 64));
  EXPECT_EQ(r.query_count, 64);
  EXPECT_TRUE(r.valid);
  EXPECT_GT(r.latency.min, 0);
  std::string summary = format_summary(r);
  EXPECT_NE(summary.find("90th percentile latency (ns) : "), std::string::npos);
  EXPECT_NE(summary.find("Early stopping 90.00 percentile estimate"), std::string::npos);
  EXPECT_THROW(BackendSut(*g, qsl, BackendSutOptions{"no-such-backend"}), Error);
  // A model without a symbolic batch dim cannot batch.
  auto fixed = relu_graph();
  fixed->types["x"] = ValueType{DType::Float32, Shape({Dim(1), Dim(4)})};
  ModelQsl fq(*fixed, 4, 4, 1);
  BackendSutOptions batched;
  batched.max_batch = 2;
  EXPECT_THROW(BackendSut(*fixed, fq, batched), Error);
}
