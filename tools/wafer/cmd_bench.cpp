// wafer bench: MLPerf-style load generation (src/harness) against a model on a
// backend (real clock), a virtual-time device model, or the null SUT.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "frontend/onnx/importer.h"
#include "harness/backend_sut.h"
#include "harness/config_file.h"
#include "harness/device_sut.h"
#include "harness/loadgen.h"
#include "harness/logs.h"
#include "harness/model_qsl.h"
#include "harness/null_sut.h"
#include "model_options.h"
#include "npu/evaluate.h"
#include "npu/hardware.h"
#include "npu/target.h"

namespace wafer::cli {
namespace fs = std::filesystem;
using namespace wafer::harness;

namespace {
struct BenchOpts {
  std::string model, target = "reference", sut = "model", scenario = "SingleStream", mode = "performance";
  std::vector<std::string> conf_files, shapes;
  std::string out_dir, service_us;
  Precision precision = Precision::automatic;
  std::optional<double> target_qps, target_latency_ms;
  std::optional<int64_t> min_queries, duration_ms, max_queries, samples_per_query, seed, performance_samples;
  int max_batch = 1, threads = 0, workers = 1;
  double batch_timeout_us = 0;
  int64_t qsl_size = 1024;
  bool json = false;
};

// "a,b" in microseconds: service time a + b * batch.
std::function<double(int)> parse_service(const std::string& spec) {
  auto comma = spec.find(',');
  char* end = nullptr;
  double a = std::strtod(spec.c_str(), &end);
  double b = 0;
  bool ok = end != spec.c_str();
  if (ok && comma != std::string::npos) {
    const char* bs = spec.c_str() + comma + 1;
    b = std::strtod(bs, &end);
    ok = end != bs && *end == '\0';
  } else if (ok) {
    ok = *end == '\0';
  }
  check(ok && a >= 0 && b >= 0 && a + b > 0, "--service-us expects A[,B] (microseconds: A + B * batch), got '", spec,
        "'");
  return linear_service_time(a * 1e-6, b * 1e-6);
}

// The simulated NPU as a virtual-time device: the service time of a batch of b
// samples is the simulator's latency for the model compiled at batch b
// (compiled and simulated once per batch size, then cached).
std::unique_ptr<SystemUnderTest> make_npu_sut(const BenchOpts& o) {
  check(o.mode == "performance", "--target ", o.target,
        ": accuracy mode needs real outputs; check the NPU's numerics with `wafer check --backend ", o.target, "`");
  npu::NpuTarget target = npu::parse_npu_target(o.target.substr(4), o.precision);
  auto hw = std::make_shared<npu::HardwareDesc>(npu::load_hardware(target.hardware));
  auto model = std::make_shared<Model>(import_onnx_file(o.model));
  SymbolBindings symbols;
  apply_shape_options(*model->graph, o.shapes, symbols);
  npu::NpuCompileOptions options;
  options.symbols = symbols;
  options.precision = target.precision;
  auto cache = std::make_shared<std::map<int, double>>();
  auto service = [hw, model, options, cache](int batch) mutable {
    auto [it, fresh] = cache->try_emplace(batch, 0.0);
    if (fresh) {
      options.batch = batch;
      it->second = npu::evaluate_design(*npu::prepare_for_npu(*model->graph, options), *hw, options, false).latency_s;
    }
    return it->second;
  };
  service(1);  // compile errors surface before the run starts
  return std::make_unique<DeviceSut>(
      DeviceModel{"npu:" + hw->name, o.max_batch, int64_t(o.batch_timeout_us * 1e3), service});
}

int run_and_report(const BenchOpts& o, const TestSettings& s, SystemUnderTest& sut, QuerySampleLibrary& qsl) {
  LogOptions logs{o.out_dir};
  auto t0 = std::chrono::steady_clock::now();
  TestResult r = run_test(sut, qsl, s, logs);
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.json) {
    std::cout << r.to_json().dump(2) << "\n";
  } else {
    std::cout << format_summary(r);
    std::cout << "\n(harness wall time " << wall_s << " s";
    if (r.virtual_time) std::cout << " for " << double(r.duration_ns) / 1e9 << " s of virtual time";
    std::cout << ")\n";
    if (!o.out_dir.empty()) std::cout << "logs written to " << o.out_dir << "\n";
  }
  return 0;
}

int run_bench(const BenchOpts& o) {
  Scenario scenario = parse_scenario(o.scenario);
  TestSettings s = default_settings(scenario, parse_mode(o.mode));
  std::string model_key = o.model.empty() ? o.sut : fs::path(o.model).stem().string();
  for (const auto& f : o.conf_files) ConfigFile::load(f).apply(model_key, s);  // later files override earlier
  if (o.target_qps) s.target_qps = *o.target_qps;
  if (o.target_latency_ms) s.target_latency_ns = int64_t(*o.target_latency_ms * 1e6);
  if (o.min_queries) s.min_query_count = *o.min_queries;
  if (o.max_queries) s.max_query_count = *o.max_queries;
  if (o.duration_ms) s.min_duration_ms = *o.duration_ms;
  if (o.samples_per_query) s.samples_per_query = *o.samples_per_query;
  if (o.performance_samples) s.performance_sample_count_override = *o.performance_samples;
  if (o.seed) {
    s.qsl_rng_seed = uint64_t(*o.seed) * 3 + 1;
    s.sample_index_rng_seed = uint64_t(*o.seed) * 3 + 2;
    s.schedule_rng_seed = uint64_t(*o.seed) * 3 + 3;
  }
  check(o.qsl_size >= 1, "--qsl-size must be positive");

  std::unique_ptr<SystemUnderTest> sut;
  std::unique_ptr<QuerySampleLibrary> qsl;
  Model model;
  if (o.sut == "null" || o.sut == "device") {
    check(o.model.empty(), "--sut ", o.sut, " takes no model");
    qsl = std::make_unique<IndexQsl>(size_t(o.qsl_size), size_t(o.qsl_size));
    if (o.sut == "null") {
      sut = std::make_unique<NullSut>();
    } else {
      check(!o.service_us.empty(), "--sut device needs --service-us A[,B]");
      sut = std::make_unique<DeviceSut>(DeviceModel{"device(" + o.service_us + " us)", o.max_batch,
                                                    int64_t(o.batch_timeout_us * 1e3), parse_service(o.service_us)});
    }
  } else {
    check(o.sut == "model", "--sut must be model, null or device, got '", o.sut, "'");
    check(!o.model.empty(), "wafer bench needs a MODEL (or --sut null / --sut device)");
    if (o.target.rfind("npu:", 0) == 0) {
      sut = make_npu_sut(o);
      qsl = std::make_unique<IndexQsl>(size_t(o.qsl_size), size_t(o.qsl_size));
      return run_and_report(o, s, *sut, *qsl);
    }
    model = import_onnx_file(o.model);
    SymbolBindings symbols;
    apply_shape_options(*model.graph, o.shapes, symbols);
    auto mq = std::make_unique<ModelQsl>(*model.graph, size_t(o.qsl_size), size_t(o.qsl_size), s.qsl_rng_seed, symbols);
    BackendSutOptions bo;
    bo.backend = o.target;
    bo.workers = o.workers;
    bo.max_batch = o.max_batch;
    bo.batch_timeout_ns = int64_t(o.batch_timeout_us * 1e3);
    bo.compile.threads = o.threads;
    bo.compile.symbols = symbols;
    bo.compile.precision = o.precision;
    sut = std::make_unique<BackendSut>(*model.graph, *mq, bo);
    qsl = std::move(mq);
  }

  return run_and_report(o, s, *sut, *qsl);
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
  set_action(sub, [o]() { return run_bench(*o); });
}

}  // namespace wafer::cli
