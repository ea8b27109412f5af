#include "api/simulate.h"

#include <chrono>
#include <optional>

#include "core/error.h"
#include "npu/evaluate.h"
#include "npu/system.h"

namespace wafer::api {

npu::HardwareDesc HardwareSource::load(const std::vector<std::pair<std::string, std::string>>& overrides) const {
  if (!yaml_text.empty()) return npu::parse_hardware(yaml_text, name_for_errors, overrides);
  // wafer sim and wafer bench take a system themselves (simulate below, the bench's npu device); what asks
  // for one chip (sweeps over a chip's fields, wafer.hardware) is told so.
  check(!npu::is_system(preset_or_path), "--hw ", preset_or_path,
        " is a system of chips (docs/SYSTEMS.md): give one of its chips here");
  return npu::load_hardware(preset_or_path, overrides);
}

std::string HardwareSource::display() const {
  return yaml_text.empty() ? preset_or_path : name_for_errors;
}

namespace {

// One chip's result as `chips` chips running side by side.
void scale_to_chips(npu::SimResult& r, const npu::SystemDesc& s, int chips) {
  r.chips = chips;
  r.network_usd = s.network_usd;
  r.hw_name = s.name + " (" + std::to_string(chips) + " of " + std::to_string(s.count) + " x " + r.hw_name + ")";
  r.batch *= chips;
  r.scale_work(chips);
  r.throughput_samples_per_s *= chips;
  r.peak_macs_per_s *= chips;
  r.offchip_bytes_per_s *= chips;
  r.area_mm2 *= chips;
}

}  // namespace

DataParallelShare data_parallel_share(const HardwareSource& hw, const std::vector<std::string>& sets,
                                      const NpuModelArgs& m) {
  DataParallelShare s;
  s.m = m;
  if (!hw.yaml_text.empty() || !npu::is_system(hw.preset_or_path)) {
    s.chip = hw.load(parse_set_options(sets));
    return s;
  }
  s.system = npu::load_system(hw.preset_or_path, parse_set_options(sets));
  s.chip = s.system->chip;
  check(m.batch >= 1, "--batch must be at least 1, got ", m.batch);
  s.m.batch = (m.batch + s.system->count - 1) / s.system->count;  // each chip's share
  s.chips = (m.batch + s.m.batch - 1) / s.m.batch;
  return s;
}

SimRun simulate(const SimOptions& o, bool record_trace) {
  // The hardware first: a bad description is reported before the model is read.
  const DataParallelShare share = data_parallel_share(o.hw, o.sets, o.m);
  const std::optional<npu::SystemDesc>& system = share.system;
  const npu::HardwareDesc& hw = share.chip;
  const NpuModelArgs& m = share.m;
  const int chips = share.chips;
  npu::NpuCompileOptions options;
  auto t0 = std::chrono::steady_clock::now();
  const npu::PreparedBatches model = load_npu_model(m, options);
  auto t1 = std::chrono::steady_clock::now();
  SimRun run;
  run.result = npu::evaluate_design(model, hw, options, record_trace);
  if (system) scale_to_chips(run.result, *system, chips);
  auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  run.load_ms = ms(t0, t1);
  run.evaluate_ms = ms(t1, t2);
  run.result.model = model_display_name(o.m.model);
  return run;
}

}  // namespace wafer::api
