// The tiling cost model and the systolic-array timing shared by the compiler
// (to choose tiles) and the simulator (to cost MatMul instructions).
#pragma once

#include <cstdint>
#include <string>

#include "npu/hardware.h"

namespace wafer::npu {

// Matrix-unit dtype used for timing: the program precision when the array has
// it, else the fastest dtype it has (int8-only presets are timed in int8).
DType timing_dtype(const HardwareDesc& hw, DType precision);

// Cycles of one MatMul tile on one matrix unit: SCALE-Sim fold arithmetic for
// the array's dataflow (docs/SCALESIM.md), scaled by rows*cols / macs_per_cycle.
uint64_t matmul_tile_cycles(const HardwareDesc& hw, DType dtype, int64_t tm, int64_t tk, int64_t tn);

struct TileChoice {
  int64_t tm = 0, tk = 0, tn = 0;
  int cores = 1;
  double est_cycles = 0;
  uint64_t working_set_bytes = 0;  // per core, scratchpad + accumulator
};

struct TileProblem {
  std::string layer;
  int64_t m = 0, k = 0, n = 0, groups = 1;
  int elem_bytes = 1;  // operand bytes
  bool weights_streamed = true;
  double input_bytes_per_cycle = 1;   // aggregate bandwidth of where activations live
  double core_bytes_per_cycle = 1;    // each core's scratchpad port
  double weight_bytes_per_cycle = 1;  // aggregate bandwidth weights stream from
  double dma_latency_cycles = 0;
  int max_cores = 1;
  uint64_t weights_on_cores = 0;  // weights that must stay on the layer's cores (no off-chip memory): split over them
};

// Smallest-estimated-cycles tiling whose double-buffered working set fits the
// scratchpad budget (+ accumulator); Error naming the layer and sizes if none.
TileChoice choose_tiles(const HardwareDesc& hw, DType dtype, const TileProblem& p, uint64_t scratchpad_budget);

}  // namespace wafer::npu
