#include "api/sweep.h"

#include "npu/evaluate.h"

namespace wafer::api {

SweepRun sweep(const SweepOptions& o, const npu::SweepProgress& progress) {
  SweepRun run;
  run.axes = npu::parse_sweep_axes(o.sets);
  npu::NpuCompileOptions options;
  const npu::PreparedBatches model = load_npu_model(o.m, options);
  auto evaluate = [&](const npu::HardwareDesc& hw) { return npu::evaluate_design(model, hw, options, false); };
  if (o.hw.yaml_text.empty()) {
    run.points = npu::run_sweep(o.hw.preset_or_path, run.axes, evaluate, progress);
  } else {
    auto load = [&o](const npu::Overrides& overrides) { return o.hw.load(overrides); };
    run.points = npu::run_sweep(npu::HardwareLoader(load), run.axes, evaluate, progress);
  }
  return run;
}

}  // namespace wafer::api
