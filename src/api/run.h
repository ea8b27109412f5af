// Running a model on a backend: what `wafer run` and the Python module's wafer.run do, from
// loading to timed runs, and the JSON report of `wafer run --json`.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "backends/profile.h"
#include "core/precision.h"
#include "frontend/onnx/importer.h"

namespace wafer::api {

// One options struct for the stage, filled by the CLI's flags and by wafer.run's arguments.
struct RunOptions {
  std::string model;
  std::string backend = "reference";             // reference, cpu, npu:PRESET[:PRECISION]
  std::string inputs_dir;                        // --inputs: a folder of .pb/.npy
  std::vector<std::string> input_files, shapes;  // --input NAME=FILE, --shape
  Precision precision = Precision::automatic;
  int repeat = 0, warmup = 1, threads = 0;
  uint64_t seed = 0;  // for the inputs nobody gave
  bool optimize = false;
  bool profile = false;  // time every step over the timed runs (needs repeat > 0; cpu and reference backends)
};

// Inputs a caller holds in memory (the Python module's arrays): by name, or in graph-input order.
// They take precedence over --inputs and --input files.
struct GivenInputs {
  std::map<std::string, Tensor> by_name;
  std::vector<Tensor> in_order;
};

struct RunResult {
  Model model;                            // the model as run (the executable owns the weights; its graph has none)
  std::vector<Tensor> outputs;            // in graph-output order
  std::vector<double> times_ms;           // the timed runs (repeat > 0), sorted
  double load_ms = 0;                     // import, optimize and compile
  std::string backend_name;               // the backend's own name ("cpu" for "cpu")
  std::optional<ProgramSummary> program;  // the compiled program, where the backend has one (cpu)
  Profile profile;                        // when RunOptions::profile

  double median_ms() const;
  double min_ms() const;
};

RunResult run_model(const RunOptions& options, GivenInputs given = {});

// The object `wafer run --json` prints ("profile" when RunOptions::profile).
nlohmann::json run_json(const RunOptions& options, const RunResult& result);

// {"runs", "steps": [{label, op, library, kernel, isa, median_ms, mean_ms, share, flops, bytes, gflops, gbps}, ...],
//  "total_ms"}: steps in run order; share, rates and total_ms from the per-step medians over the runs
// (backends/profile.h); numbers that are not known are null.
nlohmann::json profile_json(const Profile& profile);

}  // namespace wafer::api
