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

#include "core/error.h"
#include "npu/compiler_tiling.h"

namespace wafer::npu {

namespace {

uint64_t ceil_div_d(double bytes, double per_cycle) {
  return per_cycle > 0 ? uint64_t(std::ceil(bytes / per_cycle)) : 0;
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
    // Insert [t, t + duration), merged with touching neighbours so the map stays small.
    uint64_t begin = t, end = t + duration;
    auto next = busy_.lower_bound(begin);
    if (next != busy_.end() && next->first == end) end = next->second, next = busy_.erase(next);
    if (next != busy_.begin()) {
      auto prev = std::prev(next);
      if (prev->second == begin) {
        prev->second = end;
        return t;
      }
    }
    busy_.emplace(begin, end);
    return t;
  }

 private:
  std::map<uint64_t, uint64_t> busy_;  // start -> end, disjoint
};

struct LayerAcc {
  uint64_t start = UINT64_MAX, end = 0;
  uint64_t offchip_cycles = 0, noc_cycles = 0;
};

}  // namespace

SimResult simulate(const Program& prog, const HardwareDesc& hw, const SimOptions& options) {
  prog.validate(hw.cores);
  SimResult r;
  r.model = prog.model;
  r.hw_name = hw.name;
  r.batch = prog.batch;
  r.precision = prog.precision;
  r.clock_hz = hw.clock_hz;
  const DType tdt = timing_dtype(hw, prog.precision);
  r.peak_macs_per_s = hw.peak_macs_per_s(tdt);
  r.offchip_bytes_per_s = hw.offchip_bytes_per_s();

  const int units = std::max(1, hw.matrix.units);
  const double spad_bpc = std::max(1.0, hw.scratchpad.bytes_per_cycle);
  const double acc_bpc = hw.accumulator.bytes_per_cycle > 0 ? hw.accumulator.bytes_per_cycle : spad_bpc;
  const int channels = hw.offchip ? std::max(1, hw.offchip->channels) : 1;
  const double chan_bpc = hw.offchip ? hw.offchip->bandwidth_bytes_per_s / hw.clock_hz / channels : 0;
  const uint64_t offchip_latency = hw.offchip ? uint64_t(std::ceil(hw.offchip->latency_s * hw.clock_hz - 1e-6)) : 0;
  const double gb_bpc = hw.global_buffer ? std::max(1.0, hw.global_buffer->bytes_per_cycle) : 0;
  const double link_bpc = hw.noc.bytes_per_cycle_per_link > 0 ? hw.noc.bytes_per_cycle_per_link : spad_bpc;
  const double matrix_peak_per_core = units * hw.matrix.macs_per_cycle.at(tdt);

  std::vector<uint64_t> matrix_free(size_t(hw.cores) * size_t(units), 0), vector_free(size_t(hw.cores), 0),
      dma_free(size_t(hw.cores), 0);
  std::vector<SharedResource> chans(static_cast<size_t>(channels));
  SharedResource gb_port;
  std::vector<uint64_t> end(prog.instrs.size(), 0);

  r.layers.resize(prog.layers.size());
  std::vector<LayerAcc> acc(prog.layers.size());
  for (size_t i = 0; i < prog.layers.size(); ++i) {
    const Layer& l = prog.layers[i];
    LayerStats& s = r.layers[i];
    s.name = l.name, s.op_type = l.op_type, s.unit = l.unit, s.macs = l.macs, s.vector_elements = l.vector_elements;
    r.macs += l.macs;
  }

  auto level_bytes = [&](int layer, MemLevel m, uint64_t b) {
    if (m == MemLevel::OffChip) r.offchip_bytes += b;
    if (m == MemLevel::Scratchpad || m == MemLevel::GlobalBuffer) r.onchip_bytes += b;
    if (layer >= 0) r.layers[size_t(layer)].bytes[m] += b;
  };

  for (size_t i = 0; i < prog.instrs.size(); ++i) {
    const Instr& in = prog.instrs[i];
    uint64_t ready = 0;
    for (int d : in.deps) ready = std::max(ready, end[size_t(d)]);
    uint64_t start = ready, fin = ready;
    const char* unit = "dma";
    LayerAcc* la = in.layer >= 0 ? &acc[size_t(in.layer)] : nullptr;
    LayerStats* ls = in.layer >= 0 ? &r.layers[size_t(in.layer)] : nullptr;
    switch (in.kind) {
      case OpKind::Barrier:
        unit = nullptr;
        break;
      case OpKind::MatMul: {
        // All the core's matrix units take the tile together, a slice of its columns each.
        unit = "matrix";
        const size_t base = size_t(in.core) * size_t(units);
        start = ready;
        for (size_t u = base; u < base + size_t(units); ++u) start = std::max(start, matrix_free[u]);
        const int64_t tn = in.n1 - in.n0, used = std::min<int64_t>(units, tn);
        uint64_t dur = core_tile_cycles(hw, tdt, in.m1 - in.m0, in.k1 - in.k0, tn);
        fin = start + dur;
        for (size_t u = base; u < base + size_t(units); ++u) matrix_free[u] = fin;
        if (ls) ls->matrix_busy_cycles += dur * uint64_t(used);
        break;
      }
      case OpKind::Vector: {
        unit = "vector";
        auto it = hw.vector.cycles_per_element.find(in.op_class);
        double cpe = it != hw.vector.cycles_per_element.end() ? it->second : 1.0;  // "move": one pass
        uint64_t dur =
            std::max<uint64_t>(1, uint64_t(std::ceil(double(in.elements) * cpe / std::max(1, hw.vector.lanes))));
        start = std::max(ready, vector_free[size_t(in.core)]);
        fin = start + dur;
        vector_free[size_t(in.core)] = fin;
        if (ls) ls->vector_busy_cycles += dur;
        break;
      }
      case OpKind::Load:
      case OpKind::Store:
      case OpKind::Transfer: {
        start = std::max(ready, dma_free[size_t(in.core)]);
        const double b = double(in.bytes);
        if (in.kind == OpKind::Transfer) {
          unit = "noc";
          int h = hops(hw, in.core, in.peer_core);
          uint64_t dur = uint64_t(std::ceil(h * hw.noc.hop_latency_cycles)) + ceil_div_d(b, link_bpc);
          fin = start + dur;
          if (la) la->noc_cycles += dur;
          if (ls) ls->noc_bytes += in.bytes, ls->noc_byte_hops += in.bytes * uint64_t(h);
          level_bytes(in.layer, MemLevel::Scratchpad, 2 * in.bytes);
        } else if (in.src == MemLevel::OffChip || in.dst == MemLevel::OffChip) {
          check(hw.offchip.has_value(), "simulate: instruction ", i, " uses off-chip memory, which ", hw.name,
                " does not have");
          // Striped over all channels; each channel serves its share in order (contention = queueing).
          const double share = b / channels;
          uint64_t last = start;
          for (int c = 0; c < channels; ++c) {
            const uint64_t d = ceil_div_d(share, chan_bpc);
            uint64_t st = chans[size_t(c)].reserve(start, d);
            if (la) la->offchip_cycles += d;
            last = std::max(last, st + d);
          }
          // The engine issues the next request once this one's data has gone out: several requests
          // are in flight, each completing a latency later.
          dma_free[size_t(in.core)] = last;
          fin = last + offchip_latency;
          const MemLevel other = in.src == MemLevel::OffChip ? in.dst : in.src;
          level_bytes(in.layer, MemLevel::OffChip, in.bytes);
          level_bytes(in.layer, other, in.bytes);
        } else if (in.src == MemLevel::GlobalBuffer || in.dst == MemLevel::GlobalBuffer) {
          // The shared port is busy for its own share of the time; the core's port may be slower.
          start = gb_port.reserve(start, ceil_div_d(b, gb_bpc));
          fin = start + ceil_div_d(b, std::min(gb_bpc, spad_bpc));
          level_bytes(in.layer, MemLevel::GlobalBuffer, in.bytes);
          level_bytes(in.layer, in.src == MemLevel::GlobalBuffer ? in.dst : in.src, in.bytes);
        } else {  // within a core: scratchpad <-> scratchpad / accumulator
          fin = start + ceil_div_d(b, in.src == MemLevel::Accumulator ? acc_bpc : spad_bpc);
          level_bytes(in.layer, in.src, in.bytes);
          level_bytes(in.layer, in.dst, in.bytes);
        }
        if (in.kind == OpKind::Transfer || !(in.src == MemLevel::OffChip || in.dst == MemLevel::OffChip))
          dma_free[size_t(in.core)] = fin;
        if (ls) ls->dma_busy_cycles += dma_free[size_t(in.core)] - start;
        break;
      }
    }
    end[i] = fin;
    r.cycles = std::max(r.cycles, fin);
    if (la && in.kind != OpKind::Barrier) {
      la->start = std::min(la->start, start);
      la->end = std::max(la->end, fin);
    }
    if (options.record_trace && unit) {
      if (r.trace.size() < options.max_trace_events) {
        TraceEvent e;
        e.name = (in.layer >= 0 ? prog.layers[size_t(in.layer)].name : std::string("prologue")) + " " +
                 std::string(op_kind_name(in.kind));
        if (in.kind == OpKind::MatMul)
          e.name += " [" + std::to_string(in.m0) + ":" + std::to_string(in.m1) + "," + std::to_string(in.k0) + ":" +
                    std::to_string(in.k1) + "," + std::to_string(in.n0) + ":" + std::to_string(in.n1) + "]";
        else if (!in.what.empty())
          e.name += " " + in.what;
        else if (!in.op_class.empty())
          e.name += " " + in.op_class;
        e.unit = unit, e.core = in.core, e.layer = in.layer, e.start = start, e.end = fin;
        r.trace.push_back(std::move(e));
      } else {
        ++r.trace_dropped;
      }
    }
  }

  for (size_t li = 0; li < prog.layers.size(); ++li) {
    LayerStats& s = r.layers[li];
    const LayerAcc& a = acc[li];
    if (a.start == UINT64_MAX) continue;  // free layer: no instructions
    s.start_cycle = a.start, s.end_cycle = a.end;
    const double span = double(std::max<uint64_t>(1, a.end - a.start));
    const double nc = double(std::max<size_t>(1, prog.layers[li].cores.size()));
    s.matrix_utilization = double(s.macs) / (matrix_peak_per_core * nc * span);
    s.vector_utilization = double(s.vector_busy_cycles) / (nc * span);
    // What bounds the span: the busiest resource class over it.
    double compute = double(s.matrix_busy_cycles) / (nc * units), vec = double(s.vector_busy_cycles) / nc;
    double mem =
        std::max(double(a.offchip_cycles) / channels, double(s.dma_busy_cycles) / nc - double(a.noc_cycles) / nc);
    double net = double(a.noc_cycles) / nc;
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
