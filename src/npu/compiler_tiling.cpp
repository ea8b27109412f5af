#include "npu/compiler_tiling.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace wafer::npu {

DType timing_dtype(const HardwareDesc& hw, DType precision) {
  if (hw.supports(precision)) return precision;
  DType best = DType::Undefined;
  double best_rate = -1;
  for (const auto& [t, rate] : hw.matrix.macs_per_cycle)
    if (rate > best_rate) best = t, best_rate = rate;
  check(best != DType::Undefined, "hardware ", hw.name, ": matrix unit has no datatypes");
  return best;
}

namespace {
int64_t cdiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
}  // namespace

uint64_t matmul_tile_cycles(const HardwareDesc& hw, DType dtype, int64_t tm, int64_t tk, int64_t tn) {
  const int64_t R = hw.matrix.rows, C = hw.matrix.cols;
  // SCALE-Sim's per-fold rows (docs/SCALESIM.md), with fill and drain over the rows and columns a fold
  // actually uses (a partial fold bypasses the idle PEs). For full folds this is SCALE-Sim's count exactly;
  // summed over folds it is sp*(T-2) + 2*rows_total*col_folds + cols_total*row_folds (ws/is) or
  // sp*(T-2) + rows_total*col_folds + cols_total*row_folds (os), so a bigger array is never slower.
  // Pipelined folds (MatrixUnit::pipelined_folds): a fold streams for t cycles while the previous one
  // drains and the next one's stationary operand loads, which takes as many cycles as the fold has rows;
  // only the first fill and the last drain show. Never slower than the serial count; equal for one fold.
  // With pipelined folds the compiler also picks the fold's shape: a fold of h <= R rows and w <= C columns
  // (the rest of the array idle) loads its stationary tile in h cycles and drains over h + w, so short folds
  // can hide more of the next fold's load than they add in fold count. It takes the cheapest shape among
  // the full one and the power-of-two ones below it; a bigger array can fold as any smaller power-of-two
  // one does, so it is never slower than one (NpuCompiler.BiggerArrayNeverTakesMoreCyclesForATile).
  const bool pipelined = hw.matrix.pipelined_folds;
  auto pipelined_total = [](int64_t spread_r, int64_t spread_c, int64_t t, int64_t rows, int64_t cols,
                            int64_t weight_rows) {
    const int64_t rf = cdiv(spread_r, rows), cf = cdiv(spread_c, cols);
    const int64_t r = std::min(spread_r, rows), c = std::min(spread_c, cols), last = spread_r - (rf - 1) * rows;
    const int64_t folds = cf * ((rf - 1) * std::max(t, rows) + std::max(t, last));
    return t + folds - std::max(t, r) + weight_rows * r + c - 2;  // the first fold streams without waiting
  };
  auto total = [&](int64_t spread_r, int64_t spread_c, int64_t t, int64_t rows, int64_t cols, int64_t weight_rows) {
    if (!pipelined) {
      const int64_t rf = cdiv(spread_r, rows), cf = cdiv(spread_c, cols);
      return rf * cf * (t - 2) + weight_rows * spread_r * cf + spread_c * rf;
    }
    // Shapes past the spread cost what the spread does: start at the smaller of the two.
    const int64_t h0 = std::min(spread_r, rows), w0 = std::min(spread_c, cols);
    auto each_size = [](int64_t top, auto&& f) {  // top, then the powers of two below it
      f(top);
      for (int64_t p = int64_t(std::bit_floor(uint64_t(top))); p >= 1; p /= 2)
        if (p < top) f(p);
    };
    int64_t best = INT64_MAX;
    each_size(h0, [&](int64_t h) {
      each_size(w0,
                [&](int64_t w) { best = std::min(best, pipelined_total(spread_r, spread_c, t, h, w, weight_rows)); });
    });
    return best;
  };
  int64_t cycles = 0;
  switch (hw.matrix.dataflow) {
    case Dataflow::WeightStationary:
      cycles = total(tk, tn, tm, R, C, 2);
      break;  // K over rows, N over cols
    case Dataflow::OutputStationary:
      cycles = total(tm, tn, tk, R, C, 1);
      break;  // M over rows, N over cols
    case Dataflow::InputStationary:
      cycles = total(tk, tm, tn, R, C, 2);
      break;  // K over rows, M over cols
  }
  double rate = hw.matrix.macs_per_cycle.at(dtype);
  double scale = double(R * C) / rate;  // fp32 at a quarter of the bf16 rate: 4; int8 at twice it: 0.5
  return std::max<uint64_t>(1, uint64_t(std::ceil(double(cycles) * scale)));
}

uint64_t core_tile_cycles(const HardwareDesc& hw, DType dtype, int64_t tm, int64_t tk, int64_t tn) {
  const int64_t units = std::max(1, hw.matrix.units);
  return matmul_tile_cycles(hw, dtype, tm, tk, cdiv(tn, std::min(units, tn)));
}

WaveBlock wave_block(int64_t mt, int64_t nt, int64_t tm, int64_t tn, int64_t wave, bool input_offchip,
                     bool weights_offchip) {
  WaveBlock best;
  double best_bytes = -1;
  // At least as many rows as it takes the grid's columns to hold the wave: the block covers the whole wave.
  for (int64_t rows = std::min(mt, cdiv(wave, nt)); rows <= std::min(mt, wave); ++rows) {
    const int64_t cols = std::min(nt, cdiv(wave, rows));
    const double per_tile =
        (double(rows * tm) * input_offchip + double(cols * tn) * weights_offchip) / double(std::min(rows * cols, wave));
    if (best_bytes < 0 || per_tile < best_bytes * (1 - 1e-12)) best = {rows, cols}, best_bytes = per_tile;
  }
  return best;
}

namespace {

// Split-K factors: 1, and where weights must stay on the cores, 2, 4, ... up to kt itself.
std::vector<int64_t> k_splits(int64_t kt, bool allowed) {
  std::vector<int64_t> s = {1};
  if (!allowed) return s;
  for (int64_t v = 2; v < kt; v *= 2) s.push_back(v);
  if (kt > 1) s.push_back(kt);
  return s;
}

// b, 2b, 4b, ... capped at d (always includes d itself).
std::vector<int64_t> candidates(int64_t d, int64_t b) {
  std::vector<int64_t> c;
  b = std::max<int64_t>(1, std::min(b, d));
  for (int64_t v = b; v < d; v *= 2) c.push_back(v);
  c.push_back(d);
  return c;
}

}  // namespace

TileChoice choose_tiles(const HardwareDesc& hw, DType dtype, const TileProblem& p, uint64_t scratchpad_budget) {
  const int64_t R = hw.matrix.rows, C = hw.matrix.cols;
  // The array's spatial dims tile by whole folds, or by their granularity-th part; the streamed dim (M for
  // ws, N for is, K for os) can be as short as 8 rows when the scratchpad is small.
  const int64_t r = std::max<int64_t>(1, R / p.granularity), c = std::max<int64_t>(1, C / p.granularity);
  int64_t bm = r, bk = r, bn = c;
  switch (hw.matrix.dataflow) {
    case Dataflow::WeightStationary:
      bm = 8;
      break;
    case Dataflow::InputStationary:
      bm = c, bn = 8;
      break;
    case Dataflow::OutputStationary:
      bk = 8;
      break;
  }
  const uint64_t eb = uint64_t(p.elem_bytes);
  const uint64_t acc = hw.accumulator.size_bytes;
  TileChoice best;
  bool found = false;
  {
    for (int64_t tm : candidates(p.m, bm))
      for (int64_t tk : candidates(p.k, bk))
        for (int64_t tn : candidates(p.n, bn))
          for (int64_t ks : k_splits(cdiv(p.k, tk), p.weights_on_cores > 0))
            for (int stages : {2, 3, 4}) {
              uint64_t in = uint64_t(tm * tk) * eb, w = uint64_t(tk * tn) * eb, out = uint64_t(tm * tn) * 4;
              uint64_t spad = uint64_t(stages) * (in + w), accu = 2 * out;
              if (accu > acc) spad += accu, accu = 0;
              if (spad > scratchpad_budget) continue;
              int64_t mt = cdiv(p.m, tm), kt = cdiv(p.k, tk), nt = cdiv(p.n, tn);
              int64_t out_tiles = p.groups * mt * nt, tiles = out_tiles * kt;
              int cores = int(std::min<int64_t>(p.max_cores, out_tiles * ks));
              if (ks > 1 && cores < out_tiles * ks) continue;  // split only as far as there are cores for it
              if (spad + (p.weights_on_cores + uint64_t(cores) - 1) / uint64_t(cores) > scratchpad_budget) continue;
              double per_core_tiles = std::ceil(double(tiles) / cores);
              const double tile_cycles = double(core_tile_cycles(hw, dtype, tm, tk, tn));
              double compute = per_core_tiles * tile_cycles;
              // Split-K: the partial sums of each output tile meet in a tree, a hop and an add per level.
              if (ks > 1) {
                const double level = p.noc_hop_cycles + double(tm * tn * 4) / std::max(1e-9, p.noc_bytes_per_cycle) +
                                     double(tm * tn) / std::max(1e-9, p.vector_adds_per_cycle);
                compute += std::ceil(std::log2(double(ks))) * level;
              }
              // Inputs are re-read once per column tile; streamed weights once per row tile (unless K fits one tile).
              const double in_once = double(p.groups) * double(p.m * p.k) * double(eb) / p.input_reuse;
              const double w_once = double(p.groups) * double(p.k * p.n) * double(eb);
              const double w_reads = p.weights_streamed ? (kt == 1 ? 1.0 : double(mt)) : 0.0;
              const double in_bw = std::min(p.input_bytes_per_cycle, cores * p.core_bytes_per_cycle);
              // Reads past the first come from the global buffer where the operand is staged there.
              // An input too big to stage whole is staged by row panels (compiler.cpp) when two waves' panels fit
              // and the weights do not stream from off-chip.
              const double panel = double(tm * p.k) * double(eb) / p.input_reuse;
              const bool row_panels = nt > 1 && (!p.weights_streamed || w_once <= double(p.stage_bytes)) &&
                                      2.0 * double(cdiv(cores, nt) + 1) * panel <= double(p.stage_bytes);
              auto traffic = [&](double once, double reads, double bw, bool offchip, bool panels = false) {
                if (reads > 1 && offchip && p.stage_bytes_per_cycle > 0 && (panels || once <= double(p.stage_bytes)))
                  return once / bw +
                         (reads - 1) * once / std::min(p.stage_bytes_per_cycle, cores * p.core_bytes_per_cycle);
                return reads * once / bw;
              };
              double dma = traffic(in_once, double(nt), in_bw, p.input_offchip, row_panels) +
                           traffic(w_once, w_reads, p.weight_bytes_per_cycle, true);
              // Otherwise, with K in several slices and both grid dims > 1, a wave's tiles run as a block
              // (wave_block) through K together: the block's K slices come from off-chip once per wave.
              const bool w_off = p.weights_streamed && p.weights_offchip;
              if (!row_panels && p.stage_bytes_per_cycle > 0 && kt > 1 && mt > 1 && nt > 1 &&
                  (p.input_offchip || w_off)) {
                const WaveBlock b = wave_block(mt, nt, tm, tn, cores, p.input_offchip, w_off);
                const uint64_t slices = uint64_t(stages) * uint64_t(b.rows * tm + b.cols * tn) * uint64_t(tk) * eb;
                if (slices <= p.stage_bytes) {
                  const double l2_bw = std::min(p.stage_bytes_per_cycle, cores * p.core_bytes_per_cycle);
                  auto blocked = [&](double once, double reads, double share, double bw) {
                    return reads * once / share / bw + reads * once * (1 - 1 / share) / l2_bw;
                  };
                  dma = (p.input_offchip ? blocked(in_once, double(nt), double(b.cols), in_bw)
                                         : traffic(in_once, double(nt), in_bw, false)) +
                        (w_off ? blocked(w_once, double(mt), double(b.rows), p.weight_bytes_per_cycle)
                               : traffic(w_once, w_reads, p.weight_bytes_per_cycle, true));
                }
              }
              // A tile's load takes the latency plus its transfer; with `stages` buffers, stages-1 loads are in
              // flight while the units compute, so the latency is hidden once the pipeline is deep enough.
              double latency_bound = (per_core_tiles * p.dma_latency_cycles + dma) / double(stages - 1);
              double est = std::max({compute, dma, latency_bound}) + p.dma_latency_cycles + tile_cycles;
              if (!found || est < best.est_cycles * (1 - 1e-9)) {
                best = {tm, tk, tn, cores, stages, ks, est, spad + accu};
                found = true;
              }
            }
  }
  if (!found) {
    int64_t tm = std::min(p.m, bm), tk = std::min(p.k, bk), tn = std::min(p.n, bn);
    uint64_t need =
        2 * uint64_t(tm * tk + tk * tn) * eb + (2 * uint64_t(tm * tn) * 4 > acc ? 2 * uint64_t(tm * tn) * 4 : 0);
    fail("npu compile: layer ", p.layer, " (GEMM ", p.groups, "x[", p.m, "x", p.k, "x", p.n, "]): the smallest tile [",
         tm, "x", tk, "x", tn, "] needs ", need, " B of double-buffered scratchpad, only ", scratchpad_budget,
         " B available (scratchpad ", hw.scratchpad.size_bytes, " B, accumulator ", acc, " B)",
         p.weights_on_cores == 0
             ? std::string()
             : "; beside its " + std::to_string(p.weights_on_cores) + " B of weights, which must stay on the " +
                   std::to_string(p.max_cores) + " cores a layer gets (" +
                   std::to_string((p.weights_on_cores + uint64_t(p.max_cores) - 1) / uint64_t(p.max_cores)) +
                   " B per core) since the design has no off-chip memory to stream them from");
  }
  return best;
}

}  // namespace wafer::npu
