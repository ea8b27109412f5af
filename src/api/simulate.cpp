#include "api/simulate.h"

#include <chrono>

#include "core/error.h"
#include "npu/evaluate.h"
#include "npu/system.h"

namespace wafer::api {

npu::HardwareDesc HardwareSource::load(const std::vector<std::pair<std::string, std::string>>& overrides) const {
  if (!yaml_text.empty()) return npu::parse_hardware(yaml_text, name_for_errors, overrides);
  // A system's chips are simulated one at a time only where the model is split over them (LLM mode, --tp).
  check(!npu::is_system(preset_or_path), "--hw ", preset_or_path,
        " is a system of chips (docs/SYSTEMS.md): only wafer hw and the LLM mode of wafer sim (--tp) take one; "
        "give one of its chips here");
  return npu::load_hardware(preset_or_path, overrides);
}

std::string HardwareSource::display() const {
  return yaml_text.empty() ? preset_or_path : name_for_errors;
}

SimRun simulate(const SimOptions& o, bool record_trace) {
  // The hardware first: a bad description is reported before the model is read.
  npu::HardwareDesc hw = o.hw.load(parse_set_options(o.sets));
  npu::NpuCompileOptions options;
  auto t0 = std::chrono::steady_clock::now();
  const npu::PreparedBatches model = load_npu_model(o.m, options);
  auto t1 = std::chrono::steady_clock::now();
  SimRun run;
  run.result = npu::evaluate_design(model, hw, options, record_trace);
  auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  run.load_ms = ms(t0, t1);
  run.evaluate_ms = ms(t1, t2);
  run.result.model = model_display_name(o.m.model);
  return run;
}

}  // namespace wafer::api
