#include "api/bench.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include "api/llm_bench.h"
#include "api/model_loading.h"
#include "frontend/onnx/importer.h"
#include "harness/backend_sut.h"
#include "harness/config_file.h"
#include "harness/device_sut.h"
#include "harness/loadgen.h"
#include "harness/model_qsl.h"
#include "harness/null_sut.h"
#include "npu/evaluate.h"
#include "npu/hardware.h"
#include "npu/system.h"
#include "npu/target.h"

namespace wafer::api {
namespace fs = std::filesystem;
using namespace wafer::harness;

namespace {
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
// (compiled and simulated once per batch size, then cached). A system of chips
// (npu:dgx-h100) is that many such devices sharing the queue: one copy of the
// model per chip, as multi-accelerator MLPerf submissions run (data parallel).
std::unique_ptr<SystemUnderTest> make_npu_sut(const BenchOptions& o) {
  check(o.mode == "performance" || o.mode == "find-peak", "--target ", o.target,
        ": accuracy mode needs real outputs; check the NPU's numerics with `wafer check --backend ", o.target, "`");
  npu::NpuTarget target = npu::parse_npu_target(o.target.substr(4), o.precision);
  int devices = 1;
  std::string name;
  std::shared_ptr<npu::HardwareDesc> hw;
  if (npu::is_system(target.hardware)) {
    npu::SystemDesc sys = npu::load_system(target.hardware);
    devices = sys.count;
    hw = std::make_shared<npu::HardwareDesc>(sys.chip);
    name = "npu:" + sys.name + " (" + std::to_string(sys.count) + " x " + hw->name + ")";
  } else {
    hw = std::make_shared<npu::HardwareDesc>(npu::load_hardware(target.hardware));
    name = "npu:" + hw->name;
  }
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
      it->second = npu::evaluate_design(npu::prepare_batches(*model->graph, options), *hw, options, false).latency_s;
    }
    return it->second;
  };
  service(1);  // compile errors surface before the run starts
  return std::make_unique<DeviceSut>(DeviceModel{.name = name,
                                                 .max_batch = o.max_batch,
                                                 .batch_timeout_ns = int64_t(o.batch_timeout_us * 1e3),
                                                 .service_time = service,
                                                 .devices = devices});
}

// LoadGen's FindPeakPerformance mode for the Server scenario: Server runs on one system under test (whose
// compiled models and simulated service times are kept from run to run), the rate doubled from the start
// (--target-qps) while runs are VALID, or halved until one is, then bisected to 0.5 %. The result is the
// run at the highest VALID rate, run again with the logs when --out asks for them.
TestResult find_peak(const BenchOptions& o, TestSettings s, SystemUnderTest& sut, QuerySampleLibrary& qsl,
                     nlohmann::json& search) {
  check(s.scenario == Scenario::Server, "--mode find-peak searches the Server scenario's arrival rate; got --scenario ",
        scenario_name(s.scenario));
  check(s.target_qps > 0, "--mode find-peak needs a positive starting --target-qps");
  auto run_at = [&](double qps) {
    s.target_qps = qps;
    TestResult r = run_test(sut, qsl, s, LogOptions{});
    search.push_back(
        {{"target_qps", qps}, {"valid", r.valid}, {"percentile_latency_ms", r.percentile_latency_ns / 1e6}});
    return r;
  };
  constexpr int kMaxSteps = 40;  // 2^40 from the start either way: no rate is that far off
  double lo = s.target_qps, hi = lo;
  TestResult best = run_at(lo);
  for (int i = 0; best.valid && i < kMaxSteps; ++i) {  // find an invalid rate above
    hi = lo * 2;
    TestResult r = run_at(hi);
    if (!r.valid) break;
    lo = hi, best = std::move(r);
  }
  for (int i = 0; !best.valid && i < kMaxSteps; ++i) {  // or a valid one below
    hi = lo, lo /= 2;
    best = run_at(lo);
  }
  check(best.valid, "--mode find-peak: no VALID Server run down to ", lo, " queries/s");
  check(hi > lo, "--mode find-peak: still VALID at ", lo, " queries/s, 2^", kMaxSteps, " times the start");
  while (hi - lo > 0.005 * hi) {
    const double mid = (lo + hi) / 2;
    TestResult r = run_at(mid);
    if (r.valid)
      lo = mid, best = std::move(r);
    else
      hi = mid;
  }
  if (!o.out_dir.empty()) {
    s.target_qps = lo;
    best = run_test(sut, qsl, s, LogOptions{o.out_dir});
  }
  return best;
}

BenchRun run_and_time(const BenchOptions& o, const TestSettings& s, SystemUnderTest& sut, QuerySampleLibrary& qsl) {
  auto t0 = std::chrono::steady_clock::now();
  BenchRun run;
  if (o.mode == "find-peak") {
    run.peak_search = nlohmann::json::array();
    run.result = find_peak(o, s, sut, qsl, run.peak_search);
  } else {
    run.result = run_test(sut, qsl, s, LogOptions{o.out_dir});
  }
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}
}  // namespace

nlohmann::json bench_json(const BenchRun& run) {
  nlohmann::json j = run.result.to_json();
  if (!run.llm.is_null()) j["llm"] = run.llm;
  if (!run.peak_search.is_null()) j["peak_search"] = run.peak_search;
  return j;
}

BenchRun run_bench(const BenchOptions& o) {
  Scenario scenario = parse_scenario(o.scenario);
  TestSettings s = default_settings(scenario, parse_mode(o.mode == "find-peak" ? "performance" : o.mode));
  std::string model_key = !o.conf_model.empty() ? o.conf_model
                          : o.model.empty()     ? o.sut
                                                : fs::path(o.model).stem().string();
  for (const auto& f : o.conf_files) ConfigFile::load(f).apply(model_key, s);  // later files override earlier
  if (o.target_qps) s.target_qps = *o.target_qps;
  if (o.target_latency_ms) s.target_latency_ns = int64_t(*o.target_latency_ms * 1e6);
  if (o.min_queries) s.min_query_count = *o.min_queries;
  if (o.max_queries) s.max_query_count = *o.max_queries;
  if (o.duration_ms) s.min_duration_ms = *o.duration_ms;
  if (o.samples_per_query) s.samples_per_query = *o.samples_per_query;
  if (o.performance_samples) s.performance_sample_count_override = *o.performance_samples;
  if (o.ttft_latency_ms) s.ttft_latency_ns = int64_t(*o.ttft_latency_ms * 1e6);
  if (o.tpot_latency_ms) s.tpot_latency_ns = int64_t(*o.tpot_latency_ms * 1e6);
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
    if (is_llm_bench(o)) {
      check(o.mode != "find-peak", "--mode find-peak: not for LLM benchmarks (their Server bounds are TTFT and TPOT)");
      return run_llm_bench(o, s);
    }
    if (o.target.rfind("npu:", 0) == 0) {
      sut = make_npu_sut(o);
      qsl = std::make_unique<IndexQsl>(size_t(o.qsl_size), size_t(o.qsl_size));
      return run_and_time(o, s, *sut, *qsl);
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

  return run_and_time(o, s, *sut, *qsl);
}
}  // namespace wafer::api
