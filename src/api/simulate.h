// Simulating a model on a described NPU: what `wafer sim` and wafer.simulate do, and the
// hardware a caller names (a preset, a YAML file, or YAML text such as a Python dict's).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/npu_model.h"
#include "npu/hardware.h"
#include "npu/sim_result.h"
#include "npu/system.h"

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

// What one chip of --hw runs: a chip runs the whole batch; on a system of chips (docs/SYSTEMS.md) each chip runs
// a share of the batch, ceil(batch / count), and `chips` of them run (wafer sim, wafer compile).
struct DataParallelShare {
  npu::HardwareDesc chip;
  NpuModelArgs m;  // the model with the chip's batch
  int chips = 1;
  std::optional<npu::SystemDesc> system;
};
DataParallelShare data_parallel_share(const HardwareSource& hw, const std::vector<std::string>& sets,
                                      const NpuModelArgs& m);

// A system of chips as --hw (docs/SYSTEMS.md) runs the model data parallel: the batch is split into equal
// shares of ceil(batch / count) samples, one per chip (so up to count chips run, and the batch is rounded up
// to shares x chips); one chip is simulated and the totals (throughput, work, traffic, energy, peak, area,
// cost) are all the chips', the latency and the layers one chip's. Moving the inputs to the chips is not
// costed (a host link per chip, overlapped with compute in a steady stream).
SimRun simulate(const SimOptions& options, bool record_trace);

}  // namespace wafer::api
