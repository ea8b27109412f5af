// `wafer sim --json` and sim.json: every figure of the run, keys carry units.
#include "npu/report/report.h"

namespace wafer::report {

nlohmann::json sim_json(const npu::SimResult& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["batch"] = r.batch;
  j["chips"] = r.chips;
  j["sub_batch"] = r.sub_batch;
  j["tile_granularity"] = r.tile_granularity;
  j["precision"] = std::string(dtype_name(r.precision));
  j["cycles"] = r.cycles;
  j["clock_hz"] = r.clock_hz;
  j["latency_s"] = r.latency_s;
  j["throughput_samples_per_s"] = r.throughput_samples_per_s;
  j["macs"] = r.macs;
  j["offchip_bytes"] = r.offchip_bytes;
  j["onchip_bytes"] = r.onchip_bytes;
  if (r.collectives > 0) {
    j["collectives"] = r.collectives;
    j["comm_s"] = double(r.comm_cycles) / r.clock_hz;
    j["comm_exposed_s"] = double(r.comm_exposed_cycles) / r.clock_hz;
    j["comm_energy_j"] = r.comm_energy_j;
  }
  j["energy_j"] = r.energy_j;
  j["energy_per_sample_j"] = r.batch > 0 ? r.energy_j / r.batch : 0.0;
  j["energy_breakdown_j"] = nlohmann::json::object();
  for (const auto& [k, v] : r.energy_breakdown_j) j["energy_breakdown_j"][k] = v;
  j["area_mm2"] = r.area_mm2;
  j["power_w"] = r.power_w();
  if (r.cost)
    j["cost"] = cost_json(
        npu::deployment_cost(*r.cost, r.chips, r.network_usd, r.power_w(), r.throughput_samples_per_s), "samples/s");
  j["hw"] = {{"name", r.hw_name},
             {"clock_hz", r.clock_hz},
             {"peak_macs_per_s", r.peak_macs_per_s},
             {"offchip_bytes_per_s", r.offchip_bytes_per_s},
             {"area_mm2", r.area_mm2}};
  j["layers"] = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::json b = nlohmann::json::object();
    for (const auto& [m, n] : l.bytes) b[level_key(m)] = n;
    uint64_t span = l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
    j["layers"].push_back({{"name", l.name},
                           {"op_type", l.op_type},
                           {"unit", l.unit},
                           {"macs", l.macs},
                           {"vector_elements", l.vector_elements},
                           {"start_cycle", l.start_cycle},
                           {"end_cycle", l.end_cycle},
                           {"cycles", span},
                           {"latency_s", r.clock_hz > 0 ? double(span) / r.clock_hz : 0.0},
                           {"matrix_busy_cycles", l.matrix_busy_cycles},
                           {"vector_busy_cycles", l.vector_busy_cycles},
                           {"dma_busy_cycles", l.dma_busy_cycles},
                           {"matrix_utilization", l.matrix_utilization},
                           {"vector_utilization", l.vector_utilization},
                           {"bytes", b},
                           {"noc_bytes", l.noc_bytes},
                           {"noc_byte_hops", l.noc_byte_hops},
                           {"bound", l.bound},
                           {"energy_j", l.energy_j}});
  }
  return j;
}

}  // namespace wafer::report
