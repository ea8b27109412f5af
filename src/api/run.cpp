#include "api/run.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "api/model_loading.h"
#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "frontend/inputs.h"
#include "passes/pass_manager.h"

namespace wafer::api {

namespace {
double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// In-memory inputs by name. numpy has no bfloat16: a float32 array for a bfloat16 input is rounded.
void merge_given(const Graph& graph, GivenInputs given, std::map<std::string, Tensor>& into) {
  check(given.in_order.size() <= graph.inputs.size(), given.in_order.size(), " inputs given but the model has ",
        graph.inputs.size());
  for (size_t i = 0; i < given.in_order.size(); ++i) {
    const std::string& name = graph.inputs[i];
    check(!given.by_name.count(name), "input '", name, "' is given both by position and by name");
    given.by_name[name] = std::move(given.in_order[i]);
  }
  for (auto& [name, tensor] : given.by_name) {
    auto type = graph.type_of(name);
    if (type && type->dtype == DType::BFloat16 && tensor.dtype() == DType::Float32)
      tensor = tensor.cast(DType::BFloat16);
    into[name] = std::move(tensor);
  }
}
}  // namespace

double RunResult::median_ms() const {
  if (times_ms.empty()) return 0;
  size_t n = times_ms.size();
  return n % 2 ? times_ms[n / 2] : (times_ms[n / 2 - 1] + times_ms[n / 2]) / 2;
}

double RunResult::min_ms() const {
  return times_ms.empty() ? 0 : times_ms.front();
}

RunResult run_model(const RunOptions& o, GivenInputs in_memory) {
  check(o.repeat >= 0 && o.warmup >= 0, "--repeat and --warmup must not be negative");
  check(o.threads >= 0, "--threads must not be negative");
  check(!o.profile || o.repeat > 0, "--profile averages over the timed runs: give --repeat N (and --warmup W)");
  RunResult r;
  auto t_load = std::chrono::steady_clock::now();
  r.model = import_onnx_file(o.model);
  Graph& graph = *r.model.graph;
  SymbolBindings symbols;
  std::map<std::string, Tensor> given;
  apply_shape_options(graph, o.shapes, symbols);
  if (!o.inputs_dir.empty()) load_inputs_dir(graph, o.inputs_dir, given);
  // --input after --inputs: an explicit file replaces the folder's one.
  load_input_files(o.input_files, given);
  merge_given(graph, std::move(in_memory), given);
  if (o.optimize) {
    OptimizeOptions opts;
    opts.symbols = symbols;
    optimize(graph, opts);
  }
  CompileOptions options;
  options.threads = o.threads;
  options.precision = o.precision;
  options.symbols = symbols;
  auto backend = make_backend(o.backend, &options);
  // The executable gets the weights for itself (our graph keeps only names and types), so
  // the cpu backend can free each plain weight once it is packed: one copy in memory.
  auto owned = graph.clone();
  graph.initializers.clear();
  auto exe = backend->compile_owned(std::move(owned), options);
  r.load_ms = ms_since(t_load);
  check(!o.profile || exe->can_profile(), "--profile: backend ", o.backend,
        " has no per-step profile (the cpu and reference backends have one)");
  r.backend_name = backend->name();

  auto inputs = make_inputs(graph, given, symbols, o.seed);
  int total = o.repeat > 0 ? o.repeat + o.warmup : 1;
  for (int i = 0; i < total; ++i) {
    if (o.profile && i == o.warmup) exe->set_profiling(true);  // warm-up runs are not profiled
    auto t = std::chrono::steady_clock::now();
    r.outputs = exe->run(inputs);
    if (o.repeat > 0 && i >= o.warmup) r.times_ms.push_back(ms_since(t));
  }
  if (o.profile) {
    r.profile = exe->profile();
    exe->set_profiling(false);
  }
  r.program = exe->program_summary();  // the program the last run used
  std::sort(r.times_ms.begin(), r.times_ms.end());
  return r;
}

nlohmann::json run_json(const RunOptions& o, const RunResult& r) {
  nlohmann::json j;
  j["model"] = o.model;
  j["backend"] = o.backend;
  j["load_ms"] = r.load_ms;
  // Peak resident memory of the whole process (model, compiled form, buffers): what `make bench` compares.
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) j["peak_rss_kb"] = usage.ru_maxrss;  // kB on Linux
  if (r.backend_name == "cpu") {
    // Which machine and instruction set (after WAFER_CPU_ISA) the times are from (bench/run's tables).
    j["cpu"] = cpu::cpu_model_name();
    j["cpu_isa"] = cpu::isa_name(cpu::cpu_isa());
  }
  if (r.program) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r.program->fingerprint));
    j["program"] = {{"steps", r.program->steps}, {"planned_bytes", r.program->planned_bytes}, {"fingerprint", hex}};
  }
  if (o.profile) j["profile"] = profile_json(r.profile);
  if (!r.times_ms.empty()) {
    j["median_ms"] = r.median_ms();
    j["min_ms"] = r.min_ms();
    j["runs"] = r.times_ms.size();
    j["times_ms"] = r.times_ms;  // sorted; lets a caller take the median over several processes
  }
  for (size_t i = 0; i < r.outputs.size(); ++i)
    j["outputs"].push_back({{"name", r.model.graph->outputs[i]},
                            {"dtype", dtype_name(r.outputs[i].dtype())},
                            {"shape", r.outputs[i].dims()}});
  return j;
}

nlohmann::json profile_json(const Profile& profile) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json j;
  j["runs"] = profile.runs;
  j["steps"] = nlohmann::json::array();
  double total = 0;
  for (const auto& r : profile_rows(profile)) {
    const StepProfile& s = *r.step;
    total += r.ms;
    j["steps"].push_back({{"label", s.label},
                          {"op", s.op},
                          {"library", s.library},
                          {"kernel", s.kernel},
                          {"isa", s.isa},
                          {"median_ms", r.ms},
                          {"mean_ms", r.mean_ms},
                          {"share", r.share},
                          {"flops", opt(s.flops)},
                          {"bytes", opt(s.bytes)},
                          {"compute_bound", s.compute},
                          {"gflops", opt(r.gflops)},
                          {"gbps", opt(r.gbps)}});
  }
  j["total_ms"] = total;
  return j;
}

}  // namespace wafer::api
