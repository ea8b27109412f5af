// The `npu` compiler backend: optimized graph + hardware description -> Program.
#pragma once

#include <memory>

#include "core/precision.h"
#include "ir/graph.h"
#include "npu/contention.h"
#include "npu/hardware.h"
#include "npu/program.h"
#include "npu/system.h"

namespace wafer::npu {

struct NpuCompileOptions {
  Precision precision = Precision::automatic;  // automatic: the hardware's best (resolve_precision, estimate)
  int batch = 1;                               // binds the symbolic batch dim
  SymbolBindings symbols;                      // other symbolic dims
  // A program for the functional executor keeps every tile; a timing program (the default) folds runs of
  // identical waves into Program::repeats, which the simulator replays.
  bool for_execution = false;
  // Fold runs of identical waves (timing programs); off when a whole run is folded instead (evaluate.h:
  // a spatial design's batch streaming through it), as repeats do not nest.
  bool fold_waves = true;
  // Production mappings (docs/NPU-COMPILER.md): attention as one fused layer whose scores stay on chip
  // (compiler_attention.cpp), and layout ops that only re-index a GEMM's operand or result folded into the
  // GEMM's addressing. Off: every node is a pass of its own (to compare the two mappings).
  bool fuse_attention = true;
  bool fold_views = true;
  // Matrix tiles' spatial dims (those the array holds: K and N for ws, M and N for os, K and M for is) are
  // multiples of the array's rows and columns divided by this: 1, whole folds; 2, half folds, which give a
  // layer with fewer output tiles than cores more tiles to spread. evaluate_design tries 1, 2, 4, ... and
  // keeps the fastest program (tile_granularities).
  int tile_granularity = 1;
  // The system of chips the program runs on as one of its chips: it times the graph's collectives and sends
  // (wafer.AllReduce / AllGather / AllToAll / Send: a split model's shard) with npu::system_collective and
  // npu::point_to_point and says whether they overlap compute (comm_engines). Unset: a collective over more
  // than one chip is an error.
  std::shared_ptr<const SystemDesc> system;
  // The communication in flight on the system while this chip's runs (npu/contention.h), this chip's groups
  // among it: a collective is timed with the entry of its kind as its groups (an all-gather with the
  // all-reduce's: the tensor-parallel groups; a send with the sends) and every other entry sharing the links.
  // No entry of its kind: the chip's group alone on a topology of its own shape.
  std::vector<Traffic> traffic;
  // Whether every entry of `traffic` is in flight at once (a pipelined prefill's stages), so that each kind
  // shares the links with all the others; false: each kind runs with its own entry only.
  bool traffic_at_once = false;
};

// A design mapped spatially: so many small cores that every layer keeps a region of its own and the layers
// run concurrently (wafer-scale meshes); compiler.cpp places, evaluate.cpp pipelines a batch's runs.
bool is_spatial(const HardwareDesc& hw);

// The most cores one layer is spread over on a design that is not spatial.
int matrix_core_cap(const HardwareDesc& hw);

// The tile granularities worth compiling for (NpuCompileOptions::tile_granularity): 1, then 2, 4, ... while
// the array's rows and columns divided by it stay at least 8 (the shortest streamed dim a tile has). A bigger
// array of the same shape thereby tries every tile base a smaller one does. Spatial designs: 1 only.
std::vector<int> tile_granularities(const HardwareDesc& hw);

// Whether a finer granularity could give a matrix layer more output tiles to spread: some layer has fewer
// than the cores it may use.
bool has_layer_short_of_tiles(const Program& program, const HardwareDesc& hw);

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
