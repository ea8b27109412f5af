// One design point end to end: lower a graph prepared by prepare_for_npu (optimized
// once, batch bound) for the hardware, simulate the program, account energy and
// area. What `wafer sim` runs once and `wafer sweep` runs per design.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "npu/compiler.h"
#include "npu/sim_result.h"

namespace wafer::npu {

SimResult evaluate_design(const Graph& prepared, const HardwareDesc& hw, const NpuCompileOptions& options,
                          bool record_trace);

// The program evaluate_design chooses (the fastest of the tile granularities, evaluate.cpp) and its result.
struct EvaluatedProgram {
  Program program;
  SimResult result;
};
EvaluatedProgram evaluate_fastest(const Graph& prepared, const HardwareDesc& hw, const NpuCompileOptions& options,
                                  bool record_trace);

// A model prepared at its batch and at the batch's halvings (B, B/2, ... while even): the sub-batches a
// compiler may split a batch into when its activations do not fit on chip, run one after another.
struct PreparedBatches {
  std::vector<std::pair<int, std::unique_ptr<Graph>>> graphs;  // (batch, prepared graph), largest first
};
PreparedBatches prepare_batches(const Graph& graph, const NpuCompileOptions& options);

// The batch as one run or as sequential sub-batches, whichever has the highest throughput: halvings are
// tried while each is faster than the last. SimResult::sub_batch says which; its layer statistics are one
// sub-batch's, its totals (cycles, latency, bytes, energy, MACs) the whole batch's.
SimResult evaluate_design(const PreparedBatches& model, const HardwareDesc& hw, const NpuCompileOptions& options,
                          bool record_trace);

}  // namespace wafer::npu
