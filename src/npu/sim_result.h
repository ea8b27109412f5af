// What the timing simulator reports. Energy and area are filled from the
// hardware description by account_energy() (npu/energy.h).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "npu/cost_model.h"
#include "npu/program.h"

namespace wafer::npu {

struct LayerStats {
  std::string name, op_type, unit;
  int64_t macs = 0;
  int64_t vector_elements = 0;
  uint64_t start_cycle = 0, end_cycle = 0;  // span of the layer's instructions
  uint64_t matrix_busy_cycles = 0;          // summed over the cores (and units) it used
  uint64_t vector_busy_cycles = 0;
  uint64_t dma_busy_cycles = 0;
  std::map<MemLevel, uint64_t> bytes;  // bytes read or written at each level
  uint64_t noc_bytes = 0;
  uint64_t noc_byte_hops = 0;
  double matrix_utilization = 0;  // macs / (peak MACs per cycle of the cores used x span)
  double vector_utilization = 0;
  std::string bound;  // "compute" | "vector" | "memory" | "network": what limits its span
  double energy_j = 0;
};

struct TraceEvent {
  std::string name;  // instruction label, e.g. "conv1 matmul [0:64,0:147,0:64]"
  std::string unit;  // "matrix" | "vector" | "dma" | "noc" | "link" (a collective)
  int core = 0;
  int layer = -1;
  uint64_t start = 0, end = 0;  // cycles
};

struct SimResult {
  std::string model, hw_name;
  int batch = 1;
  // The batch ran as batch / sub_batch sequential runs of sub_batch samples (npu/evaluate.h); the layer
  // statistics are one run's, the totals the whole batch's.
  int sub_batch = 1;
  // The tile granularity of the program that ran (NpuCompileOptions::tile_granularity; evaluate.cpp).
  int tile_granularity = 1;
  DType precision = DType::Float32;
  uint64_t cycles = 0;
  double clock_hz = 0;
  double latency_s = 0;
  double throughput_samples_per_s = 0;
  int64_t macs = 0;
  uint64_t offchip_bytes = 0;
  uint64_t onchip_bytes = 0;  // scratchpad + global buffer traffic
  // Collectives and pipeline sends on the system's links (OpKind::Collective): how many, their cycles, the
  // cycles of them when nothing else ran (on the critical path; by kind: "all-reduce", "all-gather",
  // "all-to-all", "send"), and this chip's share of their link energy (not in energy_j, which is the chip's).
  int64_t collectives = 0;
  uint64_t comm_cycles = 0, comm_exposed_cycles = 0;
  std::map<std::string, uint64_t> comm_exposed_by_kind;
  double comm_energy_j = 0;
  double peak_macs_per_s = 0;
  double offchip_bytes_per_s = 0;
  double energy_j = 0;
  std::map<std::string, double>
      energy_breakdown_j;  // "mac", "vector", "scratchpad", "global", "offchip", "noc", "static"
  double area_mm2 = 0;
  std::optional<ChipCost> cost;  // the description's cost section, evaluated (npu/cost_model.h)
  // On a system of chips (data parallel: api/simulate.h), the chips that ran and the network's cost; the totals
  // above are all of them together, `layers` and the latency one chip's.
  int chips = 1;
  double network_usd = 0;
  // The work totals of k such runs, in series (a batch as sub-batches: npu/evaluate.cpp) or side by side (data
  // parallel chips: api/simulate.cpp): MACs, traffic, collectives and energy. Time is the caller's to scale.
  void scale_work(int k) {
    const auto n = uint64_t(k);
    macs *= k;
    offchip_bytes *= n;
    onchip_bytes *= n;
    collectives *= k;
    comm_energy_j *= k;
    energy_j *= k;
    for (auto& [part, j] : energy_breakdown_j) j *= k;
  }
  // Mean power over the run from the energy model (joules / latency) and what it buys.
  double power_w() const { return latency_s > 0 ? energy_j / latency_s : 0; }
  std::vector<LayerStats> layers;
  std::vector<TraceEvent> trace;
  uint64_t trace_dropped = 0;  // events not recorded beyond the cap (SimOptions::max_trace_events)
};

}  // namespace wafer::npu
