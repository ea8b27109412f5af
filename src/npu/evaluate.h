// One design point end to end: lower a graph prepared by prepare_for_npu (optimized
// once, batch bound) for the hardware, simulate the program, account energy and
// area. What `wafer sim` runs once and `wafer sweep` runs per design.
#pragma once

#include "npu/compiler.h"
#include "npu/sim_result.h"

namespace wafer::npu {

SimResult evaluate_design(const Graph& prepared, const HardwareDesc& hw, const NpuCompileOptions& options,
                          bool record_trace);

}  // namespace wafer::npu
