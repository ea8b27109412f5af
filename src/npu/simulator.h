// Event-driven timing simulator over a Program: systolic fill and drain per
// fold, DMA bandwidth and latency with contention on shared channels, NoC
// transfers, compute/transfer overlap, per-core queues. Deterministic.
#pragma once

#include "npu/hardware.h"
#include "npu/program.h"
#include "npu/sim_result.h"

namespace wafer::npu {

struct SimOptions {
  bool record_trace = true;
  size_t max_trace_events = 200000;  // beyond this, events are counted in SimResult::trace_dropped
};

SimResult simulate(const Program& program, const HardwareDesc& hw, const SimOptions& options = {});

}  // namespace wafer::npu
