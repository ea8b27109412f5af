#include "npu/target.h"

#include "core/error.h"

namespace wafer::npu {

NpuTarget parse_npu_target(std::string_view spec, Precision option) {
  NpuTarget t{std::string(spec), option};
  if (auto colon = spec.rfind(':'); colon != std::string_view::npos) {
    std::string_view suffix = spec.substr(colon + 1);
    Precision p = Precision::automatic;
    try {
      p = parse_precision(suffix);
    } catch (const Error&) {
      return t;  // not a precision: part of the hardware name
    }
    t.hardware = std::string(spec.substr(0, colon));
    check(option == Precision::automatic || option == p, "npu:", spec, ": the target says ", precision_name(p),
          " but --precision says ", precision_name(option));
    t.precision = p;
  }
  check(!t.hardware.empty(), "npu:", spec, ": no hardware preset or description named");
  return t;
}

}  // namespace wafer::npu
