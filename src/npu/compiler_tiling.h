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
// the array's dataflow (docs/SCALESIM.md), scaled by rows*cols / macs_per_cycle
// (fp32 at a quarter of the fp16 rate takes 4x as long, int8 at twice it half).
uint64_t matmul_tile_cycles(const HardwareDesc& hw, DType dtype, int64_t tm, int64_t tk, int64_t tn);

// Cycles of one MatMul tile on a core: all its matrix units work on the tile at
// once, each on a slice of its columns (as a GPU's warpgroup shares a tile
// between an SM's tensor cores, or a TPU core splits one over its MXUs).
uint64_t core_tile_cycles(const HardwareDesc& hw, DType dtype, int64_t tm, int64_t tk, int64_t tn);

// A wave of output tiles grouped as a block of `rows` x `cols` tiles (CUTLASS's threadblock swizzle), so the
// tiles running at once share input row panels and weight column panels: each K slice of the block's rows
// and columns comes from off-chip once and is served to the wave's tiles from the global buffer (a GPU's L2).
struct WaveBlock {
  int64_t rows = 1, cols = 1;
};

// The block of a `wave`-tile wave over an mt x nt tile grid (tiles tm x tn) that reads the fewest off-chip
// bytes per tile, counting the input when it is off-chip and the weights when they stream from there.
WaveBlock wave_block(int64_t mt, int64_t nt, int64_t tm, int64_t tn, int64_t wave, bool input_offchip,
                     bool weights_offchip);

struct TileChoice {
  int64_t tm = 0, tk = 0, tn = 0;
  int cores = 1;
  int stages = 2;       // operand buffers per core: loads run up to stages-1 tiles ahead of the matrix units
  int64_t k_split = 1;  // cores sharing each output tile's K (Layer::k_split)
  double est_cycles = 0;
  uint64_t working_set_bytes = 0;  // per core, scratchpad + accumulator
};

struct TileProblem {
  std::string layer;
  int64_t m = 0, k = 0, n = 0, groups = 1;
  int elem_bytes = 1;      // operand bytes
  double input_reuse = 1;  // implicit GEMM: input bytes are M x K / this (GemmView::input_reuse)
  bool weights_streamed = true;
  double input_bytes_per_cycle = 1;   // aggregate bandwidth of where activations live
  double core_bytes_per_cycle = 1;    // each core's scratchpad port
  double weight_bytes_per_cycle = 1;  // aggregate bandwidth weights stream from
  double dma_latency_cycles = 0;
  // The global buffer as a working set (compiler.cpp stages re-read off-chip operands there): an operand
  // of at most stage_bytes that is read more than once comes from off-chip once, then at this bandwidth.
  uint64_t stage_bytes = 0;
  double stage_bytes_per_cycle = 0;
  bool input_offchip = false;
  bool weights_offchip = true;  // streamed weights come from off-chip (not from a resident global buffer copy)
  int max_cores = 1;
  int granularity = 1;            // the array's dims divided by this are the tiles' spatial bases (NpuCompileOptions)
  uint64_t weights_on_cores = 0;  // weights that must stay on the layer's cores (no off-chip memory): split over them
  // Split-K (only with weights_on_cores): each level of the partial-sum tree moves a tile of fp32 sums one
  // hop over the NoC and adds it with the vector unit.
  double noc_bytes_per_cycle = 0, noc_hop_cycles = 0, vector_adds_per_cycle = 1;
};

// Smallest-estimated-cycles tiling (tile sizes and pipeline depth, 2-4 stages
// as CUTLASS uses on Hopper) whose buffered working set fits the scratchpad
// budget (+ accumulator); Error naming the layer and sizes if none.
TileChoice choose_tiles(const HardwareDesc& hw, DType dtype, const TileProblem& p, uint64_t scratchpad_budget);

}  // namespace wafer::npu
