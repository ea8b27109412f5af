// The MLPerf-style harness over a model on a backend (real clock), the simulated NPU as a
// virtual-time device, or a null or modelled device: what `wafer bench` and wafer.bench run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/precision.h"
#include "harness/results.h"

namespace wafer::api {

struct BenchOptions {
  // mode: performance, accuracy, or find-peak (Server: the highest arrival rate whose run is VALID, as
  // LoadGen's FindPeakPerformance mode).
  std::string model, target = "reference", sut = "model", scenario = "SingleStream", mode = "performance";
  std::vector<std::string> conf_files, shapes;  // --conf files apply in order (later ones win)
  std::string out_dir, service_us;
  Precision precision = Precision::automatic;
  std::optional<double> target_qps, target_latency_ms;
  std::optional<int64_t> min_queries, duration_ms, max_queries, samples_per_query, seed, performance_samples;
  int max_batch = 1, threads = 0, workers = 1;
  double batch_timeout_us = 0;
  int64_t qsl_size = 1024;
  // LLM benchmarks on the simulated NPU (MODEL a config .json, or a decoder with --dataset /
  // --prompt-len): the query data set, the serving policy, the token-latency bounds.
  std::string dataset;                         // "openorca": MLPerf Llama-2-70B lengths; "": fixed
  std::optional<int64_t> prompt_len, gen_len;  // fixed-length set
  std::string batching = "continuous";         // or "static"
  std::optional<double> ttft_latency_ms, tpot_latency_ms;
  std::string conf_model;         // model name for --conf lookups (default: the model file's stem)
  std::vector<std::string> sets;  // hardware FIELD=VALUE overrides
  int64_t layers = -1;            // config models: only the first N decoder layers
};

struct BenchRun {
  harness::TestResult result;
  double wall_s = 0;   // the harness's own run time (virtual-time runs take far less than they simulate)
  nlohmann::json llm;  // LLM runs: the step-cost grid, its simulation time, the serving statistics
  // --mode find-peak: each Server run of the search, in order ({target_qps, valid, percentile_latency_ms});
  // `result` is the run at the highest valid rate.
  nlohmann::json peak_search;
};

BenchRun run_bench(const BenchOptions& options);

// What `wafer bench --json` prints and wafer.bench returns: the result, with `llm` and `peak_search` where
// the run has them.
nlohmann::json bench_json(const BenchRun& run);

}  // namespace wafer::api
