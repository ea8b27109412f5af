// The harness's MLPerf LLM scenarios: token metrics (TTFT, TPOT, tokens/s) on hand-built schedules,
// continuous against static batching, VALID/INVALID against the ttft/tpot bounds, the conf lines,
// the OpenOrca-like data set against the published figures, and the step-cost interpolation
// against direct simulation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/generate_sut.h"
#include "api/llm_sim.h"
#include "core/error.h"
#include "harness/config_file.h"
#include "harness/llm_dataset.h"
#include "harness/llm_device_sut.h"
#include "harness/llm_step_costs.h"
#include "harness/loadgen.h"

using namespace wafer;
using namespace wafer::harness;
using ::testing::HasSubstr;

namespace {

TestSettings quick(Scenario s, int64_t min_queries) {
  TestSettings t = default_settings(s);
  t.min_query_count = min_queries;
  t.min_duration_ms = 0;
  return t;
}

// A device whose steps cost known constants: prefill `p` s per request, decode `d0 + d1 * batch` s.
LlmDeviceModel known_device(int64_t max_batch, double p, double d0, double d1,
                            LlmBatching batching = LlmBatching::continuous) {
  LlmDeviceModel m;
  m.name = "known";
  m.max_batch = max_batch;
  m.batching = batching;
  m.costs.set_prefill({1}, {p});
  m.costs.set_decode({1, 2}, {1}, {d0 + d1, d0 + 2 * d1});
  return m;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(LlmHarness, OneAtATimeTtftIsQueueWaitPlusPrefillAndTpotIsTheDecodeStep) {
  // Max batch 1, three requests of 5 output tokens, prefill 0.1 s, decode 0.01 s. By hand:
  // request k (0-based) starts at 0.14 k, first token at 0.14 k + 0.1, done at 0.14 (k + 1).
  // TTFT = 0.10, 0.24, 0.38 (mean 0.24); TPOT = 4 x 0.01 / 4 = 0.01; tokens/s = 15 / 0.42.
  LlmDataset data = fixed_length_dataset(3, 10, 5);
  LlmDeviceSut sut(known_device(1, 0.1, 0.01, 0.0), data);
  LlmQsl qsl(data);
  auto dir = std::filesystem::path(::testing::TempDir()) / "wafer_llm_logs";
  TestResult r = run_test(sut, qsl, quick(Scenario::Offline, 3), LogOptions{dir.string()});
  ASSERT_TRUE(r.token_metrics);
  EXPECT_TRUE(r.valid);
  EXPECT_EQ(r.token_count, 15);
  EXPECT_EQ(r.duration_ns, 420'000'000);
  EXPECT_NEAR(r.tokens_per_s, 15 / 0.42, 1e-6);
  EXPECT_EQ(r.ttft.min, 100'000'000);
  EXPECT_EQ(r.ttft.max, 380'000'000);
  EXPECT_NEAR(r.ttft.mean, 240'000'000, 1);
  EXPECT_EQ(r.tpot.min, 10'000'000);
  EXPECT_EQ(r.tpot.max, 10'000'000);
  EXPECT_EQ(r.headline_name(), "Tokens per second");
  EXPECT_NEAR(r.headline_value(), 15 / 0.42, 1e-6);
  auto j = r.to_json();
  EXPECT_NEAR(j["ttft_p99_s"].get<double>(), 0.38, 1e-12);
  EXPECT_NEAR(j["tpot_p99_s"].get<double>(), 0.01, 1e-12);
  EXPECT_NEAR(j["tokens_per_s"].get<double>(), 15 / 0.42, 1e-6);
  // The logs carry the token metrics.
  std::string summary = read_file(dir / "mlperf_log_summary.txt");
  EXPECT_THAT(summary, HasSubstr("Tokens per second : 35.71"));
  EXPECT_THAT(summary, HasSubstr("Max first token latency (ns)    : 380000000"));
  std::string detail = read_file(dir / "mlperf_log_detail.txt");
  EXPECT_THAT(detail, HasSubstr("\"key\":\"sample_tokens\""));
  EXPECT_THAT(detail, HasSubstr("\"ttft_ns\":240000000"));
  EXPECT_THAT(detail, HasSubstr("result_first_token_99.00_percentile_latency_ns"));
}

TEST(LlmHarness, AJointPrefillDelaysEveryFirstTokenAndTheDecodeStepCostsTheBatch) {
  // Max batch 2, two requests: one iteration prefills both (2 x 0.1 s), then 4 decode steps of
  // batch 2 at 0.01 + 2 x 0.005 = 0.02 s. TTFT = 0.2 for both, TPOT = 0.02, done at 0.28.
  LlmDataset data = fixed_length_dataset(2, 10, 5);
  LlmDeviceSut sut(known_device(2, 0.1, 0.01, 0.005), data);
  LlmQsl qsl(data);
  TestResult r = run_test(sut, qsl, quick(Scenario::Offline, 2));
  EXPECT_EQ(r.ttft.min, 200'000'000);
  EXPECT_EQ(r.ttft.max, 200'000'000);
  EXPECT_EQ(r.tpot.min, 20'000'000);
  EXPECT_EQ(r.tpot.max, 20'000'000);
  EXPECT_EQ(r.duration_ns, 280'000'000);
  EXPECT_EQ(sut.iterations(), 5);
}

TEST(LlmHarness, ContinuousBatchingBeatsStaticOnMixedLengths) {
  // Half the requests want 2 tokens, half 64: a static batch holds its slots until its longest
  // sequence ends; continuous batching refills freed slots every step.
  LlmDataset data;
  data.name = "mixed";
  for (int i = 0; i < 256; ++i) data.requests.push_back({16, i % 2 ? 64 : 2});
  LlmQsl qsl(data);
  double tps[2];
  for (auto b : {LlmBatching::continuous, LlmBatching::static_batches}) {
    LlmDeviceModel m = known_device(8, 0.002, 0.01, 0.0005, b);
    m.costs.set_decode({1, 8}, {1}, {0.0105, 0.014});
    LlmDeviceSut sut(m, data);
    TestResult r = run_test(sut, qsl, quick(Scenario::Offline, 256));
    ASSERT_TRUE(r.valid) << llm_batching_name(b);
    tps[b == LlmBatching::continuous ? 0 : 1] = r.tokens_per_s;
  }
  // Static: each batch of 8 draws (with replacement) is almost surely led by a 64-token request, so
  // it runs ~64 steps for ~8 x 33 tokens; continuous keeps ~8 running: about 2x the tokens per step.
  EXPECT_GT(tps[0], 1.5 * tps[1]) << "continuous " << tps[0] << " static " << tps[1];
}

TEST(LlmHarness, KvCapacityLimitsTheRunningBatch) {
  // KV for 2 requests of 10 + 5 tokens: a max batch of 8 still runs them two at a time.
  LlmDataset data = fixed_length_dataset(4, 10, 5);
  LlmDeviceModel m = known_device(8, 0.1, 0.01, 0.0);
  m.kv_capacity_tokens = 30;
  LlmDeviceSut sut(m, data);
  LlmQsl qsl(data);
  TestResult r = run_test(sut, qsl, quick(Scenario::Offline, 4));
  EXPECT_EQ(sut.peak_kv_tokens(), 30);
  EXPECT_EQ(r.duration_ns, 2 * 240'000'000);  // two rounds of (2 x 0.1 prefill + 4 x 0.01)
  // A request larger than the whole cache is an error, not a hang.
  LlmDataset big = fixed_length_dataset(1, 40, 5);
  LlmDeviceSut sut2(m, big);
  LlmQsl qsl2(big);
  TestResult r2 = run_test(sut2, qsl2, quick(Scenario::Offline, 1));
  EXPECT_FALSE(r2.valid);
  ASSERT_FALSE(r2.errors.empty());
  EXPECT_THAT(r2.errors.front(), HasSubstr("needs more KV cache than the device holds (30 tokens)"));
}

TEST(LlmHarness, ServerValidityIsTheTtftAndTpotBounds) {
  // Arrivals at 1 per 1000 s against requests served in 0.14 s: rarely an overlap, so TTFT =
  // 0.1 s, TPOT = 0.01 s for all but a few queries. (An arrival during a running request has its
  // prefill share that request's iterations, raising the running one's TPOT.) 1000 queries: early
  // stopping tolerates a few over the bound (1 needs 662 queries).
  LlmDataset data = fixed_length_dataset(16, 10, 5);
  LlmQsl qsl(data);
  auto run = [&](double ttft_ms, double tpot_ms) {
    TestSettings s = quick(Scenario::Server, 1000);
    s.target_qps = 0.001;
    s.target_latency_ns = 0;
    s.ttft_latency_ns = int64_t(ttft_ms * 1e6);
    s.tpot_latency_ns = int64_t(tpot_ms * 1e6);
    LlmDeviceSut sut(known_device(4, 0.1, 0.01, 0.0), data);
    return run_test(sut, qsl, s);
  };
  TestResult ok = run(150, 20);
  EXPECT_TRUE(ok.valid) << ok.to_json()["checks"].dump();
  EXPECT_EQ(ok.ttft_percentile_ns, 100'000'000);
  EXPECT_EQ(ok.tpot_percentile_ns, 10'000'000);
  EXPECT_EQ(ok.headline_name(), "Completed tokens per second");
  TestResult slow_first = run(50, 20);
  EXPECT_FALSE(slow_first.valid);
  bool named = false;
  for (const auto& c : slow_first.checks)
    if (c.name == "Performance constraints satisfied") {
      EXPECT_FALSE(c.ok);
      EXPECT_THAT(c.detail, HasSubstr("99th percentile TTFT 100000000 ns, bound 50000000 ns"));
      named = true;
    }
  EXPECT_TRUE(named);
  EXPECT_EQ(slow_first.ttft_overlatency_count, 1000);
  TestResult slow_tokens = run(150, 5);
  EXPECT_FALSE(slow_tokens.valid);
  EXPECT_EQ(slow_tokens.tpot_overlatency_count, 1000);
  EXPECT_LE(ok.tpot_overlatency_count, 2);
}

TEST(LlmHarness, MlperfConfLinesSetTheTokenBounds) {
  // The shipped lines (from mlcommons/inference loadgen/mlperf.conf): Llama-2-70B Server
  // TTFT 2000 ms / TPOT 200 ms, the Interactive variant 450 ms / 40 ms, at the 99th percentile.
  ConfigFile cf = ConfigFile::load(std::string(WAFER_SOURCE_DIR) + "/src/harness/conf/mlperf_llm.conf");
  TestSettings s = default_settings(Scenario::Server);
  cf.apply("llama2-70b", s);
  EXPECT_TRUE(s.use_token_latencies);
  EXPECT_EQ(s.ttft_latency_ns, 2'000'000'000);
  EXPECT_EQ(s.tpot_latency_ns, 200'000'000);
  EXPECT_EQ(s.target_latency_ns, 0);
  EXPECT_DOUBLE_EQ(s.target_latency_percentile, 0.99);
  TestSettings i = default_settings(Scenario::Server);
  cf.apply("llama2-70b-interactive", i);
  EXPECT_EQ(i.ttft_latency_ns, 450'000'000);
  EXPECT_EQ(i.tpot_latency_ns, 40'000'000);
  TestSettings off = default_settings(Scenario::Offline);
  cf.apply("llama2-70b", off);
  EXPECT_EQ(off.min_query_count, 24576);
  EXPECT_EQ(off.ttft_latency_ns, 0);  // Server-only keys
  // A bad value names the file and the key.
  ConfigFile bad = ConfigFile::parse("llama2-70b.Server.ttft_latency = soon\n", "user.conf");
  TestSettings b = default_settings(Scenario::Server);
  try {
    bad.apply("llama2-70b", b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("user.conf: ttft_latency"));
  }
}

TEST(LlmHarness, OpenOrcaLikeSetMatchesThePublishedFigures) {
  // Published (llm_dataset.cpp): 24,576 samples, prompts <= 1,024 tokens, outputs <= 1,024 tokens
  // with a mean of 294.45 (the reference's "Tokens per sample").
  LlmDataset d = openorca_like_dataset(42);
  ASSERT_EQ(d.requests.size(), 24576u);
  double out_sum = 0, in_sum = 0;
  for (const auto& r : d.requests) {
    ASSERT_GE(r.prompt_tokens, 1);
    ASSERT_GE(r.output_tokens, 1);
    out_sum += double(r.output_tokens);
    in_sum += double(r.prompt_tokens);
  }
  EXPECT_LE(d.max_prompt(), 1024);
  EXPECT_LE(d.max_output(), 1024);
  // Sampling error of the mean of 24,576 draws (sd ~ 230) is ~1.5 tokens: 2 % is > 4 sigma.
  EXPECT_NEAR(out_sum / double(d.requests.size()), 294.45, 0.02 * 294.45);
  EXPECT_GT(in_sum / double(d.requests.size()), 300);  // assumed distribution: mean ~620
  EXPECT_EQ(d.max_prompt(), 1024);                     // the clip is reached
  // Seeded: the same seed gives the same set, another seed another.
  LlmDataset again = openorca_like_dataset(42), other = openorca_like_dataset(43);
  EXPECT_EQ(again.requests[123].output_tokens, d.requests[123].output_tokens);
  int same = 0;
  for (size_t i = 0; i < 100; ++i) same += other.requests[i].output_tokens == d.requests[i].output_tokens;
  EXPECT_LT(same, 20);
}

TEST(LlmHarness, StepCostTableInterpolates) {
  // On a function linear in each axis, bilinear interpolation is exact (also outside the grid).
  StepCostTable t;
  auto f = [](int64_t b, int64_t c) { return 0.001 + 0.0002 * double(b) + 1e-6 * double(c) * double(b); };
  t.measure(
      {1, 16, 256}, [](int64_t n) { return 0.01 + 0.001 * double(n); }, {1, 4, 16}, {1, 512, 2048}, f);
  EXPECT_NEAR(t.prefill_s(100), 0.11, 1e-12);
  EXPECT_NEAR(t.prefill_s(512), 0.522, 1e-12);  // extended past the last point
  EXPECT_NEAR(t.decode_s(4, 1000), f(4, 1000), 1e-12);
  EXPECT_NEAR(t.decode_s(2, 512), f(2, 512), 1e-12);
  EXPECT_NEAR(t.decode_s(16, 2048), f(16, 2048), 1e-12);
  EXPECT_EQ(power_of_two_grid(100), (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 100}));
  EXPECT_THROW(t.set_prefill({4, 2}, {1, 2}), Error);
}

constexpr const char* kTinyLlama = R"({"model_type": "llama", "hidden_size": 128, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
  "max_position_embeddings": 4096, "rms_norm_eps": 1e-5})";

TEST(LlmHarness, InterpolatedStepCostsMatchDirectSimulation) {
  std::string path = ::testing::TempDir() + "/wafer_tiny_llama_harness_" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << kTinyLlama;
  api::LlmSimOptions o;
  o.model = path;
  o.hw.preset_or_path = "h100";
  api::LlmStepSimulator sim(o);
  StepCostTable t;
  t.measure(
      power_of_two_grid(512), [&](int64_t n) { return sim.prefill_s(1, n); }, power_of_two_grid(16), {1, 256, 512},
      [&](int64_t b, int64_t c) { return sim.decode_s(b, c); });
  // Off-grid points against direct simulation: within 10 % (measured: see the printout).
  for (int64_t n : {3, 24, 100, 300}) {
    double direct = sim.prefill_s(1, n), interp = t.prefill_s(double(n));
    EXPECT_NEAR(interp, direct, 0.10 * direct) << "prefill " << n;
    std::printf("prefill %lld tokens: direct %.4g s, interpolated %.4g s (%.2f %%)\n", (long long)n, direct, interp,
                100 * (interp / direct - 1));
  }
  for (auto [b, c] : {std::pair<int64_t, int64_t>{3, 100}, {6, 300}, {12, 400}, {16, 77}}) {
    double direct = sim.decode_s(b, c), interp = t.decode_s(double(b), double(c));
    EXPECT_NEAR(interp, direct, 0.10 * direct) << "decode batch " << b << " context " << c;
    std::printf("decode batch %lld context %lld: direct %.4g s, interpolated %.4g s (%.2f %%)\n", (long long)b,
                (long long)c, direct, interp, 100 * (interp / direct - 1));
  }
}

TEST(LlmHarness, RealGenerationOnCpuReportsTokenMetrics) {
  // The micro Llama export, 4 requests of 8 prompt tokens and 4 output tokens, Offline on the real
  // clock: every sample has 4 tokens, its first token before its completion, and tokens/s is the
  // 16 tokens over the run's duration.
  api::GenerateOptions go;
  go.model = std::string(WAFER_TEST_DATA_DIR) + "/decoders/llama_micro/model.onnx";
  go.backend = "cpu";
  go.threads = 1;
  LlmDataset data = fixed_length_dataset(4, 8, 4);
  api::GenerateSut sut(go, data);
  LlmQsl qsl(data);
  TestResult r = run_test(sut, qsl, quick(Scenario::Offline, 4));
  EXPECT_TRUE(r.valid) << r.to_json()["checks"].dump();
  ASSERT_TRUE(r.token_metrics);
  EXPECT_EQ(r.token_count, 16);
  EXPECT_NEAR(r.tokens_per_s, 16 / (double(r.duration_ns) / 1e9), 1e-6 * r.tokens_per_s);
  EXPECT_GT(r.ttft.min, 0);
  EXPECT_GT(r.tpot.min, 0);
  EXPECT_EQ(r.tpot.count, 4);
  EXPECT_LT(r.ttft.max, r.latency.max);  // the last sample's first token precedes its completion
}

}  // namespace
