#include "api/hardware.h"

namespace wafer::api {

nlohmann::json hardware_json(const npu::HardwareDesc& hw) {
  nlohmann::json j;
  j["name"] = hw.name;
  j["cores"] = hw.cores;
  j["clock_hz"] = hw.clock_hz;
  for (const auto& [t, _] : hw.matrix.macs_per_cycle)
    j["peak_macs_per_s"][std::string(dtype_name(t))] = hw.peak_macs_per_s(t);
  j["offchip_bytes_per_s"] = hw.offchip_bytes_per_s();
  j["on_chip_bytes"] = hw.on_chip_bytes();
  j["area_mm2"] = hw.area_mm2();
  j["sources"] = hw.sources;
  return j;
}

nlohmann::json system_json(const npu::SystemDesc& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["kind"] = "system";
  j["count"] = s.count;
  j["topology"] = std::string(npu::topology_name(s.topology));
  j["dims"] = s.dims;
  j["links"] = {{"per_chip", s.links.per_chip},
                {"bandwidth_bytes_per_s", s.links.bandwidth_bytes_per_s},
                {"latency_s", s.links.latency_s},
                {"pj_per_byte", s.links.pj_per_byte}};
  j["chip_bytes_per_s"] = s.chip_bytes_per_s();
  if (s.host) j["host"] = {{"bandwidth_bytes_per_s", s.host->bandwidth_bytes_per_s}, {"latency_s", s.host->latency_s}};
  j["chip"] = hardware_json(s.chip);
  j["sources"] = s.sources;
  return j;
}

}  // namespace wafer::api
