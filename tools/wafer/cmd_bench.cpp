// wafer bench: MLPerf-style load generation (src/harness) against a model on a
// backend (real clock), a virtual-time device model, or the null SUT. The run is
// api::run_bench; this file prints its summary or JSON.
#include <iostream>

#include "api/bench.h"
#include "commands.h"
#include "harness/logs.h"
#include "model_options.h"

namespace wafer::cli {

namespace {
struct BenchOpts : api::BenchOptions {
  bool json = false;
};

int run_and_report(const BenchOpts& o) {
  api::BenchRun run = api::run_bench(o);
  const harness::TestResult& r = run.result;
  if (o.json) {
    std::cout << api::bench_json(run).dump(2) << "\n";
  } else {
    std::cout << harness::format_summary(r);
    std::cout << "\n(harness wall time " << run.wall_s << " s";
    if (r.virtual_time) std::cout << " for " << double(r.duration_ns) / 1e9 << " s of virtual time";
    std::cout << ")\n";
    if (!run.peak_search.is_null())
      std::cout << "find-peak: " << run.peak_search.size() << " Server runs; the highest VALID rate is the run above ("
                << r.settings.target_qps << " queries/s)\n";
    if (!run.llm.is_null())
      std::cout << "LLM serving: " << run.llm["dataset"].get<std::string>() << ", "
                << run.llm["batching"].get<std::string>() << " batching, " << run.llm["iterations"]
                << " iterations, mean running batch " << run.llm["mean_running_batch"] << ", KV capacity "
                << run.llm["kv_capacity_tokens"] << " tokens; step-cost grid simulated in "
                << run.llm["grid_simulation_s"] << " s, scheduling took " << run.llm["scheduling_s"] << " s\n";
    if (!o.out_dir.empty()) std::cout << "logs written to " << o.out_dir << "\n";
  }
  return 0;
}
}  // namespace

void add_bench_command(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "MLPerf-style benchmark: scenarios, latency/throughput, validity, logs");
  auto o = std::make_shared<BenchOpts>();
  sub->add_option("model", o->model, "ONNX model file (not with --sut null/device)");
  sub->add_option("--target", o->target, "Backend for the model: reference, cpu, npu:PRESET")->capture_default_str();
  sub->add_option("--sut", o->sut, "model (default), null (completes at once), device (virtual-time model)")
      ->capture_default_str();
  sub->add_option("--scenario", o->scenario, "SingleStream, MultiStream, Server or Offline")->capture_default_str();
  sub->add_option("--mode", o->mode,
                  "performance, accuracy, or find-peak (Server: the highest VALID arrival rate, searched from "
                  "--target-qps as LoadGen's FindPeakPerformance)")
      ->capture_default_str();
  sub->add_option("--target-qps", o->target_qps, "Server arrival rate / Offline expected samples per second");
  sub->add_option("--target-latency-ms", o->target_latency_ms, "Server latency bound (ms)");
  sub->add_option("--min-queries", o->min_queries, "Minimum query count (Offline: samples)");
  sub->add_option("--max-queries", o->max_queries, "Maximum query count (0: none)");
  sub->add_option("--duration-ms", o->duration_ms, "Minimum duration (ms); MLPerf's is 600000");
  sub->add_option("--samples-per-query", o->samples_per_query, "Samples per query (MultiStream: 8)");
  sub->add_option("--max-batch", o->max_batch, "Largest batch the SUT forms")->capture_default_str();
  add_precision_option(sub, o->precision);
  sub->add_option("--batch-timeout-us", o->batch_timeout_us, "How long a partial batch waits to fill (us)")
      ->capture_default_str();
  sub->add_option("--workers", o->workers, "Model SUT: concurrent worker threads")->capture_default_str();
  sub->add_option("--threads", o->threads, "Backend threads per run (0 = all cores)")->capture_default_str();
  sub->add_option("--service-us", o->service_us, "Device SUT: service time A[,B] us = A + B * batch");
  sub->add_option("--qsl-size", o->qsl_size, "Samples in the QSL (all of them loaded)")->capture_default_str();
  sub->add_option("--performance-samples", o->performance_samples, "Override the performance sample count");
  sub->add_option("--seed", o->seed, "Seed for sample choice, schedule and QSL contents");
  sub->add_option("--shape", o->shapes, "NAME=d0,d1,... or SYMBOL=value for the model's other symbolic dims");
  sub->add_option("--conf", o->conf_files, "mlperf.conf / user.conf style file (repeatable; later ones win)");
  sub->add_option("--out", o->out_dir, "Write mlperf_log_summary.txt, mlperf_log_detail.txt (+ accuracy) here");
  sub->add_option("--dataset", o->dataset,
                  "LLM: openorca (MLPerf Llama-2-70B lengths) or fixed (--prompt-len/--gen-len)");
  sub->add_option("--prompt-len", o->prompt_len, "LLM: prompt tokens of every request (fixed-length set)");
  sub->add_option("--gen-len", o->gen_len, "LLM: output tokens of every request (fixed-length set)");
  sub->add_option("--batching", o->batching, "LLM on npu: continuous (iteration-level) or static")
      ->capture_default_str();
  sub->add_option("--ttft-latency-ms", o->ttft_latency_ms, "LLM Server bound on the time to first token (ms)");
  sub->add_option("--tpot-latency-ms", o->tpot_latency_ms, "LLM Server bound on the time per output token (ms)");
  sub->add_option("--conf-model", o->conf_model, "Model name for --conf lookups (default: the model file's stem)");
  sub->add_option("--set", o->sets, "LLM on npu: hardware FIELD=VALUE override (repeatable)");
  sub->add_option("--layers", o->layers, "LLM config models: simulate only the first N decoder layers");
  sub->add_flag("--json", o->json, "Print the results object as JSON");
  set_action(sub, [o]() { return run_and_report(*o); });
}

}  // namespace wafer::cli
