// One design point end to end: compile the optimized graph for the hardware,
// simulate the program, account energy and area. What `wafer sim` runs once
// and `wafer sweep` runs per design.
#pragma once

#include "npu/compiler.h"
#include "npu/sim_result.h"

namespace wafer::npu {

SimResult evaluate_design(const Graph& graph, const HardwareDesc& hw, const NpuCompileOptions& options,
                          bool record_trace);

}  // namespace wafer::npu
