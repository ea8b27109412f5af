// The npu compiler's placement jobs: spatial regions, tiles for matrix layers, a range of cores per layer,
// where each layer's weights live, re-tiling the layers whose weights became resident, and the Layer
// records of the program.
#include <algorithm>

#include "core/error.h"
#include "npu/compiler_lowering.h"

namespace wafer::npu::lowering {

namespace {

// A layer's cycles on one core, the measure spatial regions are sized by.
double single_core_cycles(const Lowering& l, const Plan& p) {
  if (p.gemm) {
    const double core_macs = std::max(1, l.hw.matrix.units) * l.hw.matrix.macs_per_cycle.at(l.tdt);
    const GemmView& gv = *p.gemm;
    return double(gv.groups) * double(gv.m) * double(gv.k) * double(gv.n) / core_macs;
  }
  const auto& vec_cpe = l.hw.vector.cycles_per_element;
  double cycles = 0;
  for (const auto& vw : p.work) {
    auto it = vec_cpe.find(vw.op_class);
    cycles += double(vw.elements) * (it != vec_cpe.end() ? it->second : 1.0) / std::max(1, l.hw.vector.lanes);
  }
  return cycles;
}

}  // namespace

// Spatial designs: regions in proportion to each layer's cycles on one core, at least one core each.
void size_spatial_regions(Lowering& l) {
  l.region.assign(l.plans.size(), l.matrix_cap);
  if (!l.spatial) return;
  std::vector<double> work(l.plans.size(), 0);
  double total = 0;
  int layers = 0;
  for (size_t i = 0; i < l.plans.size(); ++i) {
    if (l.fused[i]) continue;
    work[i] = single_core_cycles(l, l.plans[i]);
    total += work[i];
    ++layers;
  }
  const double spare = std::max(0, l.hw.cores - layers);
  for (size_t i = 0; i < l.plans.size(); ++i)
    if (!l.fused[i]) l.region[i] = 1 + (total > 0 ? int(spare * work[i] / total) : 0);
}

// Tiles for matrix layers (weights assumed streamed; residency is decided after).
void choose_matrix_tiles(Lowering& l) {
  const HardwareDesc& hw = l.hw;
  for (size_t pi = 0; pi < l.plans.size(); ++pi) {
    Plan& p = l.plans[pi];
    if (!p.gemm) continue;
    if (l.attention[pi] || l.attention_of[pi] >= 0) {  // a fused attention's MatMuls: its blocking
      const AttentionPlan& a = *l.attention[l.attention[pi] ? pi : size_t(l.attention_of[pi])];
      p.tiles = pi == a.qk ? a.qk_tiles : a.pv_tiles;
      continue;
    }
    const Node& node = *p.node;
    TileProblem tp;
    tp.layer = node.name;
    tp.m = p.gemm->m, tp.k = p.gemm->k, tp.n = p.gemm->n, tp.groups = p.gemm->groups;
    tp.input_reuse = p.gemm->input_reuse;
    tp.elem_bytes = int(l.eb);
    tp.core_bytes_per_cycle = std::max(1.0, hw.scratchpad.bytes_per_cycle);
    MemLevel in_level = l.act_level(l.value_bytes(node.inputs[0]), l.matrix_cap);
    tp.input_bytes_per_cycle = in_level == MemLevel::OffChip        ? l.offchip_bpc
                               : in_level == MemLevel::GlobalBuffer ? hw.global_buffer->bytes_per_cycle
                                                                    : 1e30;
    tp.weight_bytes_per_cycle = l.offchip_bpc > 0 ? l.offchip_bpc : tp.core_bytes_per_cycle;
    if (hw.global_buffer && hw.offchip) {
      tp.stage_bytes = hw.global_buffer->size_bytes / 4;  // as the emitter stages (compiler_emit.cpp)
      tp.stage_bytes_per_cycle = hw.global_buffer->bytes_per_cycle;
      tp.input_offchip = in_level == MemLevel::OffChip;
    }
    tp.dma_latency_cycles = l.dma_latency;
    tp.max_cores = l.region[pi];
    tp.granularity = std::max(1, l.options.tile_granularity);
    const std::string& w = node.inputs.at(size_t(p.gemm->weight_input));
    if (l.g.is_initializer(w)) p.weight = w;
    tp.weights_streamed = !p.weight.empty();
    if (!hw.offchip && !p.weight.empty()) {  // all weights live on the layer's cores: tiles leave room for them
      tp.weights_on_cores = l.g.initializer(p.weight)->numel() * l.eb;
      tp.noc_bytes_per_cycle =
          hw.noc.bytes_per_cycle_per_link > 0 ? hw.noc.bytes_per_cycle_per_link : hw.scratchpad.bytes_per_cycle;
      tp.noc_hop_cycles = hw.noc.hop_latency_cycles;
      auto add = hw.vector.cycles_per_element.find("add");
      tp.vector_adds_per_cycle =
          double(std::max(1, hw.vector.lanes)) / (add != hw.vector.cycles_per_element.end() ? add->second : 1.0);
      p.tiles = choose_tiles(hw, l.tdt, tp, hw.scratchpad.size_bytes);
      continue;
    }
    p.problem = tp;
    try {
      // leave half for resident weights, where the scratchpad can hold any
      p.tiles = choose_tiles(hw, l.tdt, tp, hw.scratchpad.size_bytes / (hw.scratchpad.holds_weights ? 2 : 1));
    } catch (const Error&) {
      p.tiles = choose_tiles(hw, l.tdt, tp, hw.scratchpad.size_bytes);
    }
  }
}

// Placement: a contiguous range of cores per layer; an epilogue runs on its matrix layer's cores.
void place_layers(Lowering& l) {
  const HardwareDesc& hw = l.hw;
  l.first_core.assign(l.plans.size(), 0);
  l.num_cores.assign(l.plans.size(), 1);
  int next_core = 0;
  for (size_t i = 0; i < l.plans.size(); ++i) {
    const Plan& p = l.plans[i];
    if (l.fused[i]) continue;
    int want = 1;
    if (p.gemm) {
      want = p.tiles.cores;
    } else if (!p.work.empty()) {
      int64_t elems = 0;
      for (const auto& vw : p.work) elems = std::max(elems, vw.elements);
      want = int(std::clamp<int64_t>(cdiv(elems, int64_t(std::max(1, hw.vector.lanes)) * 64), 1,
                                     l.spatial ? l.region[i] : std::min(hw.cores, 256)));
    }
    if (l.spatial) {
      if (next_core + want > hw.cores) next_core = 0;
      l.first_core[i] = next_core;
      next_core += want;
    }
    l.num_cores[i] = want;
  }
  for (size_t i = 0; i < l.plans.size(); ++i)
    for (size_t j : l.epilogue[i]) l.first_core[j] = l.first_core[i], l.num_cores[j] = l.num_cores[i];
  for (size_t i = 0; i < l.plans.size(); ++i)  // a fused attention runs on its P x V layer's cores
    if (const int pv = l.attention_of[i]; pv >= 0)
      l.first_core[i] = l.first_core[size_t(pv)], l.num_cores[i] = l.num_cores[size_t(pv)];
}

// Weight residency: greedy by reuse (row tiles that re-read the weights), largest first; a layer's weights go
// to its cores' scratchpads when they fit beside every tile working set there (and the scratchpad can feed
// weights: cores.scratchpad.holds_weights), else to the global buffer's
// half not kept for activations, else stay off-chip and are streamed per use. Weights read once in a run (one
// row tile, one group: a decode step's or a batch-1 layer's) gain nothing from a resident copy, which is
// loaded ahead of the work in the prologue: they stream under their layer's work, the same bytes once
// (where the design has off-chip memory to stream from).
void assign_weight_homes(Lowering& l) {
  const HardwareDesc& hw = l.hw;
  auto& plans = l.plans;
  l.core_used.assign(size_t(hw.cores), 0);
  for (size_t i = 0; i < plans.size(); ++i)
    if (plans[i].gemm)
      for (int c = l.first_core[i]; c < l.first_core[i] + l.num_cores[i]; ++c)
        l.core_used[size_t(c)] = std::max<uint64_t>(l.core_used[size_t(c)], plans[i].tiles.working_set_bytes);
  l.working_sets = l.core_used;
  uint64_t gb_free = hw.global_buffer ? hw.global_buffer->size_bytes / 2 : 0;
  std::vector<size_t> order;
  for (size_t i = 0; i < plans.size(); ++i)
    if (!plans[i].weight.empty()) order.push_back(i);
  auto reuse = [&](size_t i) { return plans[i].gemm->groups * cdiv(plans[i].gemm->m, plans[i].tiles.tm); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return reuse(a) > reuse(b); });
  l.weight_home.assign(plans.size(), MemLevel::OffChip);
  for (size_t i : order) {
    if (hw.offchip && reuse(i) == 1) continue;
    const int fc = l.first_core[i], nc = l.num_cores[i];
    uint64_t wb = l.g.initializer(plans[i].weight)->numel() * l.eb;
    uint64_t share = uint64_t(cdiv(int64_t(wb), nc));
    bool fits = hw.scratchpad.holds_weights;  // else the matrix units take weights from off-chip only (TPU v1)
    for (int c = fc; c < fc + nc && fits; ++c) fits = l.core_used[size_t(c)] + share <= hw.scratchpad.size_bytes;
    if (fits) {
      for (int c = fc; c < fc + nc; ++c) l.core_used[size_t(c)] += share;
      l.weight_home[i] = MemLevel::Scratchpad;
    } else if (wb <= gb_free) {
      gb_free -= wb;
      l.weight_home[i] = MemLevel::GlobalBuffer;
    } else if (!hw.offchip) {
      fail("npu compile: layer ", plans[i].node->name, ": ", wb, " B of weights do not fit on chip (", nc, " cores x ",
           hw.scratchpad.size_bytes, " B scratchpad) and ", hw.name, " has no off-chip memory");
    }
  }
}

// Layers whose weights became resident in the scratchpads are tiled again for what they are now:
// no weight stream, a scratchpad budget less every resident weight on their cores. The core count stays.
void retile_resident_layers(Lowering& l) {
  const HardwareDesc& hw = l.hw;
  for (size_t i = 0; i < l.plans.size(); ++i) {
    if (l.weight_home[i] != MemLevel::Scratchpad || !hw.offchip) continue;
    Plan& p = l.plans[i];
    TileProblem tp = p.problem;
    tp.weights_streamed = false;
    tp.max_cores = l.num_cores[i];
    uint64_t budget = hw.scratchpad.size_bytes;
    for (int c = l.first_core[i]; c < l.first_core[i] + l.num_cores[i]; ++c)
      budget = std::min(budget, hw.scratchpad.size_bytes - (l.core_used[size_t(c)] - l.working_sets[size_t(c)]));
    try {
      TileChoice t = choose_tiles(hw, l.tdt, tp, budget);
      if (t.cores == l.num_cores[i] && t.est_cycles < p.tiles.est_cycles) p.tiles = t;
    } catch (const Error&) {
      // no tiling fits beside the weights: keep the one placement was done with
    }
  }
}

// The program's Layer records: unit, cores, GEMM shape, tiles, weights and their home.
void describe_layers(Lowering& l) {
  Program& prog = l.prog;
  for (size_t i = 0; i < l.plans.size(); ++i) {
    const Plan& p = l.plans[i];
    Layer layer;
    layer.name = p.node->name;
    layer.op_type = p.node->op_type;
    for (int c = l.first_core[i]; c < l.first_core[i] + l.num_cores[i]; ++c) layer.cores.push_back(c);
    if (p.gemm) {
      layer.unit = "matrix";
      layer.gemm_m = p.gemm->m, layer.gemm_k = p.gemm->k, layer.gemm_n = p.gemm->n, layer.groups = p.gemm->groups;
      layer.macs = layer.gemm_m * layer.gemm_k * layer.gemm_n * layer.groups;
      layer.tile_m = p.tiles.tm, layer.tile_k = p.tiles.tk, layer.tile_n = p.tiles.tn;
      layer.k_split = p.tiles.k_split;
      if (!p.weight.empty()) {
        layer.weight_bytes = l.g.initializer(p.weight)->numel() * l.eb;
        layer.weight_home = l.weight_home[i];
        layer.weights_resident = l.weight_home[i] != MemLevel::OffChip;
        prog.weight_bytes_total += layer.weight_bytes;
        if (layer.weights_resident) prog.resident_weight_bytes += layer.weight_bytes;
      }
    } else {
      layer.unit = p.collective ? "comm" : l.fused[i] ? "epilogue" : p.work.empty() ? "none" : "vector";
      for (const auto& vw : p.work) layer.vector_elements += vw.elements;
      for (const auto& in : p.node->inputs)
        if (!in.empty() && l.g.is_initializer(in)) layer.weight_bytes += l.value_bytes(in);
    }
    prog.layers.push_back(std::move(layer));
  }
}

}  // namespace wafer::npu::lowering
