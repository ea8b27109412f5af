// The `npu` compiler: lowering, residency, placement and instruction emission.
//
// One Layer per node of the optimized graph. Matrix layers (Conv, Gemm,
// MatMul) are tiled by the cost model (compiler_tiling.cpp) and their output
// tiles spread over a bounded number of cores; every other op becomes
// vector-unit work from the op table (compiler_ops.cpp). Activations live in
// the global buffer, the cores' scratchpads or off-chip memory by size;
// weights are resident (scratchpads, else global buffer) when they fit,
// greedily by reuse, else streamed from off-chip per use.
//
// lower_for_npu runs these jobs in order over one shared state (compiler_lowering.h):
// compiler_plan.cpp, compiler_place.cpp, compiler_emit.cpp.
#include "npu/compiler.h"

#include <algorithm>

#include "core/error.h"
#include "npu/compiler_lowering.h"
#include "passes/pass_manager.h"

namespace wafer::npu {

std::unique_ptr<Graph> prepare_for_npu(const Graph& graph, const NpuCompileOptions& options) {
  auto g = graph.clone();
  OptimizeOptions oo;
  oo.symbols = options.symbols;
  // The batch binds the graph's batch symbol and "batch" (exported models' usual name); --shape wins.
  for (const std::string& s : {std::string("batch"), batch_symbol(*g)})
    if (!s.empty() && !oo.symbols.count(s)) oo.symbols[s] = options.batch;
  optimize(*g, oo);
  return g;
}

bool is_spatial(const HardwareDesc& hw) {
  return hw.cores > 4096;
}

int matrix_core_cap(const HardwareDesc& hw) {
  return std::min(hw.cores, 1024);
}

std::vector<int> tile_granularities(const HardwareDesc& hw) {
  std::vector<int> g = {1};
  if (is_spatial(hw)) return g;  // regions are sized to their layers' work; runs stream through them (evaluate.cpp)
  for (int d = 2; hw.matrix.rows / d >= 8 && hw.matrix.cols / d >= 8; d *= 2) g.push_back(d);
  return g;
}

bool has_layer_short_of_tiles(const Program& program, const HardwareDesc& hw) {
  const int64_t cap = matrix_core_cap(hw);
  for (const Layer& l : program.layers) {
    if (l.unit != "matrix" || l.tile_m <= 0 || l.tile_n <= 0) continue;
    if (l.groups * lowering::cdiv(l.gemm_m, l.tile_m) * lowering::cdiv(l.gemm_n, l.tile_n) < cap) return true;
  }
  return false;
}

namespace lowering {

Lowering::Lowering(const Graph& graph, const HardwareDesc& hw_desc, const NpuCompileOptions& opts, Program& program)
    : g(graph),
      hw(hw_desc),
      options(opts),
      prog(program),
      tdt(timing_dtype(hw_desc, program.precision)),
      eb(dtype_size(program.precision)),
      offchip_bpc(hw_desc.offchip ? hw_desc.offchip->bandwidth_bytes_per_s / hw_desc.clock_hz : 0),
      dma_latency(hw_desc.offchip ? hw_desc.offchip->latency_s * hw_desc.clock_hz : 0),
      matrix_cap(matrix_core_cap(hw_desc)),
      spatial(is_spatial(hw_desc)),
      em{program, hw_desc},
      stream_level(hw_desc.offchip ? MemLevel::OffChip : MemLevel::Scratchpad) {}

uint64_t Lowering::value_bytes(const std::string& v) const {
  int64_t n = known_numel(g, v);
  return n > 0 ? uint64_t(n) * eb : 0;
}

MemLevel Lowering::act_level(uint64_t bytes, int cores) const {
  if (hw.global_buffer && bytes <= hw.global_buffer->size_bytes / 4) return MemLevel::GlobalBuffer;
  if (!hw.offchip || bytes <= uint64_t(cores) * hw.scratchpad.size_bytes / 4) return MemLevel::Scratchpad;
  return MemLevel::OffChip;
}

const ValInfo& Lowering::info(const std::string& v) const {
  auto it = vals.find(v);
  check(it != vals.end(), "npu compile: value '", v, "' has no producer");
  return it->second;
}

}  // namespace lowering

Program lower_for_npu(const Graph& g, const HardwareDesc& hw, const NpuCompileOptions& options) {
  Program prog;
  prog.model = g.name;
  prog.hw_name = hw.name;
  prog.precision =
      resolve_precision(options.precision, PrecisionUse::estimate, [&](DType t) { return hw.supports(t); });
  prog.batch = options.batch;
  prog.comm_overlap = options.system && options.system->comm_engines;
  lowering::Lowering l(g, hw, options, prog);
  lowering::classify_nodes(l);
  lowering::group_epilogues(l);
  lowering::group_attention(l);
  lowering::fold_views(l);
  lowering::size_spatial_regions(l);
  lowering::choose_matrix_tiles(l);
  lowering::place_layers(l);
  lowering::assign_weight_homes(l);
  lowering::retile_resident_layers(l);
  lowering::describe_layers(l);
  lowering::emit_instructions(l);
  prog.validate(hw.cores);
  return prog;
}

Program compile_for_npu(const Graph& graph, const HardwareDesc& hw, const NpuCompileOptions& options) {
  auto g = prepare_for_npu(graph, options);
  return lower_for_npu(*g, hw, options);
}

}  // namespace wafer::npu
