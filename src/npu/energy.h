// Energy and area from the hardware description: fills SimResult::energy_j,
// energy_breakdown_j, per-layer energy_j and area_mm2 from the counts the
// simulator recorded (MACs, vector ops, bytes per level, NoC byte-hops) and
// static power over the latency.
#pragma once

#include "npu/hardware.h"
#include "npu/sim_result.h"

namespace wafer::npu {

void account_energy(SimResult& result, const HardwareDesc& hw);

}  // namespace wafer::npu
