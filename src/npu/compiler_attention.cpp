// The npu compiler's production mappings of transformer blocks (docs/NPU-COMPILER.md):
//  * view folding: a layout op that only re-indexes (Transpose, Slice, Split) whose value a
//    matrix layer produces or reads costs no pass of its own; the GEMM addresses its operand or result
//    through the view (strided DMA, as CUTLASS/TensorRT fold head split/merge transposes into GEMM strides);
//  * fused attention: Q x Kt -> (scale) -> (+ mask) -> Softmax -> x V as one layer whose score blocks stay on
//    the core (TensorRT's fused MHA kernels; FlashAttention, Dao et al. 2022, arXiv 2205.14135, for the
//    online softmax over key blocks when a query tile's whole score row does not fit).
#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "core/error.h"
#include "npu/compiler_lowering.h"

namespace wafer::npu::lowering {

namespace {

// Readers (plan indices) of every value; graph outputs count as a reader of their own (-1).
std::map<std::string, std::vector<int>> reader_map(const Lowering& l) {
  std::map<std::string, std::vector<int>> readers;
  for (size_t i = 0; i < l.plans.size(); ++i)
    for (const auto& in : l.plans[i].node->inputs)
      if (!in.empty()) readers[in].push_back(int(i));
  for (const auto& o : l.g.outputs) readers[o].push_back(-1);
  return readers;
}

std::map<std::string, size_t> producer_map(const Lowering& l) {
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < l.plans.size(); ++i)
    for (const auto& o : l.plans[i].node->outputs)
      if (!o.empty()) producer[o] = i;
  return producer;
}

bool is_free(const Plan& p) {
  return !p.gemm && p.work.empty();
}

}  // namespace

// A strided view whose every reader (through free views) is a matrix layer, or whose input a matrix layer (or
// its epilogue) makes for it alone (through free views), is addressed by that GEMM: it costs nothing. Values
// keep their size, so the GEMM moves the same bytes; the hardware descriptions give no DMA burst size, so a
// short contiguous run costs nothing extra either.
void fold_views(Lowering& l) {
  if (!l.options.fold_views) return;
  const auto readers = reader_map(l);
  const auto producer = producer_map(l);
  auto count = [&](const std::string& v) {
    auto it = readers.find(v);
    return it == readers.end() ? size_t(0) : it->second.size();
  };
  // Every reader of `v` is a GEMM, directly or through free views.
  auto read_by_gemms = [&](auto&& self, const std::string& v, int depth) -> bool {
    auto it = readers.find(v);
    if (it == readers.end() || depth > 16) return false;
    for (int r : it->second) {
      if (r < 0) return false;
      const Plan& p = l.plans[size_t(r)];
      if (p.gemm || l.attention_of[size_t(r)] >= 0) continue;                 // a GEMM or a fused attention reads it
      if (p.node->op_type == "Shape" || p.node->op_type == "Size") continue;  // metadata, not the data
      if (!is_free(p) && !is_strided_view(*p.node)) return false;             // views compose into one strided view
      for (const auto& o : p.node->outputs)
        if (!o.empty() && !self(self, o, depth + 1)) return false;
    }
    return true;
  };
  // `v` is made by a GEMM (or its epilogue) for this reader alone, directly or through free views.
  auto made_by_gemm = [&](const std::string& v) {
    std::string x = v;
    for (int depth = 0; depth < 16; ++depth) {
      auto it = producer.find(x);
      if (it == producer.end() || count(x) != 1) return false;
      const Plan& p = l.plans[it->second];
      if (p.gemm || (l.fused[it->second] && l.attention_of[it->second] < 0)) return true;  // or its epilogue
      if ((!is_free(p) && !is_strided_view(*p.node)) || p.node->inputs.empty()) return false;
      x = p.node->inputs[0];
    }
    return false;
  };
  for (Plan& p : l.plans) {
    if (p.gemm || p.work.empty() || !is_strided_view(*p.node) || p.node->inputs.empty()) continue;
    bool all_read = true;
    for (const auto& o : p.node->outputs)
      if (!o.empty()) all_read = all_read && read_by_gemms(read_by_gemms, o, 0);
    if (all_read || made_by_gemm(p.node->inputs[0])) p.work.clear();
  }
}

namespace {

// `v`'s producer when it is a Div/Mul by a constant scalar read only by one node: that plan, else -1;
// `x` becomes the other operand.
int scaling(const Lowering& l, const std::map<std::string, size_t>& producer,
            const std::map<std::string, std::vector<int>>& readers, const std::string& v, std::string& x) {
  auto it = producer.find(v);
  auto rd = readers.find(v);
  if (it == producer.end() || rd == readers.end() || rd->second.size() != 1) return -1;
  const Node& n = *l.plans[it->second].node;
  if ((n.op_type != "Div" && n.op_type != "Mul") || n.inputs.size() != 2 || !n.domain.empty()) return -1;
  for (int side = 0; side < 2; ++side) {
    if (side == 1 && n.op_type == "Div") break;
    const std::string& c = n.inputs[size_t(1 - side)];
    if (l.g.is_initializer(c) && l.g.initializer(c)->numel() == 1) {
      x = n.inputs[size_t(side)];
      return int(it->second);
    }
  }
  return -1;
}

// Per core: the working set of a (tq, bk) blocking and its estimated cycles for the whole layer.
struct Blocking {
  int64_t tq = 0, bk = 0, split = 1;
  int cores = 1;
  uint64_t working_set = 0;
  double est = 0;
};

std::vector<int64_t> pow2_from(int64_t lo, int64_t d) {
  std::vector<int64_t> c;
  for (int64_t v = std::min(lo, d); v < d; v *= 2) c.push_back(v);
  c.push_back(d);
  return c;
}

double vector_cycles(const Lowering& l, const std::vector<VectorWork>& work, double share) {
  const auto& cpe = l.hw.vector.cycles_per_element;
  double cycles = 0;
  for (const auto& vw : work) {
    auto it = cpe.find(vw.op_class);
    cycles += double(vw.elements) * share * (it != cpe.end() ? it->second : 1.0);
  }
  return cycles / std::max(1, l.hw.vector.lanes);
}

// The fastest blocking whose working set fits a core: double-buffered Q tiles, K and V (whole per item, or
// double-buffered key blocks), the fp32 score block and output accumulator (in the accumulator when they fit).
std::optional<Blocking> choose_blocking(const Lowering& l, const AttentionPlan& a,
                                        const std::vector<VectorWork>& work) {
  const HardwareDesc& hw = l.hw;
  const uint64_t eb = l.eb;
  const double scores = double(a.groups * a.s * a.sk);
  std::optional<Blocking> best;
  const int64_t step = std::max<int64_t>(8, std::min(hw.matrix.rows, hw.matrix.cols));
  // The whole key length first: on a tie the scores stay on the core and K, V are read once per item.
  std::vector<int64_t> key_blocks = pow2_from(step, a.sk);
  std::reverse(key_blocks.begin(), key_blocks.end());
  std::vector<int64_t> query_tiles = pow2_from(step, a.s);  // the largest tile first on a tie: fewer steps
  std::reverse(query_tiles.begin(), query_tiles.end());
  for (int64_t tq : query_tiles)
    for (int64_t bk : key_blocks) {
      const bool whole = bk == a.sk;
      const uint64_t kv = uint64_t(bk * (a.d + a.dv)) * eb;
      uint64_t spad = 2 * uint64_t(tq * a.d) * eb + (whole ? 1 : 2) * kv;
      uint64_t acc = uint64_t(tq * bk + tq * a.dv) * 4;
      if (acc > hw.accumulator.size_bytes) spad += acc, acc = 0;
      if (spad > hw.scratchpad.size_bytes) continue;
      const int64_t qt = cdiv(a.s, tq), kb = cdiv(a.sk, bk);
      // Query tiles of a group are split over cores only when the groups alone would leave cores idle.
      // A divisor of the query tiles, so every item has as many (a wave's representative stands for all).
      int64_t split = a.groups >= l.matrix_cap ? 1 : std::min<int64_t>(qt, cdiv(l.matrix_cap, a.groups));
      while (qt % split != 0) --split;
      const int64_t items = a.groups * split;
      const int cores = int(std::min<int64_t>(l.matrix_cap, items));
      const double per_core_tiles = double(cdiv(items, cores)) * double(cdiv(qt, split));
      const double mm =
          double(kb) * double(core_tile_cycles(hw, l.tdt, tq, a.d, bk) + core_tile_cycles(hw, l.tdt, tq, bk, a.dv));
      double vec = vector_cycles(l, work, double(tq * a.sk) / scores);
      if (!whole) vec += double(kb - 1) * double(tq * a.dv + tq) / std::max(1, hw.vector.lanes);
      const double kv_reads = whole ? double(split) : double(qt);
      const double bytes =
          double(a.groups) * double(eb) * double(a.s * a.d + a.s * a.dv + kv_reads * a.sk * (a.d + a.dv));
      const double dma = l.offchip_bpc > 0 ? bytes / l.offchip_bpc : 0;
      const double est = std::max(per_core_tiles * std::max(mm, vec), dma);
      if (!best || est < best->est * (1 - 1e-9)) best = Blocking{tq, bk, split, cores, spad + acc, est};
    }
  return best;
}

}  // namespace

// Finds Q x Kt -> [Div|Mul by a scalar] -> [Add mask] -> Softmax (last axis) -> x V where every intermediate is
// read only by the next node, and plans it as one layer (AttentionPlan). Not on spatial designs (each layer
// keeps a region of its own there) and not where no blocking fits a core: those keep the unfused mapping.
void group_attention(Lowering& l) {
  l.attention.assign(l.plans.size(), std::nullopt);
  l.attention_of.assign(l.plans.size(), -1);
  if (!l.options.fuse_attention || l.spatial) return;
  const auto readers = reader_map(l);
  const auto producer = producer_map(l);
  auto sole_reader = [&](const std::string& v) {
    auto it = readers.find(v);
    return it != readers.end() && it->second.size() == 1 ? it->second[0] : -1;
  };
  auto rank_of = [&](const std::string& v) {
    auto t = l.g.type_of(v);
    return t && t->shape.rank_known ? int64_t(t->shape.rank()) : int64_t(-1);
  };
  for (size_t si = 0; si < l.plans.size(); ++si) {
    const Node& sm = *l.plans[si].node;
    if (sm.op_type != "Softmax" || !sm.domain.empty() || sm.inputs.size() != 1 || l.fused[si]) continue;
    const int64_t rank = rank_of(sm.inputs[0]);
    const int64_t axis = sm.attr_int("axis", sm.op_version >= 13 ? -1 : 1);
    if (rank < 2 || (axis != -1 && axis != rank - 1)) continue;
    AttentionPlan a;
    std::vector<size_t> inner = {si};
    // Back from the Softmax: an optional mask Add, an optional scaling, the Q x Kt MatMul.
    auto trace = [&](std::string v, std::vector<size_t>& chain) -> int {
      std::string x;
      int s = scaling(l, producer, readers, v, x);
      if (s >= 0) chain.push_back(size_t(s)), v = x;
      auto it = producer.find(v);
      if (it == producer.end() || sole_reader(v) < 0) return -1;
      const Plan& p = l.plans[it->second];
      if (!p.gemm || p.node->op_type != "MatMul" || l.g.is_initializer(p.node->inputs[1])) return -1;
      return int(it->second);
    };
    int qk = -1;
    auto ap = producer.find(sm.inputs[0]);
    if (sole_reader(sm.inputs[0]) < 0 || ap == producer.end()) continue;
    const Node& add = *l.plans[ap->second].node;
    if (add.op_type == "Add" && add.domain.empty() && add.inputs.size() == 2) {
      for (int side = 0; side < 2 && qk < 0; ++side) {
        std::vector<size_t> chain = {ap->second};
        int m = trace(add.inputs[size_t(side)], chain);
        const std::string& mask = add.inputs[size_t(1 - side)];
        const int64_t mn = known_numel(l.g, mask), sn = known_numel(l.g, sm.inputs[0]);
        if (m >= 0 && mn > 0 && mn <= sn && known_numel(l.g, add.inputs[size_t(side)]) == sn) {
          qk = m;
          a.mask = mask;
          inner.insert(inner.end(), chain.begin(), chain.end());
        }
      }
    } else {
      qk = trace(sm.inputs[0], inner);
    }
    const int pv = sole_reader(sm.outputs[0]);
    if (qk < 0 || pv < 0) continue;
    const Plan &pq = l.plans[size_t(qk)], &pp = l.plans[size_t(pv)];
    if (!pp.gemm || pp.node->op_type != "MatMul" || pp.node->inputs[0] != sm.outputs[0] ||
        pp.node->inputs[1] == sm.outputs[0] || l.g.is_initializer(pp.node->inputs[1]) ||
        !l.epilogue[size_t(pv)].empty() || l.fused[size_t(pv)])
      continue;
    const GemmView &g1 = *pq.gemm, &g2 = *pp.gemm;
    if (g1.groups != g2.groups || g1.m != g2.m || g1.n != g2.k) continue;
    a.qk = size_t(qk), a.pv = size_t(pv);
    // A scaling of Q (torch's MultiheadAttention divides Q by sqrt(d)) runs on each Q tile as it arrives.
    std::string q_in;
    const int qs = scaling(l, producer, readers, pq.node->inputs[0], q_in);
    if (qs >= 0 && !l.fused[size_t(qs)]) a.q_scale = qs;
    a.q = a.q_scale >= 0 ? q_in : pq.node->inputs[0];
    a.kt = pq.node->inputs[1], a.v = pp.node->inputs[1], a.out = pp.node->outputs[0];
    a.groups = g1.groups, a.s = g1.m, a.d = g1.k, a.sk = g1.n, a.dv = g2.n;
    // Q, K and V as large as the groups make them (no broadcast operand, whose bytes per group differ).
    if (known_numel(l.g, a.q) != a.groups * a.s * a.d || known_numel(l.g, a.kt) != a.groups * a.d * a.sk ||
        known_numel(l.g, a.v) != a.groups * a.sk * a.dv)
      continue;
    std::sort(inner.begin(), inner.end());
    std::vector<VectorWork> work;  // per score element; the softmax's division goes to the output (emission)
    for (size_t j : inner)
      for (const auto& vw : l.plans[j].work)
        if (!(vw.op_class == "div" && l.plans[j].node->op_type == "Softmax")) work.push_back(vw);
    auto b = choose_blocking(l, a, work);
    if (!b) continue;
    a.inner = inner;
    a.tq = b->tq, a.bk = b->bk, a.split = b->split;
    l.prog.blocked_attention |= a.bk < a.sk;
    a.qk_tiles = {.tm = a.tq,
                  .tk = a.d,
                  .tn = a.bk,
                  .cores = b->cores,
                  .stages = 2,
                  .est_cycles = b->est,
                  .working_set_bytes = b->working_set};
    a.pv_tiles = {.tm = a.tq,
                  .tk = a.bk,
                  .tn = a.dv,
                  .cores = b->cores,
                  .stages = 2,
                  .est_cycles = b->est,
                  .working_set_bytes = b->working_set};
    // The epilogue grouping may have taken the scaling and the mask Add into Q x Kt's epilogue.
    l.epilogue[a.qk].clear();
    if (a.q_scale >= 0) l.fused[size_t(a.q_scale)] = true, l.attention_of[size_t(a.q_scale)] = pv;
    for (size_t j : inner) l.fused[j] = true;
    for (size_t j : inner) l.attention_of[j] = pv;
    l.attention_of[a.qk] = pv;
    l.attention[size_t(pv)] = std::move(a);
  }
}

namespace {

class AttentionEmission {
 public:
  AttentionEmission(Lowering& l, size_t pv)
      : l_(l),
        em_(l.em),
        a_(*l.attention[pv]),
        fc_(l.first_core[pv]),
        nc_(l.num_cores[pv]),
        qk_(int(a_.qk)),
        pv_(int(pv)),
        representative_(!l.options.for_execution) {}

  void run() {
    const uint64_t eb = l_.eb;
    q_ = l_.info(a_.q), k_ = l_.info(a_.kt), v_ = l_.info(a_.v);
    o_.level = l_.act_level(l_.value_bytes(a_.out), nc_);
    o_.first_core = fc_, o_.num_cores = nc_, o_.layer = pv_;
    const int64_t qt = cdiv(a_.s, a_.tq);
    const bool whole = a_.bk == a_.sk;
    // K and V read by more than one item (split query tiles) or per query tile (key blocks) come from
    // off-chip once, then from the global buffer, when they fit a quarter of it (as matrix layers stage).
    const uint64_t stage_limit = l_.hw.global_buffer && l_.hw.offchip ? l_.hw.global_buffer->size_bytes / 4 : 0;
    const bool reread = whole ? a_.split > 1 : qt > 1;
    for (ValInfo* kv : {&k_, &v_}) {
      const std::string& name = kv == &k_ ? a_.kt : a_.v;
      if (reread && kv->level == MemLevel::OffChip && l_.value_bytes(name) <= stage_limit) {
        Instr in{OpKind::Load, kv == &k_ ? qk_ : pv_, fc_};
        in.src = MemLevel::OffChip, in.dst = MemLevel::GlobalBuffer, in.bytes = l_.value_bytes(name);
        in.what = "input";
        Emitter::add_dep(in.deps, kv->ready);
        kv->ready = em_.emit(std::move(in));
        kv->level = MemLevel::GlobalBuffer;
      }
    }
    // A mask smaller than the scores (broadcast over heads or queries) is loaded whole with the layer.
    const int64_t scores = a_.groups * a_.s * a_.sk;
    mask_per_block_ = !a_.mask.empty() && !l_.g.is_initializer(a_.mask) && known_numel(l_.g, a_.mask) == scores;
    if (!a_.mask.empty() && !mask_per_block_) {
      const ValInfo src = l_.g.is_initializer(a_.mask) ? ValInfo{l_.stream_level, fc_, 1, -1, -1} : l_.info(a_.mask);
      mask_once_ = em_.fetch(src, fc_, l_.value_bytes(a_.mask), pv_, "input", {});
      finals_.push_back(mask_once_);
    }
    last_.assign(size_t(nc_), -1);
    q_slot_.assign(size_t(nc_), {-1, -1});
    kv_slot_.assign(size_t(nc_), {-1, -1});
    const int64_t per_item = cdiv(qt, a_.split);
    const int64_t items = a_.groups * a_.split;
    for (int64_t it = 0; it < items; ++it) {
      const int ci = int(it % nc_);
      if (representative_) {
        if (ci > 0) continue;
        em_.replicas = int(std::min<int64_t>(nc_, items - it));
      }
      const int64_t grp = it / a_.split, q0 = (it % a_.split) * per_item, q1 = std::min(qt, q0 + per_item);
      if (q0 < q1) emit_item(ci, grp, q0, q1, whole, eb);
      em_.replicas = 1;
    }
    Instr bar{OpKind::Barrier, pv_, fc_};
    for (int f : finals_) Emitter::add_dep(bar.deps, f);
    o_.ready = em_.emit(std::move(bar));
    l_.vals[a_.out] = o_;
  }

 private:
  // The Softmax's division by the row sums: a fused kernel divides the output tile once at the end instead
  // of every score (FlashAttention-2, Dao 2023, arXiv 2307.08691, section 3.1).
  bool normalizes_output(size_t j, const VectorWork& vw) const {
    return vw.op_class == "div" && l_.plans[j].node->op_type == "Softmax";
  }

  int fetch(const ValInfo& v, int core, uint64_t bytes, int layer, std::vector<int> deps) {
    std::erase(deps, -1);  // no earlier user of the buffer
    return em_.fetch(v, core, bytes, layer, "input", std::move(deps));
  }

  void emit_item(int ci, int64_t grp, int64_t q0, int64_t q1, bool whole, uint64_t eb) {
    const int core = fc_ + ci;
    int k_i = -1, v_i = -1;
    if (whole) {  // K and V of the group, once per item, into the buffer the previous item has finished with
      k_i = fetch(k_, core, uint64_t(a_.sk * a_.d) * eb, qk_, {last_[size_t(ci)]});
      v_i = fetch(v_, core, uint64_t(a_.sk * a_.dv) * eb, pv_, {last_[size_t(ci)]});
    }
    const int64_t scores = a_.groups * a_.s * a_.sk;
    for (int64_t qi = q0; qi < q1; ++qi) {
      const int64_t m0 = qi * a_.tq, m1 = std::min(a_.s, m0 + a_.tq), rows = m1 - m0;
      auto& qs = q_slot_[size_t(ci)];
      int q_i = fetch(q_, core, uint64_t(rows * a_.d) * eb, qk_, {qs[size_t(qi % 2)]});
      if (a_.q_scale >= 0) {
        const int64_t q_numel = a_.groups * a_.s * a_.d;
        for (const auto& vw : l_.plans[size_t(a_.q_scale)].work) {
          Instr v{OpKind::Vector, a_.q_scale, core};
          v.elements = std::max<int64_t>(1, cdiv(vw.elements * rows * a_.d, q_numel));
          v.op_class = vw.op_class, v.deps = {q_i};
          q_i = em_.emit(std::move(v));
        }
      }
      int prev_pv = -1;
      for (int64_t n0 = 0; n0 < a_.sk; n0 += a_.bk) {
        const int64_t n1 = std::min(a_.sk, n0 + a_.bk), cols = n1 - n0, blk = n0 / a_.bk;
        if (!whole) {  // FlashAttention: the key block's K and V into a ring of two
          auto& ks = kv_slot_[size_t(ci)];
          k_i = fetch(k_, core, uint64_t(cols * a_.d) * eb, qk_, {ks[size_t(blk % 2)]});
          v_i = fetch(v_, core, uint64_t(cols * a_.dv) * eb, pv_, {ks[size_t(blk % 2)]});
        }
        Instr s{OpKind::MatMul, qk_, core};
        s.m0 = m0, s.m1 = m1, s.k0 = 0, s.k1 = a_.d, s.n0 = n0, s.n1 = n1, s.group = grp;
        s.dtype = l_.prog.precision;
        Emitter::add_dep(s.deps, q_i);
        Emitter::add_dep(s.deps, k_i);
        int last = em_.emit(std::move(s));
        // Scale, mask and softmax on the score block while it is on the core.
        for (size_t j : a_.inner) {
          std::vector<int> deps = {last};
          if (mask_per_block_ && l_.plans[j].node->op_type == "Add")
            deps.push_back(fetch(l_.info(a_.mask), core, uint64_t(rows * cols) * eb, int(j), {}));
          if (mask_once_ >= 0) Emitter::add_dep(deps, mask_once_);
          for (const auto& vw : l_.plans[j].work) {
            if (normalizes_output(j, vw)) continue;
            Instr v{OpKind::Vector, int(j), core};
            v.elements = std::max<int64_t>(1, cdiv(vw.elements * rows * cols, scores));
            v.op_class = vw.op_class;
            v.deps = deps;
            last = em_.emit(std::move(v));
            deps = {last};
          }
        }
        if (blk > 0) {  // online softmax: the running output and sums rescaled by exp(old max - new max)
          for (const auto& [cls, n] : {std::pair{"exp", rows}, std::pair{"mul", rows * a_.dv}}) {
            Instr v{OpKind::Vector, pv_, core};
            v.elements = n, v.op_class = cls, v.deps = {last};
            last = em_.emit(std::move(v));
          }
        }
        Instr o{OpKind::MatMul, pv_, core};
        o.m0 = m0, o.m1 = m1, o.k0 = n0, o.k1 = n1, o.n0 = 0, o.n1 = a_.dv, o.group = grp;
        o.dtype = l_.prog.precision;
        Emitter::add_dep(o.deps, last);
        Emitter::add_dep(o.deps, v_i);
        Emitter::add_dep(o.deps, prev_pv);
        prev_pv = em_.emit(std::move(o));
        if (!whole) kv_slot_[size_t(ci)][size_t(blk % 2)] = prev_pv;
      }
      qs[size_t(qi % 2)] = prev_pv;
      // The softmax's division by the row sums, once per output element of the tile (FlashAttention-2).
      int fin = prev_pv;
      for (size_t j : a_.inner)
        for (const auto& vw : l_.plans[j].work) {
          if (!normalizes_output(j, vw)) continue;
          Instr v{OpKind::Vector, int(j), core};
          v.elements = std::max<int64_t>(1, cdiv(vw.elements * rows * a_.dv, scores));
          v.op_class = vw.op_class, v.deps = {fin};
          fin = em_.emit(std::move(v));
        }
      Instr st{OpKind::Store, pv_, core};
      st.src = MemLevel::Accumulator, st.dst = o_.level, st.bytes = uint64_t(rows * a_.dv) * eb, st.what = "output";
      st.deps = {fin};
      finals_.push_back(em_.emit(std::move(st)));
      last_[size_t(ci)] = prev_pv;
    }
  }

  Lowering& l_;
  Emitter& em_;
  const AttentionPlan& a_;
  const int fc_, nc_;
  const int qk_, pv_;
  const bool representative_;
  ValInfo q_, k_, v_, o_;
  bool mask_per_block_ = false;
  int mask_once_ = -1;
  std::vector<int> last_;                    // per core: the previous item's last MatMul
  std::vector<std::array<int, 2>> q_slot_;   // per core: the MatMul that last read each Q buffer
  std::vector<std::array<int, 2>> kv_slot_;  // per core: the MatMul that last read each K/V block buffer
  std::vector<int> finals_;
};

}  // namespace

void emit_attention(Lowering& l, size_t pv) {
  AttentionEmission(l, pv).run();
}

}  // namespace wafer::npu::lowering
