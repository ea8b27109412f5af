// How every command names a simulated NPU: "npu:PRESET[:PRECISION]" (PRESET a
// preset name or a .yaml file). One parser for `--backend`, `--target` and `--hw`.
#pragma once

#include <string>
#include <string_view>

#include "core/precision.h"

namespace wafer::npu {

struct NpuTarget {
  std::string hardware;  // preset name or description file
  Precision precision = Precision::automatic;
};

// Parses SPEC, the part after "npu:" ("tpu-v4", "h100:bf16", "my/chip.yaml:int8"): a last ':'
// segment that names a precision is the precision. `option` is the precision given by
// --precision, if any; given both ways, they must agree (an Error names both otherwise).
NpuTarget parse_npu_target(std::string_view spec, Precision option = Precision::automatic);

}  // namespace wafer::npu
