// Closed-form SCALE-Sim v2 timing: per-fold arithmetic instead of demand matrices.
//
// SCALE-Sim builds, per layer, three demand matrices with one row per cycle and
// one column per PE edge port, then walks them row by row through its memory
// model. Every row count, utilisation and SRAM access count it reports follows
// from the fold structure alone, so Wafer computes them directly (see
// docs/SCALESIM.md for the derivation and the source lines each formula comes
// from). Only USER-bandwidth stalls need a walk, and that walk is per demand row
// with O(1) work, not per element.
#pragma once

#include <cstdint>

#include "npu/scalesim/config.h"
#include "npu/scalesim/topology.h"

namespace wafer::scalesim {

struct LayerResult {
  // COMPUTE_REPORT
  int64_t total_cycles = 0;
  int64_t stall_cycles = 0;
  double overall_util = 0;  // percent
  double mapping_eff = 0;   // percent
  double compute_util = 0;  // percent
  // SRAM traffic seen by the array (words)
  int64_t ifmap_sram_reads = 0;
  int64_t filter_sram_reads = 0;
  int64_t ofmap_sram_writes = 0;
  // DRAM traffic (words) and the cycles it spans
  int64_t ifmap_dram_reads = 0, filter_dram_reads = 0, ofmap_dram_writes = 0;
  double ifmap_dram_start = 0, ifmap_dram_stop = 0;
  double filter_dram_start = 0, filter_dram_stop = 0;
  double ofmap_dram_start = 0, ofmap_dram_stop = 0;
  // SRAM first/last access cycles
  double ifmap_sram_start = 0, ifmap_sram_stop = 0;
  double filter_sram_start = 0, filter_sram_stop = 0;
  double ofmap_sram_start = 0, ofmap_sram_stop = 0;

  // Fold structure (for tests and docs)
  int64_t row_folds = 0, col_folds = 0, rows_per_fold = 0;
};

LayerResult simulate_layer(const Config& cfg, const Layer& layer);

}  // namespace wafer::scalesim
