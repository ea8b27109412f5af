// Compiling a model for a described NPU without simulating it: what `wafer compile` and wafer.compile do.
// The program (npu/program.h) is written as JSON with a readable PROGRAM.txt beside it when asked.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/npu_model.h"
#include "api/simulate.h"
#include "npu/program.h"

namespace wafer::api {

struct CompileOptions {
  NpuModelArgs m;
  HardwareSource hw;
  std::vector<std::string> sets;  // FIELD=VALUE hardware overrides
  std::string output;             // program file to write (JSON); OUTPUT.txt gets the readable form
};

struct CompileRun {
  npu::Program program;
  std::string model_path;  // the .onnx file read
  std::string hw_name;
  double compile_ms = 0;  // optimize + lower
};

CompileRun compile(const CompileOptions& options);

// What `wafer compile --json` prints: the program's summary (layers by unit, instructions, weights).
nlohmann::json compile_json(const CompileRun& run);

}  // namespace wafer::api
