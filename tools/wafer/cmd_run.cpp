// wafer run MODEL: runs a model on a backend with given or seeded inputs,
// writes outputs, and optionally times repeated runs (the stage is api::run_model).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/run.h"
#include "commands.h"
#include "frontend/onnx/tensor_proto.h"
#include "model_options.h"
#include "profile_report.h"

namespace wafer::cli {
namespace fs = std::filesystem;

void add_run_command(CLI::App& app) {
  auto* sub = app.add_subcommand("run", "Run a model on a backend");
  struct Opts : api::RunOptions {
    std::string out_dir, profile_json;
    int profile_top = 25;
    bool json = false, profile_table = false;  // --profile: the table (and "profile" in --json)
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
  sub->add_flag("--profile", o->profile_table,
                "Time every step over the --repeat runs: a table of the slowest with their kernels, shares and "
                "GFLOP/s or GB/s (cpu and reference backends)");
  sub->add_option("--profile-json", o->profile_json, "Write every profiled step as JSON to this file");
  sub->add_option("--profile-top", o->profile_top, "Rows of the --profile table (0 = every step)")
      ->capture_default_str();
  set_action(sub, [o]() {
    o->profile = o->profile_table || !o->profile_json.empty();
    check(o->profile_top >= 0, "--profile-top must not be negative");
    api::RunResult r = api::run_model(*o);
    note_if_busy(o->backend);  // after the run: an error stays one line
    const auto& outputs = r.outputs;
    const Graph& graph = *r.model.graph;
    if (!o->profile_json.empty()) {
      nlohmann::json pj = api::profile_json(r.profile);
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
                        graph.outputs[i]);
    }
    if (o->json) {
      nlohmann::json j = api::run_json(*o, r);
      if (!o->profile_table) j.erase("profile");  // --profile-json alone writes it to its file only
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "model " << o->model << " on " << o->backend << ": load+compile " << r.load_ms << " ms\n";
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& t = outputs[i];
      std::cout << "  output " << graph.outputs[i] << ": " << dtype_name(t.dtype()) << dims_to_string(t.dims());
      if (t.numel() > 0) {
        std::cout << " first values:";
        for (int64_t k = 0; k < std::min<int64_t>(t.numel(), 5); ++k) std::cout << " " << t.get_double(k);
      }
      std::cout << "\n";
    }
    if (!r.times_ms.empty())
      std::cout << "latency over " << r.times_ms.size() << " runs: median " << r.median_ms() << " ms, min "
                << r.min_ms() << " ms\n";
    if (o->profile_table) print_profile(std::cout, r.profile, o->profile_top);
    if (!o->profile_json.empty()) std::cout << "profile written to " << o->profile_json << "\n";
    if (!o->out_dir.empty()) std::cout << "outputs written to " << o->out_dir << "\n";
    return 0;
  });
}

}  // namespace wafer::cli
