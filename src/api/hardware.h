// A hardware description's derived figures: what `wafer hw --json` and wafer.hardware report.
#pragma once

#include <nlohmann/json.hpp>

#include "npu/hardware.h"
#include "npu/system.h"

namespace wafer::api {

nlohmann::json hardware_json(const npu::HardwareDesc& hw);
// A system: its topology and links, the totals, and its chip as hardware_json.
nlohmann::json system_json(const npu::SystemDesc& s);

}  // namespace wafer::api
