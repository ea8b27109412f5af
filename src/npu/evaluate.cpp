#include "npu/evaluate.h"

#include "core/error.h"
#include "npu/energy.h"
#include "npu/simulator.h"

namespace wafer::npu {

namespace {

// `runs`: the program repeats a whole run that many times (evaluate_pipelined); the work per layer is the
// program's layers' times that.
SimResult evaluate_program(const Program& program, const Graph& prepared, const HardwareDesc& hw, bool record_trace,
                           int runs = 1) {
  SimOptions sim_options;
  sim_options.record_trace = record_trace;
  SimResult r = simulate(program, hw, sim_options);
  r.macs *= runs;
  for (auto& l : r.layers) l.macs *= runs, l.vector_elements *= runs, l.matrix_utilization *= runs;
  // The reports need these whatever the simulator filled in.
  if (r.model.empty()) r.model = program.model.empty() ? prepared.name : program.model;
  if (r.hw_name.empty()) r.hw_name = hw.name;
  if (r.clock_hz == 0) r.clock_hz = hw.clock_hz;
  if (r.peak_macs_per_s == 0) r.peak_macs_per_s = hw.peak_macs_per_s(program.precision);
  if (r.offchip_bytes_per_s == 0) r.offchip_bytes_per_s = hw.offchip_bytes_per_s();
  account_energy(r, hw);
  r.sub_batch = r.batch;
  return r;
}

// A spatial design's batch streams through the layers' regions in runs of `graph`'s batch: the whole run
// after the resident-weight prologue is a repeat, each run's instructions queueing behind the previous
// run's on every region, so run r+1 enters the first layers while run r is in the last.
SimResult evaluate_pipelined(const Graph& graph, int run_batch, int runs, const HardwareDesc& hw,
                             const NpuCompileOptions& options, bool record_trace) {
  NpuCompileOptions o = options;
  o.batch = run_batch;
  o.fold_waves = false;
  Program program = lower_for_npu(graph, hw, o);
  int begin = 0;
  while (begin < int(program.instrs.size()) && program.instrs[size_t(begin)].layer < 0) ++begin;
  if (runs > 1 && begin < int(program.instrs.size()))
    program.repeats.push_back({begin, begin, int(program.instrs.size()) - begin, runs - 1});
  program.batch = run_batch * runs;
  SimResult r = evaluate_program(program, graph, hw, record_trace, runs);
  r.sub_batch = run_batch;
  return r;
}

}  // namespace

// As TensorRT times its candidate kernels ("tactics") and keeps the fastest, the program is compiled at each
// tile granularity while a finer one could give some layer more tiles to spread over the cores, and the one
// that simulates fastest is kept: small layers on many cores (batch 1, a decode step) run on more of them
// with partial-fold tiles, and a bigger array is never slower than a smaller one of the same shape, whose
// tile bases it tries too. A layer that has tiles for every core gains nothing from a finer granularity,
// so big batches compile once.
EvaluatedProgram evaluate_fastest(const Graph& prepared, const HardwareDesc& hw, const NpuCompileOptions& options,
                                  bool record_trace) {
  EvaluatedProgram best;
  bool have = false;
  auto consider = [&](const NpuCompileOptions& o) {
    Program program = lower_for_npu(prepared, hw, o);
    SimResult r = evaluate_program(program, prepared, hw, record_trace);
    r.tile_granularity = o.tile_granularity;
    const bool finer_may_help = has_layer_short_of_tiles(program, hw), blocked = program.blocked_attention;
    if (!have || r.cycles < best.result.cycles) best = {std::move(program), std::move(r)}, have = true;
    return std::pair{finer_may_help, blocked};
  };
  for (int g : tile_granularities(hw)) {
    NpuCompileOptions o = options;
    o.tile_granularity = g;
    const auto [finer_may_help, blocked] = consider(o);
    // A fused attention whose score rows do not fit a core pays an online softmax over key blocks; where
    // that loses to separate GEMMs and softmax (a small scratchpad), the unfused mapping runs, every node a
    // pass of its own (with only the views folded it was slower still: 53,897 cycles against 38,625 on the
    // test's 24 KiB-scratchpad h100 at sequence 384).
    if (blocked) {
      o.fuse_attention = o.fold_views = false;
      consider(o);
    }
    if (!finer_may_help) break;
  }
  return best;
}

SimResult evaluate_design(const Graph& prepared, const HardwareDesc& hw, const NpuCompileOptions& options,
                          bool record_trace) {
  return evaluate_fastest(prepared, hw, options, record_trace).result;
}

PreparedBatches prepare_batches(const Graph& graph, const NpuCompileOptions& options) {
  PreparedBatches p;
  NpuCompileOptions o = options;
  for (int b = options.batch; b >= 1; b /= 2) {
    o.batch = b;
    p.graphs.emplace_back(b, prepare_for_npu(graph, o));
    if (b % 2 != 0) break;
  }
  return p;
}

namespace {

// `r` (one run at sub-batch r.batch) as `runs` runs back to back: the whole batch's totals.
SimResult as_whole_batch(SimResult r, int runs) {
  const auto k = uint64_t(runs);
  r.sub_batch = r.batch;
  r.batch *= runs;
  r.scale_work(runs);
  r.cycles *= k;
  r.latency_s *= runs;
  r.comm_cycles *= k;
  r.comm_exposed_cycles *= k;
  for (auto& [kind, c] : r.comm_exposed_by_kind) c *= k;
  return r;
}

}  // namespace

SimResult evaluate_design(const PreparedBatches& model, const HardwareDesc& hw, const NpuCompileOptions& options,
                          bool record_trace) {
  check(!model.graphs.empty(), "evaluate_design: no prepared batch");
  const int batch = model.graphs.front().first;
  if (is_spatial(hw)) {
    const auto& [b, graph] = model.graphs.back();
    return evaluate_pipelined(*graph, b, batch / b, hw, options, record_trace);
  }
  SimResult best;
  for (const auto& [b, graph] : model.graphs) {
    NpuCompileOptions o = options;
    o.batch = b;
    SimResult r = as_whole_batch(evaluate_design(*graph, hw, o, record_trace), batch / b);
    if (b != batch && r.throughput_samples_per_s <= best.throughput_samples_per_s) break;
    best = std::move(r);
  }
  return best;
}

}  // namespace wafer::npu
