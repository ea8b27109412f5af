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
    std::cout << r.to_json().dump(2) << "\n";
  } else {
    std::cout << harness::format_summary(r);
    std::cout << "\n(harness wall time " << run.wall_s << " s";
    if (r.virtual_time) std::cout << " for " << double(r.duration_ns) / 1e9 << " s of virtual time";
    std::cout << ")\n";
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
  sub->add_option("--mode", o->mode, "performance or accuracy")->capture_default_str();
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
  sub->add_flag("--json", o->json, "Print the results object as JSON");
  set_action(sub, [o]() { return run_and_report(*o); });
}

}  // namespace wafer::cli
