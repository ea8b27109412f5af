// TEMPORARY: replaced by branch npu-compiler.
// Trivial compile_for_npu/simulate so that `wafer sim` and `wafer sweep` run
// end to end on this branch before the real compiler and simulator are
// merged: one layer per node, every layer on core 0, cycles = max(MACs / peak,
// off-chip bytes / bandwidth, vector elements / lanes). No test asserts on
// these numbers. The integrator deletes this file at merge.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ir/cost.h"
#include "npu/compiler.h"
#include "npu/simulator.h"

namespace wafer::npu {

Program compile_for_npu(const Graph& graph, const HardwareDesc& hw, const NpuCompileOptions& options) {  // TEMPORARY
  Program p;
  p.model = graph.name;
  p.hw_name = hw.name;
  p.batch = options.batch;
  p.precision = options.precision;
  if (p.precision == DType::Undefined) {
    for (DType t : {DType::BFloat16, DType::Float16, DType::Float32})
      if (hw.supports(t) && p.precision == DType::Undefined) p.precision = t;
    if (p.precision == DType::Undefined && !hw.matrix.macs_per_cycle.empty())
      p.precision = hw.matrix.macs_per_cycle.begin()->first;
  }
  check(hw.supports(p.precision), "hardware '", hw.name, "' has no ", dtype_name(p.precision), " matrix unit");
  std::string unsupported;
  for (const auto& n : graph.nodes) {
    NodeCost c = node_cost(graph, *n);
    if (!c.macs || !c.flops || !c.bytes_read || !c.bytes_written) {
      unsupported += (unsupported.empty() ? "" : ", ") + n->label();
      continue;
    }
    Layer l;
    l.name = n->name;
    l.op_type = n->op_type;
    l.macs = *c.macs;
    l.unit = l.macs > 0 ? "matrix" : (*c.flops > 0 ? "vector" : "none");
    l.vector_elements = l.macs > 0 ? 0 : *c.flops;
    l.weight_bytes = uint64_t(c.param_bytes);
    l.cores = {0};
    int li = int(p.layers.size());
    p.layers.push_back(l);
    Instr ld;
    ld.kind = OpKind::Load;
    ld.layer = li;
    ld.bytes = uint64_t(c.param_bytes + *c.bytes_read);
    ld.what = "input";
    if (!p.instrs.empty()) ld.deps = {int(p.instrs.size()) - 1};
    p.instrs.push_back(ld);
    Instr op;
    op.kind = l.macs > 0 ? OpKind::MatMul : OpKind::Vector;
    op.layer = li;
    op.elements = l.vector_elements;
    op.dtype = p.precision;
    op.deps = {int(p.instrs.size()) - 1};
    p.instrs.push_back(op);
    Instr st;
    st.kind = OpKind::Store;
    st.layer = li;
    st.src = MemLevel::Scratchpad;
    st.dst = MemLevel::OffChip;
    st.bytes = uint64_t(*c.bytes_written);
    st.what = "output";
    st.deps = {int(p.instrs.size()) - 1};
    p.instrs.push_back(st);
    p.weight_bytes_total += l.weight_bytes;
  }
  if (!unsupported.empty()) throw UnsupportedError("npu (stub): cannot cost: " + unsupported);
  return p;
}

SimResult simulate(const Program& program, const HardwareDesc& hw, const SimOptions& options) {  // TEMPORARY
  SimResult r;
  r.model = program.model;
  r.hw_name = hw.name;
  r.batch = program.batch;
  r.precision = program.precision;
  r.clock_hz = hw.clock_hz;
  r.peak_macs_per_s = hw.peak_macs_per_s(program.precision);
  r.offchip_bytes_per_s = hw.offchip_bytes_per_s();
  const double macs_per_cycle = r.peak_macs_per_s / hw.clock_hz;
  const double bytes_per_cycle = r.offchip_bytes_per_s > 0 ? r.offchip_bytes_per_s / hw.clock_hz : 1e30;
  std::vector<uint64_t> layer_bytes(program.layers.size(), 0);
  for (const Instr& in : program.instrs)
    if (in.layer >= 0 && (in.kind == OpKind::Load || in.kind == OpKind::Store))
      layer_bytes[size_t(in.layer)] += in.bytes;
  uint64_t now = 0;
  for (size_t i = 0; i < program.layers.size(); ++i) {
    const Layer& l = program.layers[i];
    LayerStats s;
    s.name = l.name;
    s.op_type = l.op_type;
    s.unit = l.unit;
    s.macs = l.macs;
    s.vector_elements = l.vector_elements;
    uint64_t mc = uint64_t(std::ceil(double(l.macs) / macs_per_cycle));
    uint64_t vc = uint64_t(std::ceil(double(l.vector_elements) / std::max(1, hw.vector.lanes)));
    uint64_t dc = uint64_t(std::ceil(double(layer_bytes[i]) / bytes_per_cycle));
    uint64_t span = std::max({mc, vc, dc, uint64_t(1)});
    s.start_cycle = now;
    s.end_cycle = now + span;
    s.matrix_busy_cycles = mc;
    s.vector_busy_cycles = vc;
    s.dma_busy_cycles = dc;
    s.bytes[MemLevel::OffChip] = layer_bytes[i];
    s.bytes[MemLevel::Scratchpad] = layer_bytes[i];
    s.matrix_utilization = double(l.macs) / (macs_per_cycle * double(span));
    s.vector_utilization = double(vc) / double(span);
    s.bound = dc >= mc && dc >= vc ? "memory" : (mc >= vc ? "compute" : "vector");
    if (options.record_trace) {
      r.trace.push_back({l.name + " dma", "dma", 0, int(i), now, now + dc});
      if (mc) r.trace.push_back({l.name + " matmul", "matrix", 0, int(i), now, now + mc});
      if (vc) r.trace.push_back({l.name + " vector", "vector", 0, int(i), now, now + vc});
    }
    now += span;
    r.macs += l.macs;
    r.offchip_bytes += layer_bytes[i];
    r.onchip_bytes += layer_bytes[i];
    r.layers.push_back(std::move(s));
  }
  r.cycles = now;
  r.latency_s = double(now) / hw.clock_hz;
  r.throughput_samples_per_s = r.latency_s > 0 ? program.batch / r.latency_s : 0;
  return r;
}

}  // namespace wafer::npu
