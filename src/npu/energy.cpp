// Energy from counts x per-event energies of the description; area from the
// description alone. Every component is kept separately (per layer and in
// total) so a report can say where the joules go.
//
// Conventions (docs/NPU.md):
//  - accumulator traffic is charged at the scratchpad's pJ/B (the description
//    has one on-core SRAM energy figure);
//  - traffic and MACs that the simulator did not attribute to a layer (the
//    prologue that loads resident weights) count in the totals only;
//  - static power runs for the whole latency; a layer's share of it is in
//    proportion to its span, so the layers' energies add up to the total when
//    every count is attributed to a layer.
#include "npu/energy.h"

#include "core/error.h"

namespace wafer::npu {

namespace {

constexpr double kPico = 1e-12;

uint64_t level_bytes(const LayerStats& l, MemLevel m) {
  auto it = l.bytes.find(m);
  return it == l.bytes.end() ? 0 : it->second;
}

}  // namespace

void account_energy(SimResult& result, const HardwareDesc& hw) {
  const EnergyModel& e = hw.energy;
  auto mac_it = e.mac_pj.find(result.precision);
  bool any_macs = result.macs > 0;
  for (const LayerStats& l : result.layers) any_macs = any_macs || l.macs > 0;
  check(mac_it != e.mac_pj.end() || !any_macs, "hardware '", hw.name, "' has no energy.mac_pj for ",
        dtype_name(result.precision), ": cannot account the energy of its MACs");
  const double mac_pj = mac_it == e.mac_pj.end() ? 0.0 : mac_it->second;

  std::map<std::string, double> total_pj = {{"mac", 0},     {"vector", 0}, {"scratchpad", 0}, {"global", 0},
                                            {"offchip", 0}, {"noc", 0},    {"static", 0}};
  int64_t layer_macs = 0;
  uint64_t layer_offchip = 0, layer_onchip = 0;
  uint64_t span_sum = 0;
  for (const LayerStats& l : result.layers) span_sum += l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
  const double static_j = e.static_w * result.latency_s;

  for (LayerStats& l : result.layers) {
    uint64_t sp = level_bytes(l, MemLevel::Scratchpad) + level_bytes(l, MemLevel::Accumulator);
    uint64_t gb = level_bytes(l, MemLevel::GlobalBuffer);
    uint64_t off = level_bytes(l, MemLevel::OffChip);
    double mac = double(l.macs) * mac_pj;
    double vec = double(l.vector_elements) * e.vector_op_pj;
    double spj = double(sp) * e.scratchpad_pj_per_byte;
    double gbj = double(gb) * e.global_buffer_pj_per_byte;
    double offj = double(off) * e.offchip_pj_per_byte;
    double noc = double(l.noc_byte_hops) * e.noc_pj_per_byte_hop;
    uint64_t span = l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
    double stat = span_sum ? static_j * double(span) / double(span_sum) : 0.0;
    l.energy_j = (mac + vec + spj + gbj + offj + noc) * kPico + stat;
    total_pj["mac"] += mac;
    total_pj["vector"] += vec;
    total_pj["scratchpad"] += spj;
    total_pj["global"] += gbj;
    total_pj["offchip"] += offj;
    total_pj["noc"] += noc;
    layer_macs += l.macs;
    layer_offchip += off;
    layer_onchip += sp + gb;
  }
  // Counts outside every layer (prologue/epilogue instructions).
  if (result.macs > layer_macs) total_pj["mac"] += double(result.macs - layer_macs) * mac_pj;
  if (result.offchip_bytes > layer_offchip)
    total_pj["offchip"] += double(result.offchip_bytes - layer_offchip) * e.offchip_pj_per_byte;
  if (result.onchip_bytes > layer_onchip)
    total_pj["scratchpad"] += double(result.onchip_bytes - layer_onchip) * e.scratchpad_pj_per_byte;

  result.energy_breakdown_j.clear();
  double total = 0;
  for (const auto& [k, pj] : total_pj) {
    result.energy_breakdown_j[k] = pj * kPico;
    total += pj * kPico;
  }
  result.energy_breakdown_j["static"] = static_j;
  total += static_j;
  result.energy_j = total;
  result.area_mm2 = hw.area_mm2();
  result.cost = chip_cost(hw);
}

}  // namespace wafer::npu
