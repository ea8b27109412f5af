#include "npu/evaluate.h"

#include "npu/energy.h"
#include "npu/simulator.h"

namespace wafer::npu {

SimResult evaluate_design(const Graph& prepared, const HardwareDesc& hw, const NpuCompileOptions& options,
                          bool record_trace) {
  Program program = lower_for_npu(prepared, hw, options);
  SimOptions sim_options;
  sim_options.record_trace = record_trace;
  SimResult r = simulate(program, hw, sim_options);
  // The reports need these whatever the simulator filled in.
  if (r.model.empty()) r.model = program.model.empty() ? prepared.name : program.model;
  if (r.hw_name.empty()) r.hw_name = hw.name;
  if (r.clock_hz == 0) r.clock_hz = hw.clock_hz;
  if (r.peak_macs_per_s == 0) r.peak_macs_per_s = hw.peak_macs_per_s(program.precision);
  if (r.offchip_bytes_per_s == 0) r.offchip_bytes_per_s = hw.offchip_bytes_per_s();
  account_energy(r, hw);
  return r;
}

}  // namespace wafer::npu
