// The `npu` compiler: lowering, residency, placement and instruction emission.
//
// One Layer per node of the optimized graph. Matrix layers (Conv, Gemm,
// MatMul) are tiled by the cost model (compiler_tiling.cpp) and their output
// tiles spread over a bounded number of cores; every other op becomes
// vector-unit work from the op table (compiler_ops.cpp). Activations live in
// the global buffer, the cores' scratchpads or off-chip memory by size;
// weights are resident (scratchpads, else global buffer) when they fit,
// greedily by reuse, else streamed from off-chip per use.
#include "npu/compiler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "npu/compiler_ops.h"
#include "npu/compiler_tiling.h"
#include "npu/wave_compressor.h"
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

namespace {

int64_t cdiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Where a value lives and who can read it.
struct ValInfo {
  MemLevel level = MemLevel::OffChip;
  int first_core = 0, num_cores = 1;  // producer cores (for Scratchpad)
  int ready = -1;                     // instruction after which it is complete (-1: at start)
  int layer = -1;
};

struct Emitter {
  Program& prog;
  const HardwareDesc& hw;
  int replicas = 1;  // what emit() stamps on instructions (Instr::replicas)
  int emit(Instr in) {
    in.replicas = replicas;
    prog.instrs.push_back(std::move(in));
    return int(prog.instrs.size()) - 1;
  }
  static void add_dep(std::vector<int>& deps, int d) {
    if (d >= 0 && std::find(deps.begin(), deps.end(), d) == deps.end()) deps.push_back(d);
  }
  // Brings `bytes` of value `v` into core `core`'s scratchpad.
  int fetch(const ValInfo& v, int core, uint64_t bytes, int layer, const std::string& what, std::vector<int> deps) {
    add_dep(deps, v.ready);
    Instr in;
    in.layer = layer;
    in.core = core;
    in.bytes = bytes;
    in.what = what;
    in.dst = MemLevel::Scratchpad;
    in.src = v.level;
    in.deps = std::move(deps);
    if (v.level == MemLevel::Scratchpad && (core < v.first_core || core >= v.first_core + v.num_cores)) {
      in.kind = OpKind::Transfer;  // over the NoC from a producer core
      in.core = v.first_core + core % v.num_cores;
      in.peer_core = core;
    } else {
      in.kind = OpKind::Load;
    }
    return emit(std::move(in));
  }
};

struct Plan {
  const Node* node = nullptr;
  std::optional<GemmView> gemm;
  std::vector<VectorWork> work;
  TileChoice tiles;
  TileProblem problem;  // what the tiles were chosen for
  std::string weight;   // initializer name of the weights (matrix layers)
};

}  // namespace

Program lower_for_npu(const Graph& g, const HardwareDesc& hw, const NpuCompileOptions& options) {
  Program prog;
  prog.model = g.name;
  prog.hw_name = hw.name;
  prog.precision =
      resolve_precision(options.precision, PrecisionUse::estimate, [&](DType t) { return hw.supports(t); });
  prog.batch = options.batch;
  const DType tdt = timing_dtype(hw, prog.precision);
  const uint64_t eb = dtype_size(prog.precision);
  const double clock = hw.clock_hz;
  const double offchip_bpc = hw.offchip ? hw.offchip->bandwidth_bytes_per_s / clock : 0;
  const double dma_latency = hw.offchip ? hw.offchip->latency_s * clock : 0;
  const int matrix_cap = std::min(hw.cores, 1024);
  const bool rotate = hw.cores > 4 * matrix_cap;  // wafer-scale: consecutive layers on different cores
  const auto& vec_cpe = hw.vector.cycles_per_element;

  // 1. Classify every node; collect all that cannot be costed.
  std::vector<Plan> plans;
  std::vector<std::string> unsupported;
  for (const auto& np : g.nodes) {
    const Node& node = *np;
    Plan p;
    p.node = &node;
    try {
      p.gemm = gemm_view(g, node);
      if (!p.gemm) {
        auto w = vector_work(g, node);
        if (!w) {
          unsupported.push_back(node.label() + " (op " + node.op_type + " has no NPU cost model)");
          continue;
        }
        for (const auto& vw : *w)
          if (vw.op_class != "move" && !vec_cpe.count(vw.op_class))
            fail("npu compile: ", node.label(), ": hardware ", hw.name, " has no vector cost for op class '",
                 vw.op_class, "'");
        p.work = *w;
      }
    } catch (const UnsupportedError& e) {
      unsupported.push_back(e.what());
      continue;
    }
    plans.push_back(std::move(p));
  }
  if (!unsupported.empty()) {
    std::ostringstream os;
    os << "npu backend cannot cost " << unsupported.size() << " node(s):";
    for (const auto& u : unsupported) os << "\n  " << u;
    throw UnsupportedError(os.str());
  }

  // 1b. Epilogue fusion: the element-wise nodes right after a matrix layer that only transform its output
  // (bias, activation, residual add, GELU's pieces) run on its output tiles with the vector unit before the
  // store, so their intermediates never leave the core. A group ends at the first node that is not
  // element-wise over the whole output or reads none of the group's values; a value of the group read
  // outside it ends the group before that value's producer (only the group's last value is stored).
  std::vector<std::vector<size_t>> epilogue(plans.size());
  std::vector<bool> fused(plans.size(), false);
  {
    std::map<std::string, int> readers;
    for (const auto& np : g.nodes)
      for (const auto& in : np->inputs)
        if (!in.empty()) ++readers[in];
    for (const auto& o : g.outputs) ++readers[o];
    for (size_t i = 0; i < plans.size(); ++i) {
      if (!plans[i].gemm) continue;
      const std::string& mout = plans[i].node->outputs.at(0);
      const int64_t n_out = known_numel(g, mout);
      if (n_out <= 0) continue;
      std::vector<size_t> group;
      std::set<std::string> inside = {mout};
      for (size_t j = i + 1; j < plans.size(); ++j) {
        const Node& n = *plans[j].node;
        if (plans[j].gemm || !is_epilogue_op(n) || known_numel(g, n.outputs[0]) != n_out) break;
        bool reads_group = false;
        for (const auto& in : n.inputs) reads_group |= !in.empty() && inside.count(in) > 0;
        if (!reads_group) break;
        group.push_back(j);
        inside.insert(n.outputs[0]);
      }
      // Trim until every value but the last is read only inside the group.
      while (!group.empty()) {
        std::map<std::string, int> inner;
        for (size_t j : group)
          for (const auto& in : plans[j].node->inputs)
            if (!in.empty()) ++inner[in];
        const std::string& last = plans[group.back()].node->outputs[0];
        bool ok = readers[mout] == inner[mout];
        for (size_t j : group) {
          const std::string& v = plans[j].node->outputs[0];
          if (v != last) ok = ok && readers[v] == inner[v];
        }
        if (ok) break;
        group.pop_back();
      }
      for (size_t j : group) fused[j] = true;
      epilogue[i] = std::move(group);
    }
  }

  auto value_bytes = [&](const std::string& v) -> uint64_t {
    int64_t n = known_numel(g, v);
    return n > 0 ? uint64_t(n) * eb : 0;
  };
  auto act_level = [&](uint64_t bytes, int cores) {
    if (hw.global_buffer && bytes <= hw.global_buffer->size_bytes / 4) return MemLevel::GlobalBuffer;
    if (!hw.offchip || bytes <= uint64_t(cores) * hw.scratchpad.size_bytes / 4) return MemLevel::Scratchpad;
    return MemLevel::OffChip;
  };

  // 2. Tiles for matrix layers (weights assumed streamed; residency is decided after).
  for (Plan& p : plans) {
    if (!p.gemm) continue;
    const Node& node = *p.node;
    TileProblem tp;
    tp.layer = node.name;
    tp.m = p.gemm->m, tp.k = p.gemm->k, tp.n = p.gemm->n, tp.groups = p.gemm->groups;
    tp.input_reuse = p.gemm->input_reuse;
    tp.elem_bytes = int(eb);
    tp.core_bytes_per_cycle = std::max(1.0, hw.scratchpad.bytes_per_cycle);
    MemLevel in_level = act_level(value_bytes(node.inputs[0]), matrix_cap);
    tp.input_bytes_per_cycle = in_level == MemLevel::OffChip        ? offchip_bpc
                               : in_level == MemLevel::GlobalBuffer ? hw.global_buffer->bytes_per_cycle
                                                                    : 1e30;
    tp.weight_bytes_per_cycle = offchip_bpc > 0 ? offchip_bpc : tp.core_bytes_per_cycle;
    if (hw.global_buffer && hw.offchip) {
      tp.stage_bytes = hw.global_buffer->size_bytes / 4;  // as the emitter stages below
      tp.stage_bytes_per_cycle = hw.global_buffer->bytes_per_cycle;
      tp.input_offchip = in_level == MemLevel::OffChip;
    }
    tp.dma_latency_cycles = dma_latency;
    tp.max_cores = matrix_cap;
    const std::string& w = node.inputs.at(size_t(p.gemm->weight_input));
    if (g.is_initializer(w)) p.weight = w;
    tp.weights_streamed = !p.weight.empty();
    if (!hw.offchip && !p.weight.empty()) {  // all weights live on the layer's cores: tiles leave room for them
      tp.weights_on_cores = g.initializer(p.weight)->numel() * eb;
      p.tiles = choose_tiles(hw, tdt, tp, hw.scratchpad.size_bytes);
      continue;
    }
    p.problem = tp;
    try {
      p.tiles = choose_tiles(hw, tdt, tp, hw.scratchpad.size_bytes / 2);  // leave half for resident weights
    } catch (const Error&) {
      p.tiles = choose_tiles(hw, tdt, tp, hw.scratchpad.size_bytes);
    }
  }

  // 3. Placement: a contiguous range of cores per layer.
  std::vector<int> first_core(plans.size(), 0), num_cores(plans.size(), 1);
  int next_core = 0;
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan& p = plans[i];
    if (fused[i]) continue;  // on its matrix layer's cores (below)
    int want = 1;
    if (p.gemm) {
      want = p.tiles.cores;
    } else if (!p.work.empty()) {
      int64_t elems = 0;
      for (const auto& vw : p.work) elems = std::max(elems, vw.elements);
      want =
          int(std::clamp<int64_t>(cdiv(elems, int64_t(std::max(1, hw.vector.lanes)) * 64), 1, std::min(hw.cores, 256)));
    }
    if (rotate) {
      if (next_core + want > hw.cores) next_core = 0;
      first_core[i] = next_core;
      next_core += want;
    }
    num_cores[i] = want;
  }
  for (size_t i = 0; i < plans.size(); ++i)
    for (size_t j : epilogue[i]) first_core[j] = first_core[i], num_cores[j] = num_cores[i];

  // 4. Weight residency: greedy by reuse (row tiles that re-read the weights), largest first.
  std::vector<uint64_t> core_used(size_t(hw.cores), 0);
  for (size_t i = 0; i < plans.size(); ++i)
    if (plans[i].gemm)
      for (int c = first_core[i]; c < first_core[i] + num_cores[i]; ++c)
        core_used[size_t(c)] = std::max<uint64_t>(core_used[size_t(c)], plans[i].tiles.working_set_bytes);
  const std::vector<uint64_t> working_sets = core_used;                        // before any resident weight
  uint64_t gb_free = hw.global_buffer ? hw.global_buffer->size_bytes / 2 : 0;  // half kept for activations
  std::vector<size_t> order;
  for (size_t i = 0; i < plans.size(); ++i)
    if (!plans[i].weight.empty()) order.push_back(i);
  auto reuse = [&](size_t i) { return plans[i].gemm->groups * cdiv(plans[i].gemm->m, plans[i].tiles.tm); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return reuse(a) > reuse(b); });
  std::vector<MemLevel> weight_home(plans.size(), MemLevel::OffChip);
  for (size_t i : order) {
    uint64_t wb = g.initializer(plans[i].weight)->numel() * eb;
    uint64_t share = uint64_t(cdiv(int64_t(wb), num_cores[i]));
    bool fits = true;
    for (int c = first_core[i]; c < first_core[i] + num_cores[i] && fits; ++c)
      fits = core_used[size_t(c)] + share <= hw.scratchpad.size_bytes;
    if (fits) {
      for (int c = first_core[i]; c < first_core[i] + num_cores[i]; ++c) core_used[size_t(c)] += share;
      weight_home[i] = MemLevel::Scratchpad;
    } else if (wb <= gb_free) {
      gb_free -= wb;
      weight_home[i] = MemLevel::GlobalBuffer;
    } else if (!hw.offchip) {
      fail("npu compile: layer ", plans[i].node->name, ": ", wb, " B of weights do not fit on chip (", num_cores[i],
           " cores x ", hw.scratchpad.size_bytes, " B scratchpad) and ", hw.name, " has no off-chip memory");
    }
  }

  // 4b. Layers whose weights became resident in the scratchpads are tiled again for what they are now:
  // no weight stream, a scratchpad budget less every resident weight on their cores. The core count stays.
  for (size_t i = 0; i < plans.size(); ++i) {
    if (weight_home[i] != MemLevel::Scratchpad || !hw.offchip) continue;
    Plan& p = plans[i];
    TileProblem tp = p.problem;
    tp.weights_streamed = false;
    tp.max_cores = num_cores[i];
    uint64_t budget = hw.scratchpad.size_bytes;
    for (int c = first_core[i]; c < first_core[i] + num_cores[i]; ++c)
      budget = std::min(budget, hw.scratchpad.size_bytes - (core_used[size_t(c)] - working_sets[size_t(c)]));
    try {
      TileChoice t = choose_tiles(hw, tdt, tp, budget);
      if (t.cores == num_cores[i] && t.est_cycles < p.tiles.est_cycles) p.tiles = t;
    } catch (const Error&) {
      // no tiling fits beside the weights: keep the one placement was done with
    }
  }

  // 5. Layers.
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan& p = plans[i];
    Layer l;
    l.name = p.node->name;
    l.op_type = p.node->op_type;
    for (int c = first_core[i]; c < first_core[i] + num_cores[i]; ++c) l.cores.push_back(c);
    if (p.gemm) {
      l.unit = "matrix";
      l.gemm_m = p.gemm->m, l.gemm_k = p.gemm->k, l.gemm_n = p.gemm->n, l.groups = p.gemm->groups;
      l.macs = l.gemm_m * l.gemm_k * l.gemm_n * l.groups;
      l.tile_m = p.tiles.tm, l.tile_k = p.tiles.tk, l.tile_n = p.tiles.tn;
      if (!p.weight.empty()) {
        l.weight_bytes = g.initializer(p.weight)->numel() * eb;
        l.weight_home = weight_home[i];
        l.weights_resident = weight_home[i] != MemLevel::OffChip;
        prog.weight_bytes_total += l.weight_bytes;
        if (l.weights_resident) prog.resident_weight_bytes += l.weight_bytes;
      }
    } else {
      l.unit = fused[i] ? "epilogue" : p.work.empty() ? "none" : "vector";
      for (const auto& vw : p.work) l.vector_elements += vw.elements;
      for (const auto& in : p.node->inputs)
        if (!in.empty() && g.is_initializer(in)) l.weight_bytes += value_bytes(in);
    }
    prog.layers.push_back(std::move(l));
  }

  // 6. Instructions.
  Emitter em{prog, hw};
  const MemLevel stream_level = hw.offchip ? MemLevel::OffChip : MemLevel::Scratchpad;
  // Prologue: resident weights loaded once (attributed to no layer).
  std::vector<std::vector<int>> resident_load(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const Layer& l = prog.layers[i];
    if (!l.weights_resident || !hw.offchip) continue;
    if (l.weight_home == MemLevel::GlobalBuffer) {
      Instr in{OpKind::Load, -1, l.cores[0]};
      in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.bytes = l.weight_bytes, in.what = "weights";
      resident_load[i].assign(l.cores.size(), em.emit(std::move(in)));
    } else {
      uint64_t share = uint64_t(cdiv(int64_t(l.weight_bytes), int64_t(l.cores.size())));
      for (int c : l.cores) {
        Instr in{OpKind::Load, -1, c};
        in.src = MemLevel::OffChip, in.dst = MemLevel::Scratchpad, in.bytes = share, in.what = "weights";
        resident_load[i].push_back(em.emit(std::move(in)));
      }
    }
  }

  std::map<std::string, ValInfo> vals;
  for (const auto& in : g.inputs) vals[in] = {hw.offchip ? MemLevel::OffChip : MemLevel::Scratchpad, 0, 1, -1, -1};
  auto info = [&](const std::string& v) -> const ValInfo& {
    auto it = vals.find(v);
    check(it != vals.end(), "npu compile: value '", v, "' has no producer");
    return it->second;
  };

  for (size_t li = 0; li < plans.size(); ++li) {
    const Plan& p = plans[li];
    const Node& node = *p.node;
    const Layer& L = prog.layers[li];
    const int layer = int(li);
    const int fc = first_core[li], nc = num_cores[li];
    std::vector<int> finals;
    auto out_info = [&](const std::string& v) {
      ValInfo o;
      o.level = act_level(value_bytes(v), nc);
      o.first_core = fc, o.num_cores = nc, o.layer = layer;
      return o;
    };

    if (L.unit == "epilogue") continue;  // emitted with its matrix layer's tiles
    if (L.unit == "none") {
      ValInfo o;
      o.level = MemLevel::Scratchpad;
      for (const auto& in : node.inputs)
        if (!in.empty() && vals.count(in)) {
          o = vals[in];
          break;
        }
      for (const auto& out : node.outputs)
        if (!out.empty()) vals[out] = o;
      continue;
    }

    if (L.unit == "matrix") {
      const GemmView& gv = *p.gemm;
      ValInfo a = info(node.inputs[0]);
      const bool const_w = !p.weight.empty();
      const ValInfo b = const_w ? ValInfo{} : info(node.inputs[1]);
      // With an epilogue the layer stores the group's last value; the others never leave the cores.
      const std::string& out_name =
          epilogue[li].empty() ? node.outputs.at(0) : plans[epilogue[li].back()].node->outputs.at(0);
      const int64_t out_numel = known_numel(g, node.outputs.at(0));
      std::set<std::string> group_values = {node.outputs.at(0)};
      for (size_t j : epilogue[li]) group_values.insert(plans[j].node->outputs.at(0));
      ValInfo o = out_info(out_name);
      const int64_t tm = L.tile_m, tk = L.tile_k, tn = L.tile_n;
      const int64_t mt = cdiv(gv.m, tm), kt = cdiv(gv.k, tk), nt = cdiv(gv.n, tn);
      // The global buffer as a working set (a GPU's L2): an off-chip operand that the tiles read more
      // than once and that fits a quarter of it is read from off-chip once, re-read from the buffer.
      const uint64_t stage_limit = hw.global_buffer ? hw.global_buffer->size_bytes / 4 : 0;
      auto stage = [&](uint64_t bytes, int after, const char* what) {
        Instr in{OpKind::Load, layer, fc};
        in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.bytes = bytes, in.what = what;
        Emitter::add_dep(in.deps, after);
        return em.emit(std::move(in));
      };
      const uint64_t a_bytes = uint64_t(std::ceil(double(value_bytes(node.inputs[0])) / gv.input_reuse));
      if (a.level == MemLevel::OffChip && nt > 1 && a_bytes > 0 && a_bytes <= stage_limit) {
        a.ready = stage(a_bytes, a.ready, "input");
        a.level = MemLevel::GlobalBuffer;
      }
      MemLevel weight_src = L.weight_home == MemLevel::GlobalBuffer ? MemLevel::GlobalBuffer : stream_level;
      int weight_staged = -1;
      if (const_w && L.weight_home == MemLevel::OffChip && hw.offchip && (mt > 1 || gv.groups > 1) &&
          L.weight_bytes <= stage_limit) {
        weight_staged = stage(L.weight_bytes, -1, "weights");
        weight_src = MemLevel::GlobalBuffer;
      }
      const int64_t total = gv.groups * mt * nt;
      // Raster: an off-chip input too large to stage whole would be re-read from off-chip once per column
      // tile. Tiles then walk each row's column tiles consecutively (CUTLASS's rasterization along N), so a
      // wave covers whole rows: each row panel of the input (tile_m rows x K) is staged in the global buffer
      // once, by the row's first tile, and the row's tiles read it there. Needs the panels of two waves to fit
      // the staging quarter and the weights not streamed from off-chip (they are re-read per wave).
      const uint64_t panel_bytes = uint64_t(std::ceil(double(tm * gv.k) * double(eb) / gv.input_reuse));
      const bool row_panels = a.level == MemLevel::OffChip && nt > 1 && stage_limit > 0 &&
                              (!const_w || L.weight_home != MemLevel::OffChip || weight_staged >= 0) &&
                              2 * uint64_t(cdiv(nc, nt) + 1) * panel_bytes <= stage_limit;
      int row_stage = -1;  // the Load that staged the current row's panel
      struct CoreState {
        std::vector<int> slot_user;  // the MatMul that last read each operand buffer
        int64_t counter = 0;
        int64_t w_key = -1;
        int w_instr = -1;
      };
      const int stages = std::max(2, p.tiles.stages);
      std::vector<CoreState> st(static_cast<size_t>(nc));
      for (auto& cs : st) cs.slot_user.assign(size_t(stages), -1);
      // Output tiles go to the cores round-robin, a wave of one tile per core at a time, as a GPU launches a
      // grid's thread blocks over its SMs. A timing program emits each wave as its first core's tile standing
      // for all of them (Instr::replicas), and keeps one wave of each run of identical waves.
      const bool representative = !options.for_execution;
      WaveCompressor waves(prog, representative);
      auto drop_wave = [&](int dropped) {
        for (auto& cs : st) {
          for (int& u : cs.slot_user) u = waves.shift(u, dropped);
          cs.w_instr = waves.shift(cs.w_instr, dropped);
        }
        row_stage = waves.shift(row_stage, dropped);
        std::erase_if(finals, [&](int f) { return f >= int(prog.instrs.size()); });
      };
      auto end_wave = [&] {
        em.replicas = 1;
        if (int dropped = waves.end_wave()) drop_wave(dropped);
      };
      auto stage_rows = [&](int core, int rows) {
        Instr in{OpKind::Load, layer, core};
        in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.bytes = panel_bytes, in.what = "input";
        in.replicas = rows;
        Emitter::add_dep(in.deps, a.ready);
        row_stage = int(prog.instrs.size());
        prog.instrs.push_back(std::move(in));
      };
      for (int64_t t = 0; t < total; ++t) {
        const int64_t grp = t / (mt * nt), rem = t % (mt * nt);
        const int64_t mi = row_panels ? rem / nt : rem % mt, ni = row_panels ? rem % nt : rem / mt;
        const int ci = int(t % nc);
        const int core = fc + ci;
        const bool wave_end = ci == nc - 1 || t + 1 == total;
        const int64_t wave_tiles = std::min<int64_t>(nc, total - t);  // at the wave's first tile
        if (ci == 0) {
          waves.begin_wave();
          if (representative) {
            em.replicas = int(wave_tiles);
            // The representative stages the panels of every row that starts in its wave.
            int rows = 0;
            for (int64_t u = t; u < t + wave_tiles; ++u) rows += row_panels && (u % (mt * nt)) % nt == 0;
            if (rows > 0) stage_rows(core, rows);
          }
        }
        if (representative && ci > 0) {
          if (wave_end) end_wave();
          continue;
        }
        if (row_panels && !representative && ni == 0) stage_rows(core, 1);
        ValInfo a_tile = a;
        if (row_panels) a_tile.level = MemLevel::GlobalBuffer, a_tile.ready = row_stage;
        CoreState& cs = st[size_t(ci)];
        const int64_t m0 = mi * tm, m1 = std::min(gv.m, m0 + tm), n0 = ni * tn, n1 = std::min(gv.n, n0 + tn);
        int prev_mm = -1;
        for (int64_t ki = 0; ki < kt; ++ki) {
          const int64_t k0 = ki * tk, k1 = std::min(gv.k, k0 + tk);
          const size_t slot = size_t(cs.counter++ % stages);
          std::vector<int> slot_dep;
          Emitter::add_dep(slot_dep, cs.slot_user[slot]);  // a ring of `stages` buffers: wait for tile i-stages
          const double in_tile = double((m1 - m0) * (k1 - k0)) * double(eb) / gv.input_reuse;  // implicit GEMM
          int in_i = em.fetch(a_tile, core, uint64_t(std::ceil(in_tile)), layer, "input", slot_dep);
          int w_i = -1;
          const uint64_t wbytes = uint64_t((k1 - k0) * (n1 - n0)) * eb;
          if (!const_w) {
            w_i = em.fetch(b, core, wbytes, layer, "input", slot_dep);
          } else if (L.weight_home == MemLevel::Scratchpad) {
            w_i = resident_load[li].empty() ? -1 : resident_load[li][size_t(ci)];
          } else {
            const int64_t key = (grp * nt + ni) * kt + ki;
            if (kt == 1 && cs.w_key == key) {
              // The weight tile is still in the buffer: after the last tile that used it (in order on the
              // core's units, so as if after its load, and a dependency one wave back, not many).
              w_i = cs.w_instr;
            } else {
              Instr in{OpKind::Load, layer, core};
              in.src = weight_src;
              in.dst = MemLevel::Scratchpad, in.bytes = wbytes, in.what = "weights", in.deps = slot_dep;
              if (L.weight_home == MemLevel::GlobalBuffer) Emitter::add_dep(in.deps, resident_load[li].at(0));
              Emitter::add_dep(in.deps, weight_staged);
              w_i = em.emit(std::move(in));
              cs.w_key = key, cs.w_instr = w_i;
            }
          }
          Instr mm{OpKind::MatMul, layer, core};
          mm.m0 = m0, mm.m1 = m1, mm.k0 = k0, mm.k1 = k1, mm.n0 = n0, mm.n1 = n1, mm.group = grp;
          mm.dtype = prog.precision;
          Emitter::add_dep(mm.deps, in_i);
          Emitter::add_dep(mm.deps, w_i);
          Emitter::add_dep(mm.deps, prev_mm);
          prev_mm = em.emit(std::move(mm));
          cs.slot_user[slot] = prev_mm;
          if (const_w && L.weight_home != MemLevel::Scratchpad) cs.w_instr = prev_mm;
        }
        // The epilogue on the tile: its share of each fused node's vector work; operands as large as
        // the output (a residual) arrive tile by tile.
        int last = prev_mm;
        const int64_t tile_elems = (m1 - m0) * (n1 - n0);
        for (size_t j : epilogue[li]) {
          std::vector<int> deps = {last};
          for (const auto& in : plans[j].node->inputs) {
            if (in.empty() || group_values.count(in) || g.is_initializer(in)) continue;
            if (known_numel(g, in) == out_numel)
              deps.push_back(em.fetch(info(in), core, uint64_t(tile_elems) * eb, layer, "input", {}));
          }
          for (const auto& vw : plans[j].work) {
            Instr v{OpKind::Vector, layer, core};
            v.elements = std::max<int64_t>(1, cdiv(vw.elements * tile_elems, std::max<int64_t>(1, out_numel)));
            v.op_class = vw.op_class;
            v.deps = deps;
            last = em.emit(std::move(v));
            deps = {last};
          }
        }
        Instr s{OpKind::Store, layer, core};
        s.src = MemLevel::Accumulator, s.dst = o.level == MemLevel::Scratchpad ? MemLevel::Scratchpad : o.level;
        s.bytes = uint64_t(tile_elems) * eb, s.what = "output", s.deps = {last};
        finals.push_back(em.emit(std::move(s)));
        if (wave_end) end_wave();
      }
      // Bias and other constant operands (Conv B, Gemm C): small, loaded with the layer.
      for (size_t ii = 0; ii < node.inputs.size(); ++ii) {
        const std::string& in = node.inputs[ii];
        if (in.empty() || int(ii) == gv.weight_input || ii == 0) continue;
        uint64_t bytes = value_bytes(in);
        if (bytes == 0) continue;
        int f = g.is_initializer(in) ? em.fetch(ValInfo{stream_level, fc, 1, -1, -1}, fc, bytes, layer, "weights", {})
                                     : em.fetch(info(in), fc, bytes, layer, "input", {});
        finals.push_back(f);
      }
      // The epilogue's constants (biases, scales) and smaller operands: loaded with the layer.
      for (size_t j : epilogue[li])
        for (const auto& in : plans[j].node->inputs) {
          if (in.empty() || group_values.count(in)) continue;
          const uint64_t bytes = value_bytes(in);
          if (bytes == 0 || (!g.is_initializer(in) && known_numel(g, in) == out_numel)) continue;
          finals.push_back(g.is_initializer(in)
                               ? em.fetch(ValInfo{stream_level, fc, 1, -1, -1}, fc, bytes, layer, "weights", {})
                               : em.fetch(info(in), fc, bytes, layer, "input", {}));
        }
      Instr bar{OpKind::Barrier, layer, fc};
      bar.deps = finals;
      o.ready = em.emit(std::move(bar));
      for (const auto& v : group_values) vals[v] = o;
      vals[out_name] = o;
      continue;
    }

    // Vector layer: the work split evenly over its cores.
    std::vector<ValInfo> outs;
    for (int ci = 0; ci < nc; ++ci) {
      const int core = fc + ci;
      std::vector<int> deps;
      for (const auto& in : node.inputs) {
        if (in.empty()) continue;
        uint64_t bytes = value_bytes(in);
        if (bytes == 0) continue;
        if (g.is_initializer(in)) {
          if (ci == 0)
            deps.push_back(em.fetch(ValInfo{stream_level, fc, 1, -1, -1}, core, bytes, layer, "weights", {}));
          continue;
        }
        const ValInfo& vi = info(in);
        if (vi.level == MemLevel::Scratchpad && core >= vi.first_core && core < vi.first_core + vi.num_cores) {
          Emitter::add_dep(deps, vi.ready);  // already local
          continue;
        }
        deps.push_back(em.fetch(vi, core, uint64_t(cdiv(int64_t(bytes), nc)), layer, "input", {}));
      }
      int last = -1;
      for (const auto& vw : p.work) {
        Instr v{OpKind::Vector, layer, core};
        v.elements = std::max<int64_t>(1, cdiv(vw.elements, nc));
        v.op_class = vw.op_class;
        v.deps = last >= 0 ? std::vector<int>{last} : deps;
        last = em.emit(std::move(v));
      }
      for (const auto& out : node.outputs) {
        if (out.empty()) continue;
        ValInfo o = out_info(out);
        if (o.level != MemLevel::Scratchpad && value_bytes(out) > 0) {
          Instr s{OpKind::Store, layer, core};
          s.src = MemLevel::Scratchpad, s.dst = o.level, s.bytes = uint64_t(cdiv(int64_t(value_bytes(out)), nc));
          s.what = "output";
          s.deps = {last};
          finals.push_back(em.emit(std::move(s)));
        } else {
          finals.push_back(last);
        }
      }
    }
    Instr bar{OpKind::Barrier, layer, fc};
    for (int f : finals) Emitter::add_dep(bar.deps, f);
    int ready = em.emit(std::move(bar));
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      ValInfo o = out_info(out);
      o.ready = ready;
      vals[out] = o;
    }
  }

  // Epilogue: graph outputs written back to off-chip memory.
  for (const auto& out : g.outputs) {
    auto it = vals.find(out);
    if (!hw.offchip || it == vals.end() || it->second.level == MemLevel::OffChip || value_bytes(out) == 0) continue;
    Instr s{OpKind::Store, it->second.layer, it->second.first_core};
    s.src = it->second.level, s.dst = MemLevel::OffChip, s.bytes = value_bytes(out), s.what = "output";
    if (it->second.ready >= 0) s.deps = {it->second.ready};
    em.emit(std::move(s));
  }
  prog.validate(hw.cores);
  return prog;
}

Program compile_for_npu(const Graph& graph, const HardwareDesc& hw, const NpuCompileOptions& options) {
  auto g = prepare_for_npu(graph, options);
  return lower_for_npu(*g, hw, options);
}

}  // namespace wafer::npu
