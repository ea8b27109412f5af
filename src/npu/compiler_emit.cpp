// The npu compiler's last job: instructions. The prologue loads resident weights; each matrix layer's output
// tiles go out in waves over its cores (staged operands, row panels, a ring of operand buffers, the fused
// epilogue, the store); each vector layer splits its work evenly over its cores; graph outputs are written
// back off-chip.
#include <cmath>
#include <optional>
#include <set>

#include "core/error.h"
#include "npu/compiler_lowering.h"
#include "npu/contention.h"
#include "npu/wave_compressor.h"

namespace wafer::npu::lowering {

int Emitter::fetch(const ValInfo& v, int core, uint64_t bytes, int layer, const std::string& what,
                   std::vector<int> deps) {
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

namespace {

// Prologue: resident weights loaded once (attributed to no layer).
void emit_resident_weight_loads(Lowering& l) {
  l.resident_load.assign(l.plans.size(), {});
  for (size_t i = 0; i < l.plans.size(); ++i) {
    const Layer& layer = l.prog.layers[i];
    if (!layer.weights_resident || !l.hw.offchip) continue;
    if (layer.weight_home == MemLevel::GlobalBuffer) {
      Instr in{OpKind::Load, -1, layer.cores[0]};
      in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.bytes = layer.weight_bytes, in.what = "weights";
      l.resident_load[i].assign(layer.cores.size(), l.em.emit(std::move(in)));
    } else {
      uint64_t share = uint64_t(cdiv(int64_t(layer.weight_bytes), int64_t(layer.cores.size())));
      for (int c : layer.cores) {
        Instr in{OpKind::Load, -1, c};
        in.src = MemLevel::OffChip, in.dst = MemLevel::Scratchpad, in.bytes = share, in.what = "weights";
        l.resident_load[i].push_back(l.em.emit(std::move(in)));
      }
    }
  }
}

// A value made on layer `li`'s cores: where it lives by its size.
ValInfo output_info(const Lowering& l, size_t li, const std::string& v) {
  ValInfo o;
  o.level = l.act_level(l.value_bytes(v), l.num_cores[li]);
  o.first_core = l.first_core[li], o.num_cores = l.num_cores[li], o.layer = int(li);
  return o;
}

// A view (Reshape, Squeeze...): its outputs are its first emitted input, where it is.
void alias_view_outputs(Lowering& l, const Node& node) {
  ValInfo o;
  o.level = MemLevel::Scratchpad;
  for (const auto& in : node.inputs)
    if (!in.empty() && l.vals.count(in)) {
      o = l.vals[in];
      break;
    }
  for (const auto& out : node.outputs)
    if (!out.empty()) l.vals[out] = o;
}

// One matrix layer: its output tiles in waves over its cores, with their epilogue, then its constants.
class MatrixLayerEmission {
 public:
  MatrixLayerEmission(Lowering& l, size_t li)
      : l_(l),
        em_(l.em),
        prog_(l.prog),
        li_(li),
        layer_(int(li)),
        p_(l.plans[li]),
        node_(*p_.node),
        L_(l.prog.layers[li]),
        gv_(*p_.gemm),
        fc_(l.first_core[li]),
        nc_(l.num_cores[li]),
        const_w_(!p_.weight.empty()),
        tm_(L_.tile_m),
        tk_(L_.tile_k),
        tn_(L_.tile_n),
        mt_(cdiv(gv_.m, tm_)),
        kt_(cdiv(gv_.k, tk_)),
        nt_(cdiv(gv_.n, tn_)),
        // The global buffer as a working set (a GPU's L2): an off-chip operand that the tiles read more
        // than once and that fits a quarter of it is read from off-chip once, re-read from the buffer.
        stage_limit_(l.hw.global_buffer ? l.hw.global_buffer->size_bytes / 4 : 0),
        representative_(!l.options.for_execution) {}

  void run() {
    a_ = l_.info(node_.inputs[0]);
    if (!const_w_) b_ = l_.info(node_.inputs[1]);
    // With an epilogue the layer stores the group's last value; the others never leave the cores.
    const auto& epi = l_.epilogue[li_];
    out_name_ = epi.empty() ? node_.outputs.at(0) : l_.plans[epi.back()].node->outputs.at(0);
    out_numel_ = known_numel(l_.g, node_.outputs.at(0));
    group_values_ = {node_.outputs.at(0)};
    for (size_t j : epi) group_values_.insert(l_.plans[j].node->outputs.at(0));
    o_ = output_info(l_, li_, out_name_);
    stage_operands();
    emit_tiles();
    emit_layer_constants();
    Instr bar{OpKind::Barrier, layer_, fc_};
    bar.deps = finals_;
    o_.ready = em_.emit(std::move(bar));
    for (const auto& v : group_values_) l_.vals[v] = o_;
    l_.vals[out_name_] = o_;
  }

 private:
  struct CoreState {
    std::vector<int> slot_user;  // the MatMul that last read each operand buffer
    // Wave blocking: the loads that last read each staged K slice buffer in the global buffer (input, weights)
    std::vector<std::pair<int, int>> slice_reader;
    int64_t counter = 0;
    int64_t w_key = -1;
    int w_instr = -1;
  };

  int stage(uint64_t bytes, int after, const char* what) {
    Instr in{OpKind::Load, layer_, fc_};
    in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.bytes = bytes, in.what = what;
    Emitter::add_dep(in.deps, after);
    return em_.emit(std::move(in));
  }

  // Off-chip operands re-read by several tiles, staged in the global buffer; and whether the input goes by
  // row panels instead.
  void stage_operands() {
    const uint64_t eb = l_.eb;
    const uint64_t a_bytes = uint64_t(std::ceil(double(l_.value_bytes(node_.inputs[0])) / gv_.input_reuse));
    if (a_.level == MemLevel::OffChip && nt_ > 1 && a_bytes > 0 && a_bytes <= stage_limit_) {
      a_.ready = stage(a_bytes, a_.ready, "input");
      a_.level = MemLevel::GlobalBuffer;
    }
    weight_src_ = L_.weight_home == MemLevel::GlobalBuffer ? MemLevel::GlobalBuffer : l_.stream_level;
    if (const_w_ && L_.weight_home == MemLevel::OffChip && l_.hw.offchip && (mt_ > 1 || gv_.groups > 1) &&
        L_.weight_bytes <= stage_limit_) {
      weight_staged_ = stage(L_.weight_bytes, -1, "weights");
      weight_src_ = MemLevel::GlobalBuffer;
    }
    // Raster: an off-chip input too large to stage whole would be re-read from off-chip once per column
    // tile. Tiles then walk each row's column tiles consecutively (CUTLASS's rasterization along N), so a
    // wave covers whole rows: each row panel of the input (tile_m rows x K) is staged in the global buffer
    // once, by the row's first tile, and the row's tiles read it there. Needs the panels of two waves to fit
    // the staging quarter and the weights not streamed from off-chip (they are re-read per wave).
    panel_bytes_ = uint64_t(std::ceil(double(tm_ * gv_.k) * double(eb) / gv_.input_reuse));
    row_panels_ = a_.level == MemLevel::OffChip && nt_ > 1 && stage_limit_ > 0 &&
                  (!const_w_ || L_.weight_home != MemLevel::OffChip || weight_staged_ >= 0) &&
                  2 * uint64_t(cdiv(nc_, nt_) + 1) * panel_bytes_ <= stage_limit_;
    // Otherwise, when both grid dims and K have several tiles and an operand is re-read from off-chip, the
    // tiles of a wave form a block (wave_block, compiler_tiling.h) and go through K together: each K slice of
    // the block's input rows and weight columns is staged from off-chip once per wave and served to its tiles
    // from the global buffer. Needs the slices of `stages` K steps to fit the staging quarter.
    a_off_ = a_.level == MemLevel::OffChip;
    w_off_ = const_w_ ? weight_src_ == MemLevel::OffChip : b_.level == MemLevel::OffChip;
    if (!row_panels_ && stage_limit_ > 0 && l_.hw.offchip && kt_ > 1 && mt_ > 1 && nt_ > 1 && (a_off_ || w_off_)) {
      const WaveBlock b = wave_block(mt_, nt_, tm_, tn_, nc_, a_off_, w_off_);
      const uint64_t slices =
          uint64_t(std::max(2, p_.tiles.stages)) * uint64_t(b.rows * tm_ + b.cols * tn_) * uint64_t(tk_) * l_.eb;
      if (slices <= stage_limit_) block_rows_ = b.rows;
    }
  }

  // Under wave blocking: the K slice `ki` of the wave's input rows and weight columns, staged once for the
  // wave by its first tile (its replicas do not repeat it).
  int stage_wave_slice(int core, int64_t ki, const std::vector<int>& after) {
    const int64_t k0 = ki * tk_, k1 = std::min(gv_.k, k0 + tk_);
    const double in_bytes = a_off_ ? double(wave_rows_ * tm_ * (k1 - k0)) * double(l_.eb) / gv_.input_reuse : 0;
    const uint64_t w_bytes = w_off_ ? uint64_t(wave_cols_ * tn_ * (k1 - k0)) * l_.eb : 0;
    Instr in{OpKind::Load, layer_, core};
    in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.what = "input";
    in.bytes = uint64_t(std::ceil(in_bytes)) + w_bytes;
    in.deps = after;
    Emitter::add_dep(in.deps, a_.ready);
    Emitter::add_dep(in.deps, b_.ready);
    prog_.instrs.push_back(std::move(in));
    return int(prog_.instrs.size()) - 1;
  }

  // Under wave blocking, the K slices of steps ki + first .. ki + end - 1 not staged yet go out, as a GPU's
  // producer issues its TMA loads ahead: each waits only for the loads that read its global-buffer slot
  // `stages` steps back, so the off-chip latency overlaps the steps between. (Staged one step at a time, the
  // core's in-order DMA queue would wait out every slice's latency before the step's fetch to the core.) The
  // look-ahead goes after the step's own fetches so that they do not queue behind it.
  void stage_slices_ahead(const CoreState& cs, int core, int64_t ki, size_t slot, int first, int end) {
    const size_t stages = cs.slice_reader.size();
    for (int64_t j = first; j < end && ki + j < kt_; ++j) {
      int& staged = wave_slice_[size_t(ki + j)];
      if (staged >= 0) continue;
      const auto [in_reader, w_reader] = cs.slice_reader[(slot + size_t(j)) % stages];
      std::vector<int> after;
      Emitter::add_dep(after, in_reader);
      Emitter::add_dep(after, w_reader);
      staged = stage_wave_slice(core, ki + j, after);
    }
  }

  // After a dropped wave every index kept into the loop moves back.
  void drop_wave(int dropped) {
    for (auto& cs : st_) {
      for (int& u : cs.slot_user) u = waves_->shift(u, dropped);
      for (auto& [a, b] : cs.slice_reader) a = waves_->shift(a, dropped), b = waves_->shift(b, dropped);
      cs.w_instr = waves_->shift(cs.w_instr, dropped);
    }
    row_stage_ = waves_->shift(row_stage_, dropped);
    for (int& s : wave_slice_) s = waves_->shift(s, dropped);
    std::erase_if(finals_, [&](int f) { return f >= int(prog_.instrs.size()); });
  }

  void end_wave() {
    em_.replicas = 1;
    if (int dropped = waves_->end_wave()) drop_wave(dropped);
  }

  void stage_rows(int core, int rows) {
    Instr in{OpKind::Load, layer_, core};
    in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.bytes = panel_bytes_, in.what = "input";
    in.replicas = rows;
    Emitter::add_dep(in.deps, a_.ready);
    row_stage_ = int(prog_.instrs.size());
    prog_.instrs.push_back(std::move(in));
  }

  // Output tiles go to the cores round-robin, a wave of one tile per core at a time, as a GPU launches a
  // grid's thread blocks over its SMs. A timing program emits each wave as its first core's tile standing
  // for all of them (Instr::replicas), and keeps one wave of each run of identical waves.
  void emit_tiles() {
    waves_.emplace(prog_, representative_ && l_.options.fold_waves);
    const int stages = std::max(2, p_.tiles.stages);
    st_.assign(size_t(nc_), {});
    for (auto& cs : st_) cs.slot_user.assign(size_t(stages), -1), cs.slice_reader.assign(size_t(stages), {-1, -1});
    // Split-K: each output tile is ks_ consecutive tiles, one per K share, on as many cores.
    const int64_t total = gv_.groups * mt_ * nt_ * ks_;
    for (int64_t t = 0; t < total; ++t) {
      const int64_t split = t % ks_, out = t / ks_;
      const int64_t grp = out / (mt_ * nt_), rem = out % (mt_ * nt_);
      int64_t mi = row_panels_ ? rem / nt_ : rem % mt_, ni = row_panels_ ? rem % nt_ : rem / mt_;
      if (block_rows_ > 0) tile_in_blocks(rem, mi, ni);
      const int ci = int(t % nc_);
      const int core = fc_ + ci;
      const bool wave_end = ci == nc_ - 1 || t + 1 == total;
      const int64_t wave_tiles = std::min<int64_t>(nc_, total - t);  // at the wave's first tile
      if (ci == 0) {
        waves_->begin_wave();
        if (block_rows_ > 0) begin_wave_block(t, wave_tiles);
        if (representative_) {
          em_.replicas = int(wave_tiles);
          // The representative stages the panels of every row that starts in its wave.
          int rows = 0;
          for (int64_t u = t; u < t + wave_tiles; ++u) rows += row_panels_ && (u % (mt_ * nt_)) % nt_ == 0;
          if (rows > 0) stage_rows(core, rows);
        }
      }
      if (representative_ && ci > 0) {
        if (wave_end) end_wave();
        continue;
      }
      if (row_panels_ && !representative_ && ni == 0) stage_rows(core, 1);
      emit_tile(grp, mi, ni, ci, stages, split, t, wave_tiles);
      if (wave_end) end_wave();
    }
  }

  // Under wave blocking, tiles go down strips of block_rows_ rows column by column, so a wave of nc_ tiles
  // covers about block_rows_ rows x nc_ / block_rows_ columns.
  void tile_in_blocks(int64_t rem, int64_t& mi, int64_t& ni) const {
    const int64_t strip = rem / (block_rows_ * nt_), r = rem % (block_rows_ * nt_);
    const int64_t h = std::min(block_rows_, mt_ - strip * block_rows_);
    mi = strip * block_rows_ + r % h, ni = r / h;
  }

  // The distinct rows and columns of the wave starting at tile t, whose K slices it stages.
  void begin_wave_block(int64_t t, int64_t wave_tiles) {
    std::set<int64_t> rows, cols;
    for (int64_t u = t; u < t + wave_tiles; ++u) {
      int64_t mi = 0, ni = 0, rem = u % (mt_ * nt_);
      tile_in_blocks(rem, mi, ni);
      rows.insert(u / (mt_ * nt_) * mt_ + mi), cols.insert(u / (mt_ * nt_) * nt_ + ni);
    }
    wave_rows_ = int64_t(rows.size()), wave_cols_ = int64_t(cols.size());
    wave_slice_.assign(size_t(kt_), -1);
  }

  // One output tile's K share `split` on core fc + ci: its K steps; then, for the tile's last share, the
  // partial sums added up (split-K), its epilogue and its store. `t` is the tile's index in the loop.
  void emit_tile(int64_t grp, int64_t mi, int64_t ni, int ci, int stages, int64_t split, int64_t t,
                 int64_t wave_tiles) {
    int core = fc_ + ci;
    ValInfo a_tile = a_;
    if (row_panels_) a_tile.level = MemLevel::GlobalBuffer, a_tile.ready = row_stage_;
    const int64_t m0 = mi * tm_, m1 = std::min(gv_.m, m0 + tm_), n0 = ni * tn_, n1 = std::min(gv_.n, n0 + tn_);
    const int64_t per_share = cdiv(kt_, ks_);
    int prev_mm = -1;
    for (int64_t ki = split * per_share; ki < std::min(kt_, (split + 1) * per_share); ++ki) {
      const int64_t k0 = ki * tk_, k1 = std::min(gv_.k, k0 + tk_);
      prev_mm = emit_k_step(a_tile, grp, ni, ki, ci, stages, m0, m1, k0, k1, n0, n1, prev_mm);
    }
    const int64_t tile_elems = (m1 - m0) * (n1 - n0);
    if (ks_ > 1) {
      if (representative_) {
        prev_mm = reduce_tree(core, tile_elems, prev_mm, wave_tiles);
      } else {
        share_last_[size_t(split)] = {core, prev_mm};
        if (split + 1 < ks_) return;
        core = fc_ + int((t - split) % nc_);  // the tile's first share adds the others up
        prev_mm = reduce_shares(core, tile_elems);
      }
    }
    const int last = emit_tile_epilogue(core, tile_elems, prev_mm);
    Instr s{OpKind::Store, layer_, core};
    s.src = MemLevel::Accumulator, s.dst = o_.level == MemLevel::Scratchpad ? MemLevel::Scratchpad : o_.level;
    s.bytes = uint64_t(tile_elems) * l_.eb, s.what = "output", s.deps = {last};
    finals_.push_back(em_.emit(std::move(s)));
  }

  // A partial-sum tile (fp32) from core `from` added into the one on `core`.
  int add_partial(int from, int core, int64_t tile_elems, std::vector<int> deps) {
    Instr x{OpKind::Transfer, layer_, from};
    x.peer_core = core, x.src = x.dst = MemLevel::Scratchpad, x.bytes = uint64_t(tile_elems) * 4, x.what = "psum";
    x.deps = std::move(deps);
    const int moved = em_.emit(std::move(x));
    Instr v{OpKind::Vector, layer_, core};
    v.elements = tile_elems, v.op_class = "add", v.deps = {moved};
    return em_.emit(std::move(v));
  }

  // Timing programs: the representative's share meets the others in a tree, log2(ks) levels of a hop and an
  // add; level l has half the transfers of the level before (replicas scaled to match).
  int reduce_tree(int core, int64_t tile_elems, int last, int64_t wave_tiles) {
    const int saved = em_.replicas;
    for (int64_t level = 0; (int64_t(1) << level) < ks_; ++level) {
      em_.replicas = int(std::max<int64_t>(1, wave_tiles >> (level + 1)));
      const int peer = fc_ + int((core - fc_ + (int64_t(1) << level)) % nc_);
      last = add_partial(peer, core, tile_elems, {last});
    }
    em_.replicas = saved;
    return last;
  }

  // Functional programs: every share's partial sum goes to the first share's core.
  int reduce_shares(int core, int64_t tile_elems) {
    int last = share_last_[0].second;
    for (int64_t s = 1; s < ks_; ++s)
      last = add_partial(share_last_[size_t(s)].first, core, tile_elems, {last, share_last_[size_t(s)].second});
    return last;
  }

  // One K step of a tile: its operands into a ring buffer slot, then the MatMul. Returns the MatMul.
  int emit_k_step(const ValInfo& a_tile, int64_t grp, int64_t ni, int64_t ki, int ci, int stages, int64_t m0,
                  int64_t m1, int64_t k0, int64_t k1, int64_t n0, int64_t n1, int prev_mm) {
    const int core = fc_ + ci;
    const uint64_t eb = l_.eb;
    CoreState& cs = st_[size_t(ci)];
    const size_t slot = size_t(cs.counter++ % stages);
    std::vector<int> slot_dep;
    Emitter::add_dep(slot_dep, cs.slot_user[slot]);  // a ring of `stages` buffers: wait for tile i-stages
    const double in_tile = double((m1 - m0) * (k1 - k0)) * double(eb) / gv_.input_reuse;  // implicit GEMM
    ValInfo a_from = a_tile;
    int slice = -1;
    if (block_rows_ > 0) {
      stage_slices_ahead(cs, core, ki, slot, 0, 1);  // only at a wave's first step: later ones are staged ahead
      slice = wave_slice_[size_t(ki)];
      if (a_off_) a_from.level = MemLevel::GlobalBuffer, a_from.ready = slice;
    }
    int in_i = em_.fetch(a_from, core, uint64_t(std::ceil(in_tile)), layer_, "input", slot_dep);
    int w_i = -1;
    const uint64_t wbytes = uint64_t((k1 - k0) * (n1 - n0)) * eb;
    if (!const_w_) {
      ValInfo b_from = b_;
      if (slice >= 0 && w_off_) b_from.level = MemLevel::GlobalBuffer, b_from.ready = slice;
      w_i = em_.fetch(b_from, core, wbytes, layer_, "input", slot_dep);
    } else if (L_.weight_home == MemLevel::Scratchpad) {
      w_i = l_.resident_load[li_].empty() ? -1 : l_.resident_load[li_][size_t(ci)];
    } else {
      const int64_t key = (grp * nt_ + ni) * kt_ + ki;
      if (kt_ == 1 && cs.w_key == key) {
        // The weight tile is still in the buffer: after the last tile that used it (in order on the
        // core's units, so as if after its load, and a dependency one wave back, not many).
        w_i = cs.w_instr;
      } else {
        Instr in{OpKind::Load, layer_, core};
        in.src = slice >= 0 && w_off_ ? MemLevel::GlobalBuffer : weight_src_;
        in.dst = MemLevel::Scratchpad, in.bytes = wbytes, in.what = "weights", in.deps = slot_dep;
        if (L_.weight_home == MemLevel::GlobalBuffer) Emitter::add_dep(in.deps, l_.resident_load[li_].at(0));
        Emitter::add_dep(in.deps, weight_staged_);
        Emitter::add_dep(in.deps, slice);
        w_i = em_.emit(std::move(in));
        cs.w_key = key, cs.w_instr = w_i;
      }
    }
    if (block_rows_ > 0) {
      cs.slice_reader[slot] = {in_i, w_i};
      stage_slices_ahead(cs, core, ki, slot, 1, stages);
    }
    Instr mm{OpKind::MatMul, layer_, core};
    mm.m0 = m0, mm.m1 = m1, mm.k0 = k0, mm.k1 = k1, mm.n0 = n0, mm.n1 = n1, mm.group = grp;
    mm.dtype = prog_.precision;
    Emitter::add_dep(mm.deps, in_i);
    Emitter::add_dep(mm.deps, w_i);
    Emitter::add_dep(mm.deps, prev_mm);
    const int mm_i = em_.emit(std::move(mm));
    cs.slot_user[slot] = mm_i;
    if (const_w_ && L_.weight_home != MemLevel::Scratchpad) cs.w_instr = mm_i;
    return mm_i;
  }

  // The epilogue on the tile: its share of each fused node's vector work; operands as large as
  // the output (a residual) arrive tile by tile. Returns the tile's last instruction.
  int emit_tile_epilogue(int core, int64_t tile_elems, int last) {
    for (size_t j : l_.epilogue[li_]) {
      std::vector<int> deps = {last};
      for (const auto& in : l_.plans[j].node->inputs) {
        if (in.empty() || group_values_.count(in) || l_.g.is_initializer(in)) continue;
        if (known_numel(l_.g, in) == out_numel_)
          deps.push_back(em_.fetch(l_.info(in), core, uint64_t(tile_elems) * l_.eb, layer_, "input", {}));
      }
      for (const auto& vw : l_.plans[j].work) {
        Instr v{OpKind::Vector, layer_, core};
        v.elements = std::max<int64_t>(1, cdiv(vw.elements * tile_elems, std::max<int64_t>(1, out_numel_)));
        v.op_class = vw.op_class;
        v.deps = deps;
        last = em_.emit(std::move(v));
        deps = {last};
      }
    }
    return last;
  }

  int fetch_constant(const std::string& in, uint64_t bytes) {
    return l_.g.is_initializer(in)
               ? em_.fetch(ValInfo{l_.stream_level, fc_, 1, -1, -1}, fc_, bytes, layer_, "weights", {})
               : em_.fetch(l_.info(in), fc_, bytes, layer_, "input", {});
  }

  void emit_layer_constants() {
    // Bias and other constant operands (Conv B, Gemm C): small, loaded with the layer.
    for (size_t ii = 0; ii < node_.inputs.size(); ++ii) {
      const std::string& in = node_.inputs[ii];
      if (in.empty() || int(ii) == gv_.weight_input || ii == 0) continue;
      uint64_t bytes = l_.value_bytes(in);
      if (bytes == 0) continue;
      finals_.push_back(fetch_constant(in, bytes));
    }
    // The epilogue's constants (biases, scales) and smaller operands: loaded with the layer.
    for (size_t j : l_.epilogue[li_])
      for (const auto& in : l_.plans[j].node->inputs) {
        if (in.empty() || group_values_.count(in)) continue;
        const uint64_t bytes = l_.value_bytes(in);
        if (bytes == 0 || (!l_.g.is_initializer(in) && known_numel(l_.g, in) == out_numel_)) continue;
        finals_.push_back(fetch_constant(in, bytes));
      }
  }

  Lowering& l_;
  Emitter& em_;
  Program& prog_;
  const size_t li_;
  const int layer_;
  const Plan& p_;
  const Node& node_;
  const Layer& L_;
  const GemmView& gv_;
  const int fc_, nc_;
  const bool const_w_;
  const int64_t tm_, tk_, tn_;
  const int64_t mt_, kt_, nt_;
  const uint64_t stage_limit_;
  const bool representative_;
  std::optional<WaveCompressor> waves_;  // over the tile loop, which starts after the staging loads

  ValInfo a_, b_, o_;
  std::string out_name_;
  int64_t out_numel_ = 0;
  std::set<std::string> group_values_;
  MemLevel weight_src_ = MemLevel::OffChip;
  int weight_staged_ = -1;
  uint64_t panel_bytes_ = 0;
  bool row_panels_ = false;
  int row_stage_ = -1;  // the Load that staged the current row's panel
  // Wave blocking (stage_operands): strip height in tiles (0: off), the operands it stages, and per wave the
  // distinct rows and columns and the Load of each K slice.
  int64_t block_rows_ = 0;
  const int64_t ks_ = std::max<int64_t>(1, L_.k_split);
  std::vector<std::pair<int, int>> share_last_ = std::vector<std::pair<int, int>>(size_t(ks_));  // (core, MatMul)
  bool a_off_ = false, w_off_ = false;
  int64_t wave_rows_ = 0, wave_cols_ = 0;
  std::vector<int> wave_slice_;
  std::vector<CoreState> st_;
  std::vector<int> finals_;
};

// Vector layer: the work split evenly over its cores.
void emit_vector_layer(Lowering& l, size_t li) {
  const Plan& p = l.plans[li];
  const Node& node = *p.node;
  const int layer = int(li);
  const int fc = l.first_core[li], nc = l.num_cores[li];
  // A cache append writes into the past's buffer, wherever that lives; other outputs go where they fit.
  auto where = [&](const std::string& out) {
    if (!p.append_in_place) return output_info(l, li, out);
    ValInfo o = output_info(l, li, out);
    o.level = l.info(node.inputs[0]).level;
    return o;
  };
  std::vector<int> finals;
  for (int ci = 0; ci < nc; ++ci) {
    const int core = fc + ci;
    std::vector<int> deps;
    for (size_t ii = 0; ii < node.inputs.size(); ++ii) {
      const std::string& in = node.inputs[ii];
      if (in.empty() || (p.append_in_place && ii == 0)) continue;  // the past stays where it is
      uint64_t bytes = l.value_bytes(in);
      if (bytes == 0) continue;
      // A lookup (an embedding's Gather) reads the rows it gathers, not its whole table.
      if (ii == 0 && l.g.is_initializer(in) && reads_gathered_rows(node))
        bytes = std::min(bytes, l.value_bytes(node.outputs.at(0)));
      if (l.g.is_initializer(in)) {
        if (ci == 0)
          deps.push_back(l.em.fetch(ValInfo{l.stream_level, fc, 1, -1, -1}, core, bytes, layer, "weights", {}));
        continue;
      }
      const ValInfo& vi = l.info(in);
      if (vi.level == MemLevel::Scratchpad && core >= vi.first_core && core < vi.first_core + vi.num_cores) {
        Emitter::add_dep(deps, vi.ready);  // already local
        continue;
      }
      deps.push_back(l.em.fetch(vi, core, uint64_t(cdiv(int64_t(bytes), nc)), layer, "input", {}));
    }
    int last = -1;
    for (const auto& vw : p.work) {
      Instr v{OpKind::Vector, layer, core};
      v.elements = std::max<int64_t>(1, cdiv(vw.elements, nc));
      v.op_class = vw.op_class;
      v.deps = last >= 0 ? std::vector<int>{last} : deps;
      last = l.em.emit(std::move(v));
    }
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      ValInfo o = where(out);
      const uint64_t out_bytes = l.value_bytes(out) - (p.append_in_place ? l.value_bytes(node.inputs[0]) : 0);
      if (o.level != MemLevel::Scratchpad && out_bytes > 0) {
        Instr s{OpKind::Store, layer, core};
        s.src = MemLevel::Scratchpad, s.dst = o.level, s.bytes = uint64_t(cdiv(int64_t(out_bytes), nc));
        s.what = "output";
        s.deps = {last};
        finals.push_back(l.em.emit(std::move(s)));
      } else {
        finals.push_back(last);
      }
    }
  }
  Instr bar{OpKind::Barrier, layer, fc};
  for (int f : finals) Emitter::add_dep(bar.deps, f);
  int ready = l.em.emit(std::move(bar));
  for (const auto& out : node.outputs) {
    if (out.empty()) continue;
    ValInfo o = where(out);
    o.ready = ready;
    l.vals[out] = o;
  }
}

// A collective or a send (docs/SYSTEMS.md): one instruction on the system's links once its input is complete,
// timed with the system's alpha-beta model and the traffic in flight beside it (NpuCompileOptions::traffic).
// It works in place: an all-reduce, an all-to-all or a send leaves its result where its input was; an
// all-gather's larger result goes where an activation of its size lives. Over one chip it is free.
void emit_collective(Lowering& l, size_t li) {
  const Node& node = *l.plans[li].node;
  const CollectiveOp op = *l.plans[li].collective;
  const std::string& in = node.inputs.at(0);
  const std::string& out = node.outputs.at(0);
  ValInfo o = l.info(in);
  if (op.group > 1) {
    const std::string_view what = op.send ? "send" : collective_name(op.kind);
    check(l.options.system != nullptr, "npu compile: ", node.label(), ": ", what, " over ", op.group,
          " chips needs a system of chips to time it (--hw with a system, e.g. dgx-h100)");
    // n is one chip's buffer: all-reduce's and all-to-all's input, all-gather's output (npu/collectives.h).
    const uint64_t n = l.value_bytes(!op.send && op.kind == Collective::AllGather ? out : in);
    // This chip's kind of traffic among what is in flight (an all-gather runs in the all-reduce's groups).
    const Collective kind = op.kind == Collective::AllGather ? Collective::AllReduce : op.kind;
    const Traffic* mine = nullptr;
    std::vector<Traffic> others;
    for (const Traffic& t : l.options.traffic)
      if (!mine && t.send == op.send && (op.send || t.kind == kind))
        mine = &t;
      else if (l.options.traffic_at_once)
        others.push_back(t);
    CollectiveCost cost;
    try {
      if (op.send)
        cost = mine ? concurrent_sends(*l.options.system, mine->groups, double(n), others).cost
                    : point_to_point(*l.options.system, double(n));
      else
        cost =
            mine ? concurrent_collective(*l.options.system, op.kind, mine->groups, double(n), std::nullopt, others).cost
                 : system_collective(*l.options.system, op.kind, op.group, double(n));
    } catch (const Error& e) {
      fail("npu compile: ", node.label(), ": ", e.what());
    }
    Instr c{OpKind::Collective, int(li), l.first_core[li]};
    c.bytes = n, c.what = std::string(what);
    c.cycles = uint64_t(std::ceil(cost.time_s * l.hw.clock_hz - 1e-6));
    // This chip's share of the group's link energy (a send's is the sender's).
    c.energy_j = op.send ? cost.energy_j : cost.energy_j / double(op.group);
    if (o.ready >= 0) c.deps = {o.ready};
    o.ready = l.em.emit(std::move(c));
    if (!op.send && op.kind == Collective::AllGather) o.level = l.act_level(n, o.num_cores);
  }
  o.layer = int(li);
  l.vals[out] = o;
}

// Graph outputs written back to off-chip memory.
void emit_graph_output_stores(Lowering& l) {
  for (const auto& out : l.g.outputs) {
    auto it = l.vals.find(out);
    if (!l.hw.offchip || it == l.vals.end() || it->second.level == MemLevel::OffChip || l.value_bytes(out) == 0)
      continue;
    Instr s{OpKind::Store, it->second.layer, it->second.first_core};
    s.src = it->second.level, s.dst = MemLevel::OffChip, s.bytes = l.value_bytes(out), s.what = "output";
    if (it->second.ready >= 0) s.deps = {it->second.ready};
    l.em.emit(std::move(s));
  }
}

}  // namespace

void emit_instructions(Lowering& l) {
  emit_resident_weight_loads(l);
  for (const auto& in : l.g.inputs)
    l.vals[in] = {l.hw.offchip ? MemLevel::OffChip : MemLevel::Scratchpad, 0, 1, -1, -1};
  for (size_t li = 0; li < l.plans.size(); ++li) {
    const std::string& unit = l.prog.layers[li].unit;
    if (unit == "epilogue") continue;  // emitted with its matrix layer's tiles
    if (unit == "none") {
      alias_view_outputs(l, *l.plans[li].node);
    } else if (unit == "comm") {
      emit_collective(l, li);
    } else if (unit == "matrix") {
      if (l.attention[li])
        emit_attention(l, li);
      else if (l.attention_of[li] < 0)  // Q x Kt of a fused attention: emitted with its P x V
        MatrixLayerEmission(l, li).run();
    } else {
      emit_vector_layer(l, li);
    }
  }
  emit_graph_output_stores(l);
}

}  // namespace wafer::npu::lowering
