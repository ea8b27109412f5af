// Simulating a model on a described NPU: what `wafer sim` and wafer.simulate do, and the
// hardware a caller names (a preset, a YAML file, or YAML text such as a Python dict's).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/npu_model.h"
#include "npu/hardware.h"
#include "npu/sim_result.h"

namespace wafer::api {

// A preset name or a .yaml path (load_hardware), or the text of a description (parse_hardware):
// one of the two, validated with the same messages either way.
struct HardwareSource {
  std::string preset_or_path;
  std::string yaml_text;  // when set, parsed instead of preset_or_path
  std::string name_for_errors = "hardware description";

  npu::HardwareDesc load(const std::vector<std::pair<std::string, std::string>>& overrides = {}) const;
  std::string display() const;  // the preset or path, or name_for_errors
};

struct SimOptions {
  NpuModelArgs m;
  HardwareSource hw;
  std::vector<std::string> sets;  // FIELD=VALUE hardware overrides
};

struct SimRun {
  npu::SimResult result;
  double load_ms = 0;      // import + optimize
  double evaluate_ms = 0;  // compile + simulate + energy
};

SimRun simulate(const SimOptions& options, bool record_trace);

}  // namespace wafer::api
