// A hardware description's derived figures: what `wafer hw --json` and wafer.hardware report.
#pragma once

#include <nlohmann/json.hpp>

#include "npu/hardware.h"

namespace wafer::api {

nlohmann::json hardware_json(const npu::HardwareDesc& hw);

}  // namespace wafer::api
