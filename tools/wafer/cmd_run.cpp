// wafer run MODEL: runs a model on a backend with given or seeded inputs,
// writes outputs, and optionally times repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include <sys/resource.h>

#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "commands.h"
#include "frontend/inputs.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "model_options.h"
#include "passes/pass_manager.h"
#include "profile_report.h"

namespace wafer::cli {
namespace fs = std::filesystem;

namespace {
double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

void add_run_command(CLI::App& app) {
  auto* sub = app.add_subcommand("run", "Run a model on a backend");
  struct Opts {
    std::string model, backend = "reference", inputs_dir, out_dir, profile_json;
    Precision precision = Precision::automatic;
    std::vector<std::string> input_files, shapes;
    int repeat = 0, warmup = 1, threads = 0, profile_top = 25;
    uint64_t seed = 0;
    bool json = false, optimize = false, profile = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX model file")->required();
  sub->add_option("--backend", o->backend, "Backend: reference, cpu, npu:PRESET")->capture_default_str();
  sub->add_option("--inputs", o->inputs_dir, "Folder of input tensors (.pb or .npy), matched by name");
  sub->add_option("--input", o->input_files,
                  "NAME=FILE: one input from a .pb or .npy file (repeatable; overrides --inputs)");
  sub->add_option("--shape", o->shapes, "NAME=d0,d1,... fixes an input's shape, or SYMBOL=value binds a dim");
  sub->add_option("--out", o->out_dir, "Write output_0.pb, output_1.pb, ... in graph-output order here");
  sub->add_option("--repeat", o->repeat, "Time this many runs and report median and min latency");
  sub->add_option("--warmup", o->warmup, "Untimed runs before timing")->capture_default_str();
  sub->add_option("--threads", o->threads, "Threads (0 = all cores)")->capture_default_str();
  add_precision_option(sub, o->precision);
  sub->add_option("--seed", o->seed, "Seed for generated inputs")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object with timings and outputs");
  sub->add_flag("--optimize", o->optimize, "Run the standard optimization pipeline (with --shape bindings) first");
  sub->add_flag("--profile", o->profile,
                "Time every step over the --repeat runs: a table of the slowest with their kernels, shares and "
                "GFLOP/s or GB/s (cpu and reference backends)");
  sub->add_option("--profile-json", o->profile_json, "Write every profiled step as JSON to this file");
  sub->add_option("--profile-top", o->profile_top, "Rows of the --profile table (0 = every step)")
      ->capture_default_str();
  set_action(sub, [o]() {
    check(o->repeat >= 0 && o->warmup >= 0, "--repeat and --warmup must not be negative");
    check(o->threads >= 0, "--threads must not be negative");
    const bool profiling = o->profile || !o->profile_json.empty();
    check(!profiling || o->repeat > 0, "--profile averages over the timed runs: give --repeat N (and --warmup W)");
    check(o->profile_top >= 0, "--profile-top must not be negative");
    auto t_load = std::chrono::steady_clock::now();
    Model model = import_onnx_file(o->model);
    SymbolBindings symbols;
    std::map<std::string, Tensor> given;
    apply_shape_options(*model.graph, o->shapes, symbols);
    if (!o->inputs_dir.empty()) load_inputs_dir(*model.graph, o->inputs_dir, given);
    // --input after --inputs: an explicit file replaces the folder's one.
    std::set<std::string> explicit_inputs;
    for (const auto& spec : o->input_files) {
      auto eq = spec.find('=');
      check(eq != std::string::npos && eq > 0, "--input expects NAME=FILE, got '", spec, "'");
      std::string name = spec.substr(0, eq);
      check(explicit_inputs.insert(name).second, "--input: input '", name, "' is given twice");
      given[name] = read_tensor_file(spec.substr(eq + 1)).second;
    }
    if (o->optimize) {
      OptimizeOptions opts;
      opts.symbols = symbols;
      optimize(*model.graph, opts);
    }
    CompileOptions options;
    options.threads = o->threads;
    options.precision = o->precision;
    options.symbols = symbols;
    auto backend = make_backend(o->backend, &options);
    // The executable gets the weights for itself (our graph keeps only names and types), so
    // the cpu backend can free each plain weight once it is packed: one copy in memory.
    auto owned = model.graph->clone();
    model.graph->initializers.clear();
    auto exe = backend->compile_owned(std::move(owned), options);
    double load_ms = ms_since(t_load);
    check(!profiling || exe->can_profile(), "--profile: backend ", o->backend,
          " has no per-step profile (the cpu and reference backends have one)");

    auto inputs = make_inputs(*model.graph, given, symbols, o->seed);
    std::vector<double> times;
    std::vector<Tensor> outputs;
    int total = o->repeat > 0 ? o->repeat + o->warmup : 1;
    for (int i = 0; i < total; ++i) {
      if (profiling && i == o->warmup) exe->set_profiling(true);  // warm-up runs are not profiled
      auto t = std::chrono::steady_clock::now();
      outputs = exe->run(inputs);
      if (o->repeat > 0 && i >= o->warmup) times.push_back(ms_since(t));
    }
    Profile profile;
    if (profiling) {
      profile = exe->profile();
      exe->set_profiling(false);
    }
    if (!o->profile_json.empty()) {
      nlohmann::json pj = profile_json(profile);
      pj["model"] = o->model;
      pj["backend"] = o->backend;
      std::ofstream f(o->profile_json);
      check(bool(f), "--profile-json ", o->profile_json, ": cannot open for writing");
      f << pj.dump(1) << "\n";
      check(bool(f), "--profile-json ", o->profile_json, ": write failed");
    }
    if (!o->out_dir.empty()) {
      std::error_code ec;
      fs::create_directories(o->out_dir, ec);
      check(!ec && fs::is_directory(o->out_dir), "--out ", o->out_dir, ": cannot create folder",
            ec ? ": " + ec.message() : std::string());
      for (size_t i = 0; i < outputs.size(); ++i)
        write_tensor_pb((fs::path(o->out_dir) / ("output_" + std::to_string(i) + ".pb")).string(), outputs[i],
                        model.graph->outputs[i]);
    }
    std::sort(times.begin(), times.end());
    double median = times.empty() ? 0 : times[times.size() / 2];
    if (times.size() % 2 == 0 && !times.empty()) median = (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
    double min = times.empty() ? 0 : times.front();
    if (o->json) {
      nlohmann::json j;
      j["model"] = o->model;
      j["backend"] = o->backend;
      j["load_ms"] = load_ms;
      // Peak resident memory of the whole process (model, compiled form, buffers): what `make bench` compares.
      rusage usage{};
      if (getrusage(RUSAGE_SELF, &usage) == 0) j["peak_rss_kb"] = usage.ru_maxrss;  // kB on Linux
      if (backend->name() == "cpu") {
        // Which machine and instruction set (after WAFER_CPU_ISA) the times are from (bench/run's tables).
        j["cpu"] = cpu::cpu_model_name();
        j["cpu_isa"] = cpu::isa_name(cpu::cpu_isa());
      }
      if (auto summary = exe->program_summary()) {
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(summary->fingerprint));
        j["program"] = {{"steps", summary->steps}, {"planned_bytes", summary->planned_bytes}, {"fingerprint", hex}};
      }
      if (o->profile) j["profile"] = profile_json(profile);
      if (!times.empty()) {
        j["median_ms"] = median;
        j["min_ms"] = min;
        j["runs"] = times.size();
        j["times_ms"] = times;  // sorted; lets a caller take the median over several processes
      }
      for (size_t i = 0; i < outputs.size(); ++i)
        j["outputs"].push_back({{"name", model.graph->outputs[i]},
                                {"dtype", dtype_name(outputs[i].dtype())},
                                {"shape", outputs[i].dims()}});
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "model " << o->model << " on " << o->backend << ": load+compile " << load_ms << " ms\n";
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& t = outputs[i];
      std::cout << "  output " << model.graph->outputs[i] << ": " << dtype_name(t.dtype()) << dims_to_string(t.dims());
      if (t.numel() > 0) {
        std::cout << " first values:";
        for (int64_t k = 0; k < std::min<int64_t>(t.numel(), 5); ++k) std::cout << " " << t.get_double(k);
      }
      std::cout << "\n";
    }
    if (!times.empty())
      std::cout << "latency over " << times.size() << " runs: median " << median << " ms, min " << min << " ms\n";
    if (o->profile) print_profile(std::cout, profile, o->profile_top);
    if (!o->profile_json.empty()) std::cout << "profile written to " << o->profile_json << "\n";
    if (!o->out_dir.empty()) std::cout << "outputs written to " << o->out_dir << "\n";
    return 0;
  });
}

}  // namespace wafer::cli
