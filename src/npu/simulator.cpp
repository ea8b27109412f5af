// The timing simulator. Instructions are issued in program order onto
// in-order queues (each core's matrix units, vector unit and DMA engine); an
// instruction starts when its dependencies are done and its queue is free.
// Shared resources (off-chip channels, the global-buffer port) keep their busy
// intervals, and a transfer takes the earliest idle gap from when it is ready,
// since program order is not time order across cores. No hashing, no clocks:
// the same program gives the same cycles.
#include "npu/simulator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "npu/compiler_tiling.h"

namespace wafer::npu {

namespace {

uint64_t ceil_div_d(double bytes, double per_cycle) {
  return per_cycle > 0 ? uint64_t(std::ceil(bytes / per_cycle)) : 0;
}

// The shared resources keep time in ticks of 1/64 cycle: a request shorter than a cycle (300 B on one of
// h100's ten 183 B/cycle channels) holds a resource for its own share of a cycle, not a whole one, so many
// small requests cost what their bytes cost whether one core issues them for a wave or each core its own.
constexpr uint64_t kTicks = 64;
uint64_t ticks_for(double bytes, double per_cycle) {
  return per_cycle > 0 ? uint64_t(std::ceil(bytes * double(kTicks) / per_cycle)) : 0;
}
uint64_t cycle_after(uint64_t ticks) {  // the first cycle boundary at or after `ticks`
  return (ticks + kTicks - 1) / kTicks;
}

int hops(const HardwareDesc& hw, int a, int b) {
  if (a == b) return 0;
  const Network& n = hw.noc;
  if (n.topology == "crossbar") return 1;
  if (n.topology == "ring") {
    int d = std::abs(a - b);
    return std::min(d, hw.cores - d);
  }
  int cols = std::max(1, n.cols);
  return std::abs(a / cols - b / cols) + std::abs(a % cols - b % cols);
}

// A shared resource (an off-chip channel, the global-buffer port) as its busy intervals. Instructions are
// issued in program order, which is not time order across cores: a transfer that is ready earlier than one
// issued before it takes the earliest idle gap that fits, instead of queueing behind it.
class SharedResource {
 public:
  uint64_t reserve(uint64_t ready, uint64_t duration) {
    if (duration == 0) return ready;
    uint64_t t = ready;
    auto it = busy_.upper_bound(t);
    if (it != busy_.begin() && std::prev(it)->second > t) t = std::prev(it)->second;
    while (it != busy_.end() && it->first < t + duration) t = std::max(t, it++->second);
    occupy(t, t + duration);
    return t;
  }
  // Marks [begin, end) busy (known to be free), merged with touching neighbours so the map stays small.
  void occupy(uint64_t begin, uint64_t end) {
    auto next = busy_.lower_bound(begin);
    if (next != busy_.end() && next->first == end) end = next->second, next = busy_.erase(next);
    if (next != busy_.begin()) {
      auto prev = std::prev(next);
      if (prev->second == begin) {
        prev->second = end;
        return;
      }
    }
    busy_.emplace(begin, end);
  }
  // Forgets the intervals that end by `horizon`: no request can start before it.
  void forget_before(uint64_t horizon) {
    while (!busy_.empty() && busy_.begin()->second <= horizon) busy_.erase(busy_.begin());
  }

 private:
  std::map<uint64_t, uint64_t> busy_;  // start -> end, disjoint
};

// The union of the intervals the cores were busy in, to find how much of each collective nothing hid.
class BusyUnion {
 public:
  void add(uint64_t begin, uint64_t end) {
    if (end <= begin) return;
    auto it = spans_.upper_bound(begin);
    if (it != spans_.begin() && std::prev(it)->second >= begin) {
      --it;
      begin = it->first;
      end = std::max(end, it->second);
      it = spans_.erase(it);
    }
    while (it != spans_.end() && it->first <= end) {
      end = std::max(end, it->second);
      it = spans_.erase(it);
    }
    spans_.emplace(begin, end);
  }
  // Cycles of [begin, end) that no interval covers.
  uint64_t uncovered(uint64_t begin, uint64_t end) const {
    uint64_t covered = 0;
    auto it = spans_.upper_bound(begin);
    if (it != spans_.begin()) --it;
    for (; it != spans_.end() && it->first < end; ++it)
      if (it->second > begin) covered += std::min(end, it->second) - std::max(begin, it->first);
    return end - begin - covered;
  }

 private:
  std::map<uint64_t, uint64_t> spans_;  // start -> end, disjoint, not touching
};

struct LayerAcc {
  uint64_t start = UINT64_MAX, end = 0;
  uint64_t offchip_ticks = 0, noc_cycles = 0;  // off-chip: channel time in ticks (kTicks a cycle)
};

// A reservation of a shared resource (index: channels first, then the global-buffer port), in ticks, logged
// while a repeat runs so a steady state can be recognized and continued.
struct Reservation {
  size_t resource;
  uint64_t start, duration;
  bool operator==(const Reservation&) const = default;
};

// The machine's state and the cost of one instruction on it.
class Machine {
 public:
  Machine(const Program& prog, const HardwareDesc& hw, const SimOptions& options, SimResult& r)
      : prog_(prog), hw_(hw), options_(options), r_(r) {
    tdt_ = timing_dtype(hw, prog.precision);
    units_ = std::max(1, hw.matrix.units);
    spad_bpc_ = std::max(1.0, hw.scratchpad.bytes_per_cycle);
    acc_bpc_ = hw.accumulator.bytes_per_cycle > 0 ? hw.accumulator.bytes_per_cycle : spad_bpc_;
    channels_ = hw.offchip ? std::max(1, hw.offchip->channels) : 1;
    chan_bpc_ = hw.offchip ? hw.offchip->bandwidth_bytes_per_s / hw.clock_hz / channels_ : 0;
    offchip_latency_ = hw.offchip ? uint64_t(std::ceil(hw.offchip->latency_s * hw.clock_hz - 1e-6)) : 0;
    gb_bpc_ = hw.global_buffer ? std::max(1.0, hw.global_buffer->bytes_per_cycle) : 0;
    link_bpc_ = hw.noc.bytes_per_cycle_per_link > 0 ? hw.noc.bytes_per_cycle_per_link : spad_bpc_;
    matrix_free_.assign(size_t(hw.cores) * size_t(units_), 0);
    vector_free_.assign(size_t(hw.cores), 0);
    dma_free_.assign(size_t(hw.cores), 0);
    store_free_.assign(size_t(hw.cores), 0);
    shared_.resize(size_t(channels_) + 1);  // the channels, then the global-buffer port
    acc_.resize(prog.layers.size());
    replicated_.assign(prog.layers.size(), false);
    for (const Instr& in : prog.instrs) track_busy_ |= in.kind == OpKind::Collective && prog.comm_overlap;
  }

  DType tdt() const { return tdt_; }
  int units() const { return units_; }
  int channels() const { return channels_; }
  std::vector<LayerAcc>& acc() { return acc_; }
  void log_reservations(std::vector<Reservation>* log) { log_ = log; }

  // Runs `in` once its dependencies are done at `ready`: returns its start and end cycles.
  std::pair<uint64_t, uint64_t> run(const Instr& in, uint64_t ready, size_t index) {
    uint64_t start = ready, fin = ready;
    const uint64_t reps = uint64_t(in.replicas);
    if (in.replicas > 1 && in.layer >= 0) replicated_[size_t(in.layer)] = true;
    const char* unit = "dma";
    LayerAcc* la = in.layer >= 0 ? &acc_[size_t(in.layer)] : nullptr;
    LayerStats* ls = in.layer >= 0 ? &r_.layers[size_t(in.layer)] : nullptr;
    switch (in.kind) {
      case OpKind::Collective: {
        // The links are one in-order queue. Without copy engines the collective's kernel holds every core
        // (NCCL's kernels run on the SMs); with them it runs beside the cores' work.
        unit = "link";
        start = std::max(ready, link_free_);
        if (!prog_.comm_overlap)
          for (const auto* q : {&matrix_free_, &vector_free_, &dma_free_, &store_free_})
            for (uint64_t f : *q) start = std::max(start, f);
        fin = link_free_ = start + in.cycles;
        if (!prog_.comm_overlap)
          for (auto* q : {&matrix_free_, &vector_free_, &dma_free_, &store_free_}) std::fill(q->begin(), q->end(), fin);
        ++r_.collectives;
        r_.comm_cycles += in.cycles;
        r_.comm_energy_j += in.energy_j;
        comm_.push_back({start, fin, &in.what});
        break;
      }
      case OpKind::Barrier:
        unit = nullptr;
        if (in.layer >= 0 && replicated_[size_t(in.layer)]) sync_cores(prog_.layers[size_t(in.layer)].cores);
        break;
      case OpKind::MatMul: {
        // All the core's matrix units take the tile together, a slice of its columns each.
        unit = "matrix";
        const size_t base = size_t(in.core) * size_t(units_);
        for (size_t u = base; u < base + size_t(units_); ++u) start = std::max(start, matrix_free_[u]);
        const int64_t tn = in.n1 - in.n0, used = std::min<int64_t>(units_, tn);
        uint64_t dur = core_tile_cycles(hw_, tdt_, in.m1 - in.m0, in.k1 - in.k0, tn);
        fin = start + dur;
        for (size_t u = base; u < base + size_t(units_); ++u) matrix_free_[u] = fin;
        if (ls) ls->matrix_busy_cycles += dur * uint64_t(used) * reps;
        break;
      }
      case OpKind::Vector: {
        unit = "vector";
        auto it = hw_.vector.cycles_per_element.find(in.op_class);
        double cpe = it != hw_.vector.cycles_per_element.end() ? it->second : 1.0;  // "move": one pass
        uint64_t dur =
            std::max<uint64_t>(1, uint64_t(std::ceil(double(in.elements) * cpe / std::max(1, hw_.vector.lanes))));
        start = std::max(ready, vector_free_[size_t(in.core)]);
        fin = start + dur;
        vector_free_[size_t(in.core)] = fin;
        if (ls) ls->vector_busy_cycles += dur * reps;
        break;
      }
      case OpKind::Load:
      case OpKind::Store:
      case OpKind::Transfer: {
        // Stores leave on a queue of their own (a GPU's asynchronous TMA stores, a TPU core's outbound DMA),
        // so a tile waiting for its result does not hold back the next tiles' loads.
        uint64_t& queue = (in.kind == OpKind::Store ? store_free_ : dma_free_)[size_t(in.core)];
        start = std::max(ready, queue);
        const double b = double(in.bytes), all = b * double(reps);  // the representative's, all replicas'
        uint64_t engine_free = start;
        if (in.kind == OpKind::Transfer) {
          unit = "noc";
          int h = hops(hw_, in.core, in.peer_core);
          uint64_t dur = uint64_t(std::ceil(h * hw_.noc.hop_latency_cycles)) + ceil_div_d(b, link_bpc_);
          fin = engine_free = start + dur;
          if (la) la->noc_cycles += dur * reps;
          if (ls) ls->noc_bytes += in.bytes * reps, ls->noc_byte_hops += in.bytes * reps * uint64_t(h);
          level_bytes(in.layer, MemLevel::Scratchpad, 2 * in.bytes * reps);
        } else if (in.src == MemLevel::OffChip || in.dst == MemLevel::OffChip) {
          check(hw_.offchip.has_value(), "simulate: instruction ", index, " uses off-chip memory, which ", hw_.name,
                " does not have");
          // Striped over all channels; each channel serves its share in order (contention = queueing), in
          // ticks (kTicks). Replicas: the channels carry every replica's bytes and the last replica's data
          // arrives at the end; each replica's own engine is free once its own share has gone out.
          const uint64_t d = ticks_for(all / channels_, chan_bpc_), d_own = ticks_for(b / channels_, chan_bpc_);
          uint64_t last = start * kTicks, own = start * kTicks;
          for (int c = 0; c < channels_; ++c) {
            uint64_t st = reserve(size_t(c), start * kTicks, d);
            if (la) la->offchip_ticks += d;
            last = std::max(last, st + d);
            own = std::max(own, st + d_own);
          }
          // The engine issues the next request once this one's data has gone out: several requests
          // are in flight, each completing a latency later.
          engine_free = cycle_after(own);
          fin = cycle_after(last) + offchip_latency_;
          const MemLevel other = in.src == MemLevel::OffChip ? in.dst : in.src;
          level_bytes(in.layer, MemLevel::OffChip, in.bytes * reps);
          level_bytes(in.layer, other, in.bytes * reps);
        } else if (in.src == MemLevel::GlobalBuffer || in.dst == MemLevel::GlobalBuffer) {
          // The shared port is busy for the replicas' bytes (in ticks); the core's own port may be slower and
          // streams from the request on: the port interleaves the cores it serves (a 36 KiB tile on each of
          // 128 h100 SMs: 288 cycles at an SM's 128 B/cycle, 858 for all of them at the L2's 5,500), so a
          // request done by the shared port's count ends by its own port's time from its start, not from its
          // turn in the port's queue.
          const uint64_t port = ticks_for(all, gb_bpc_), own = ceil_div_d(b, std::min(gb_bpc_, spad_bpc_));
          const uint64_t st = reserve(size_t(channels_), start * kTicks, port);
          fin = std::max(cycle_after(st + port), start + own);
          engine_free = start + own;
          level_bytes(in.layer, MemLevel::GlobalBuffer, in.bytes * reps);
          level_bytes(in.layer, in.src == MemLevel::GlobalBuffer ? in.dst : in.src, in.bytes * reps);
        } else {  // within a core: scratchpad <-> scratchpad / accumulator
          fin = engine_free = start + ceil_div_d(b, in.src == MemLevel::Accumulator ? acc_bpc_ : spad_bpc_);
          level_bytes(in.layer, in.src, in.bytes * reps);
          level_bytes(in.layer, in.dst, in.bytes * reps);
        }
        queue = engine_free;
        if (ls) ls->dma_busy_cycles += (engine_free - start) * reps;
        break;
      }
    }
    r_.cycles = std::max(r_.cycles, fin);
    if (track_busy_ && in.kind != OpKind::Collective) busy_.add(start, fin);
    if (la && in.kind != OpKind::Barrier) {
      la->start = std::min(la->start, start);
      la->end = std::max(la->end, fin);
    }
    if (options_.record_trace && unit) record(in, unit, start, fin);
    return {start, fin};
  }

  // The units `in` occupies, shifted by `delta` cycles (a repeat continued in its steady state).
  void shift_units(const Instr& in, uint64_t delta) {
    const size_t c = size_t(in.core);
    switch (in.kind) {
      case OpKind::MatMul:
        for (size_t u = c * size_t(units_); u < (c + 1) * size_t(units_); ++u)
          matrix_free_[u] = shifted(matrix_free_[u], delta);
        break;
      case OpKind::Vector:
        vector_free_[c] = shifted(vector_free_[c], delta);
        break;
      case OpKind::Load:
      case OpKind::Store:
      case OpKind::Transfer:
        (in.kind == OpKind::Store ? store_free_ : dma_free_)[c] += delta;
        break;
      case OpKind::Collective:
        link_free_ += delta;
        break;
      case OpKind::Barrier:
        break;
    }
  }
  // A steady-state repeat's skipped repetitions kept the cores busy from `begin` to `end`.
  void mark_busy(uint64_t begin, uint64_t end) {
    if (track_busy_) busy_.add(begin, end);
  }
  // The collectives' cycles that nothing else ran beside: all of them where they hold the cores. Those of a
  // repeat's skipped repetitions (a spatial design's pipelined runs) count as the simulated ones did.
  // By kind of collective ("all-reduce", "all-to-all", "send", ...) in `by_kind`.
  uint64_t exposed_comm_cycles(std::map<std::string, uint64_t>& by_kind) const {
    uint64_t exposed = 0, simulated = 0;
    std::map<std::string, uint64_t> kinds;
    for (const Comm& c : comm_) {
      const uint64_t e = track_busy_ ? busy_.uncovered(c.start, c.end) : c.end - c.start;
      exposed += e, simulated += c.end - c.start, kinds[*c.what] += e;
    }
    if (simulated == 0) return 0;
    const double scale = double(r_.comm_cycles) / double(simulated);
    for (const auto& [k, e] : kinds) by_kind[k] = uint64_t(std::llround(double(e) * scale));
    return uint64_t(std::llround(double(exposed) * scale));
  }
  // A reservation a steady state repeats `offset` cycles later (free then, unless another layer took it).
  void occupy(const Reservation& res, uint64_t offset) {
    shared_[res.resource].reserve(res.start + offset * kTicks, res.duration);
  }

 private:
  static uint64_t shifted(uint64_t t, uint64_t delta) { return t + delta; }
  // At a layer's barrier its cores are as busy as its representative (the first), which ran their tiles.
  void sync_cores(const std::vector<int>& cores) {
    if (cores.empty()) return;
    const size_t rep = size_t(cores[0]);
    for (int c : cores) {
      for (int u = 0; u < units_; ++u)
        matrix_free_[size_t(c) * size_t(units_) + size_t(u)] = matrix_free_[rep * size_t(units_) + size_t(u)];
      vector_free_[size_t(c)] = vector_free_[rep];
      dma_free_[size_t(c)] = dma_free_[rep];
      store_free_[size_t(c)] = store_free_[rep];
    }
  }
  uint64_t reserve(size_t resource, uint64_t ready, uint64_t duration) {
    // Every request starts at or after its engine is free, so the history before the earliest free engine
    // of those that issued any can never be used again: forgotten now and then, to keep lookups short.
    if (++reservations_ % 4096 == 0) {
      uint64_t horizon = UINT64_MAX;
      for (const auto* engines : {&dma_free_, &store_free_})
        for (uint64_t f : *engines)
          if (f > 0) horizon = std::min(horizon, f);
      if (horizon != UINT64_MAX)
        for (auto& sr : shared_) sr.forget_before(horizon * kTicks);
    }
    uint64_t st = shared_[resource].reserve(ready, duration);
    if (log_ && duration > 0) log_->push_back({resource, st, duration});
    return st;
  }
  void level_bytes(int layer, MemLevel m, uint64_t b) {
    if (m == MemLevel::OffChip) r_.offchip_bytes += b;
    if (m == MemLevel::Scratchpad || m == MemLevel::GlobalBuffer) r_.onchip_bytes += b;
    if (layer >= 0) r_.layers[size_t(layer)].bytes[m] += b;
  }
  void record(const Instr& in, const char* unit, uint64_t start, uint64_t fin) {
    if (r_.trace.size() >= options_.max_trace_events) {
      ++r_.trace_dropped;
      return;
    }
    TraceEvent e;
    e.name = (in.layer >= 0 ? prog_.layers[size_t(in.layer)].name : std::string("prologue")) + " " +
             std::string(op_kind_name(in.kind));
    if (in.kind == OpKind::MatMul)
      e.name += " [" + std::to_string(in.m0) + ":" + std::to_string(in.m1) + "," + std::to_string(in.k0) + ":" +
                std::to_string(in.k1) + "," + std::to_string(in.n0) + ":" + std::to_string(in.n1) + "]";
    else if (!in.what.empty())
      e.name += " " + in.what;
    else if (!in.op_class.empty())
      e.name += " " + in.op_class;
    e.unit = unit, e.core = in.core, e.layer = in.layer, e.start = start, e.end = fin;
    r_.trace.push_back(std::move(e));
  }

  const Program& prog_;
  const HardwareDesc& hw_;
  const SimOptions& options_;
  SimResult& r_;
  DType tdt_;
  int units_ = 1, channels_ = 1;
  double spad_bpc_ = 1, acc_bpc_ = 1, chan_bpc_ = 0, gb_bpc_ = 0, link_bpc_ = 1;
  uint64_t offchip_latency_ = 0;
  std::vector<uint64_t> matrix_free_, vector_free_, dma_free_, store_free_;
  std::vector<SharedResource> shared_;
  std::vector<LayerAcc> acc_;
  std::vector<Reservation>* log_ = nullptr;
  uint64_t reservations_ = 0;
  std::vector<bool> replicated_;  // layers whose waves ran as a representative core's tiles
  uint64_t link_free_ = 0;        // the system's links (collectives)
  struct Comm {
    uint64_t start = 0, end = 0;
    const std::string* what = nullptr;  // the instruction's kind of collective (the program outlives the machine)
  };
  std::vector<Comm> comm_;   // each collective's [start, end)
  bool track_busy_ = false;  // collectives may overlap compute: keep busy_
  BusyUnion busy_;
};

// What one repetition adds to the counters of the layers its body touches, so a steady state's remaining
// repetitions can be added at once.
struct Counters {
  std::vector<LayerStats> layers;
  std::vector<LayerAcc> accs;
  uint64_t offchip_bytes = 0, onchip_bytes = 0;
  int64_t collectives = 0;
  uint64_t comm_cycles = 0;
  double comm_energy_j = 0;
};

Counters snapshot(const SimResult& r, const std::vector<LayerAcc>& acc, const std::vector<int>& layers) {
  Counters c{{}, {}, r.offchip_bytes, r.onchip_bytes, r.collectives, r.comm_cycles, r.comm_energy_j};
  for (int l : layers) c.layers.push_back(r.layers[size_t(l)]), c.accs.push_back(acc[size_t(l)]);
  return c;
}

void add_scaled(SimResult& r, std::vector<LayerAcc>& acc, const std::vector<int>& layers, const Counters& before,
                const Counters& after, uint64_t n) {
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerStats& s = r.layers[size_t(layers[i])];
    const LayerStats &b0 = before.layers[i], &b1 = after.layers[i];
    s.matrix_busy_cycles += n * (b1.matrix_busy_cycles - b0.matrix_busy_cycles);
    s.vector_busy_cycles += n * (b1.vector_busy_cycles - b0.vector_busy_cycles);
    s.dma_busy_cycles += n * (b1.dma_busy_cycles - b0.dma_busy_cycles);
    s.noc_bytes += n * (b1.noc_bytes - b0.noc_bytes);
    s.noc_byte_hops += n * (b1.noc_byte_hops - b0.noc_byte_hops);
    for (const auto& [m, bytes] : b1.bytes) {
      auto it = b0.bytes.find(m);
      s.bytes[m] += n * (bytes - (it == b0.bytes.end() ? 0 : it->second));
    }
    LayerAcc& a = acc[size_t(layers[i])];
    a.offchip_ticks += n * (after.accs[i].offchip_ticks - before.accs[i].offchip_ticks);
    a.noc_cycles += n * (after.accs[i].noc_cycles - before.accs[i].noc_cycles);
  }
  r.offchip_bytes += n * (after.offchip_bytes - before.offchip_bytes);
  r.onchip_bytes += n * (after.onchip_bytes - before.onchip_bytes);
  r.collectives += int64_t(n) * (after.collectives - before.collectives);
  r.comm_cycles += n * (after.comm_cycles - before.comm_cycles);
  r.comm_energy_j += double(n) * (after.comm_energy_j - before.comm_energy_j);
}

// Runs a repeat's repetitions after its body ran explicitly (Program::Repeat), instruction by instruction,
// until the machine is in a steady state; the remaining repetitions are then the last one shifted by the
// period, added at once, so the cost is the transient, not the repetition count. The steady state is exact
// when every instruction ends exactly `period` cycles after its counterpart in the repetition before, for as
// many repetitions as the body looks back, with the shared resources reserved at the same offsets. Where
// many cores contend for the channels the pattern jitters by a few percent from one repetition to the next
// and never repeats exactly; then the period is the mean over the last 2W repetitions once the means of the
// last two windows of W agree within 1 % (tests: RepeatsMatchTheExpandedProgram).
void run_repeat(const Program& prog, const Repeat& rep, Machine& machine, SimResult& r, std::vector<uint64_t>& end) {
  const int64_t b = rep.body_begin, len = rep.body_len;
  // How many repetitions back a body instruction's dependencies reach.
  int64_t lookback = 1;
  for (int64_t j = 0; j < len; ++j)
    for (int d : prog.instrs[size_t(b + j)].deps)
      if (d >= rep.loop_begin && d < b + j) lookback = std::max(lookback, (b + j - d + len - 1) / len);
  const int64_t slots = lookback + 2, window = std::max<int64_t>(8, lookback + 1);
  std::vector<std::vector<uint64_t>> ring(size_t(slots), std::vector<uint64_t>(static_cast<size_t>(len)));
  std::copy(end.begin() + b, end.begin() + b + len, ring[0].begin());
  auto value = [&](int64_t v) -> uint64_t {  // end of virtual instruction v (explicit below b + len)
    if (v < b + len) return end[size_t(v)];
    return ring[size_t(((v - b) / len) % slots)][size_t((v - b) % len)];
  };
  std::vector<int> layers;  // the layers the body touches
  for (int64_t j = 0; j < len; ++j)
    if (int l = prog.instrs[size_t(b + j)].layer; l >= 0 && std::find(layers.begin(), layers.end(), l) == layers.end())
      layers.push_back(l);
  std::vector<LayerAcc>& acc = machine.acc();
  std::vector<Reservation> log, prev_log;
  std::vector<uint64_t> finish = {*std::max_element(ring[0].begin(), ring[0].end())};  // per repetition
  int64_t steady = 0;  // consecutive repetitions that shifted exactly by the same delta
  uint64_t delta = 0;
  int64_t k = 1;
  for (; k <= rep.times; ++k) {
    log.clear();
    machine.log_reservations(&log);
    const Counters before = snapshot(r, acc, layers);
    auto& cur = ring[size_t(k % slots)];
    for (int64_t j = 0; j < len; ++j) {
      const Instr& in = prog.instrs[size_t(b + j)];
      uint64_t ready = 0;
      for (int d : in.deps) ready = std::max(ready, d >= rep.loop_begin ? value(d + k * len) : end[size_t(d)]);
      cur[size_t(j)] = machine.run(in, ready, size_t(b + j)).second;
    }
    machine.log_reservations(nullptr);
    finish.push_back(*std::max_element(cur.begin(), cur.end()));
    const auto& prev = ring[size_t((k - 1) % slots)];
    const uint64_t d0 = cur[0] - prev[0];
    bool uniform = cur[0] >= prev[0] && log.size() == prev_log.size();
    for (int64_t j = 1; j < len && uniform; ++j) uniform = cur[size_t(j)] - prev[size_t(j)] == d0;
    for (size_t i = 0; i < log.size() && uniform; ++i)
      uniform = log[i].resource == prev_log[i].resource && log[i].duration == prev_log[i].duration &&
                log[i].start == prev_log[i].start + d0 * kTicks;
    steady = !uniform ? 0 : steady > 0 && d0 == delta ? steady + 1 : 1;
    delta = d0;
    prev_log.swap(log);
    if (k == rep.times) continue;
    uint64_t period = 0;
    if (steady > lookback) {
      period = delta;
    } else if (k >= 2 * window) {
      const double recent = double(finish[size_t(k)] - finish[size_t(k - window)]),
                   earlier = double(finish[size_t(k - window)] - finish[size_t(k - 2 * window)]);
      if (recent > 0 && std::abs(recent - earlier) <= 0.005 * recent)
        period = uint64_t(std::llround((recent + earlier) / double(2 * window)));
    }
    if (period == 0) continue;
    const uint64_t n = uint64_t(rep.times - k), shift = period * n;
    add_scaled(r, acc, layers, before, snapshot(r, acc, layers), n);
    for (auto& slot : ring)
      for (auto& t : slot) t += shift;
    std::set<std::pair<OpKind, int>> units;  // each unit the body uses, shifted once
    for (int64_t j = 0; j < len; ++j) {
      const Instr& in = prog.instrs[size_t(b + j)];
      const OpKind kind = in.kind == OpKind::Transfer ? OpKind::Load : in.kind;
      if (units.insert({kind, in.core}).second) machine.shift_units(in, shift);
    }
    // Each shared resource is busy for the repetitions' share of the time after the last one.
    std::map<size_t, std::pair<uint64_t, uint64_t>> busy;  // resource -> first start, cycles per repetition
    for (const Reservation& res : prev_log) {
      auto [it, fresh] = busy.try_emplace(res.resource, res.start, 0);
      it->second.first = std::min(it->second.first, res.start);
      it->second.second += res.duration;
    }
    for (const auto& [resource, first_busy] : busy)
      machine.occupy({resource, first_busy.first + period * kTicks, first_busy.second * n}, 0);
    const uint64_t last = finish.back() + shift;
    const auto& final_rep = ring[size_t(k % slots)];  // shifted: the last repetition's ends
    for (int64_t j = 0; j < len; ++j)
      if (int l = prog.instrs[size_t(b + j)].layer; l >= 0 && prog.instrs[size_t(b + j)].kind != OpKind::Barrier)
        acc[size_t(l)].end = std::max(acc[size_t(l)].end, final_rep[size_t(j)]);
    r.cycles = std::max(r.cycles, last);
    machine.mark_busy(finish[size_t(k)], last);
    r.trace_dropped += n * uint64_t(len);
    break;  // the ring holds repetitions times-slots+1 .. times under the numbers k-slots+1 .. k
  }
  const int64_t last_rep = std::min(k, rep.times);  // the ring's number of repetition `times`
  // Afterwards the explicit waves name the last ones: wave b - m*len is repetition times - m.
  std::vector<std::vector<uint64_t>> named;
  for (int64_t m = 0; m <= lookback && b - m * len >= rep.loop_begin; ++m) {
    const int64_t rr = last_rep - m;  // ring repetition holding repetition times - m
    std::vector<uint64_t> v(static_cast<size_t>(len));
    for (int64_t j = 0; j < len; ++j)
      v[size_t(j)] = rr >= 1 ? ring[size_t(rr % slots)][size_t(j)] : end[size_t(b + rr * len + j)];
    named.push_back(std::move(v));
  }
  for (size_t m = 0; m < named.size(); ++m)
    std::copy(named[m].begin(), named[m].end(), end.begin() + (b - int64_t(m) * len));
}

}  // namespace

SimResult simulate(const Program& prog, const HardwareDesc& hw, const SimOptions& options) {
  prog.validate(hw.cores);
  SimResult r;
  r.model = prog.model;
  r.hw_name = hw.name;
  r.batch = prog.batch;
  r.precision = prog.precision;
  r.clock_hz = hw.clock_hz;
  r.layers.resize(prog.layers.size());
  for (size_t i = 0; i < prog.layers.size(); ++i) {
    const Layer& l = prog.layers[i];
    LayerStats& s = r.layers[i];
    s.name = l.name, s.op_type = l.op_type, s.unit = l.unit, s.macs = l.macs, s.vector_elements = l.vector_elements;
    r.macs += l.macs;
  }
  Machine machine(prog, hw, options, r);
  const DType tdt = machine.tdt();
  r.peak_macs_per_s = hw.peak_macs_per_s(tdt);
  r.offchip_bytes_per_s = hw.offchip_bytes_per_s();

  std::vector<uint64_t> end(prog.instrs.size(), 0);
  size_t next_repeat = 0;
  for (size_t i = 0; i < prog.instrs.size(); ++i) {
    const Instr& in = prog.instrs[i];
    uint64_t ready = 0;
    for (int d : in.deps) ready = std::max(ready, end[size_t(d)]);
    end[i] = machine.run(in, ready, i).second;
    for (; next_repeat < prog.repeats.size() &&
           size_t(prog.repeats[next_repeat].body_begin + prog.repeats[next_repeat].body_len) == i + 1;
         ++next_repeat)
      run_repeat(prog, prog.repeats[next_repeat], machine, r, end);
  }

  r.comm_exposed_cycles = machine.exposed_comm_cycles(r.comm_exposed_by_kind);
  const int units = machine.units(), channels = machine.channels();
  const double matrix_peak_per_core = units * hw.matrix.macs_per_cycle.at(tdt);
  for (size_t li = 0; li < prog.layers.size(); ++li) {
    LayerStats& s = r.layers[li];
    const LayerAcc& a = machine.acc()[li];
    if (a.start == UINT64_MAX) continue;  // free layer: no instructions
    s.start_cycle = a.start, s.end_cycle = a.end;
    const double span = double(std::max<uint64_t>(1, a.end - a.start));
    const double nc = double(std::max<size_t>(1, prog.layers[li].cores.size()));
    s.matrix_utilization = double(s.macs) / (matrix_peak_per_core * nc * span);
    s.vector_utilization = double(s.vector_busy_cycles) / (nc * span);
    // What bounds the span: the busiest resource class over it.
    double compute = double(s.matrix_busy_cycles) / (nc * units), vec = double(s.vector_busy_cycles) / nc;
    double mem = std::max(double(a.offchip_ticks) / double(kTicks) / channels,
                          double(s.dma_busy_cycles) / nc - double(a.noc_cycles) / nc);
    double net = double(a.noc_cycles) / nc;
    if (prog.layers[li].unit == "comm") {
      s.bound = "communication";
      continue;
    }
    s.bound = "compute";
    double top = compute;
    if (vec > top) s.bound = "vector", top = vec;
    if (mem > top) s.bound = "memory", top = mem;
    if (net > top) s.bound = "network";
  }
  r.latency_s = double(r.cycles) / hw.clock_hz;
  r.throughput_samples_per_s = r.latency_s > 0 ? prog.batch / r.latency_s : 0;
  return r;
}

}  // namespace wafer::npu
