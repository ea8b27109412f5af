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

}  // namespace wafer::api
