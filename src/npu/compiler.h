// The `npu` compiler backend: optimized graph + hardware description -> Program.
#pragma once

#include "core/precision.h"
#include "ir/graph.h"
#include "npu/hardware.h"
#include "npu/program.h"

namespace wafer::npu {

struct NpuCompileOptions {
  Precision precision = Precision::automatic;  // automatic: the hardware's best (resolve_precision, estimate)
  int batch = 1;                               // binds the symbolic batch dim
  SymbolBindings symbols;                      // other symbolic dims
  // A program for the functional executor keeps every tile; a timing program (the default) folds runs of
  // identical waves into Program::repeats, which the simulator replays.
  bool for_execution = false;
};

// Lowers every node; an op the backend cannot cost is an UnsupportedError listing
// all such nodes; a tile that cannot fit is an Error naming the layer and sizes.
Program compile_for_npu(const Graph& graph, const HardwareDesc& hw, const NpuCompileOptions& options);

}  // namespace wafer::npu

namespace wafer::npu {

// The two halves of compile_for_npu, for the functional executor, which runs
// the same optimized graph the program was lowered from: a clone optimized
// with the batch (and other symbols) bound, then the lowering proper.
std::unique_ptr<Graph> prepare_for_npu(const Graph& graph, const NpuCompileOptions& options);
Program lower_for_npu(const Graph& optimized, const HardwareDesc& hw, const NpuCompileOptions& options);

}  // namespace wafer::npu
