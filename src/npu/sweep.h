// Design-space sweeps: `--set FIELD=v1,v2,...` axes over a base hardware
// description, expanded to their cartesian product; every design point is
// loaded (validated) with load_hardware's overrides and evaluated; a point
// that fails (invalid value, a model that does not fit) is reported with its
// error and does not stop the sweep. The Pareto front is over (latency,
// energy, area), all minimised.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "npu/hardware.h"
#include "npu/sim_result.h"

namespace wafer::npu {

struct SweepAxis {
  std::string field;                // dotted hardware field, e.g. cores.matrix.rows
  std::vector<std::string> values;  // in the order given
};

using Overrides = std::vector<std::pair<std::string, std::string>>;

// Parses "FIELD=v1,v2,..." specs; throws on a missing '=', an empty field or
// value, or a field given twice.
std::vector<SweepAxis> parse_sweep_axes(const std::vector<std::string>& specs);

// The cartesian product in odometer order: the first axis varies slowest, the
// last fastest (like nested loops in --set order). No axes: one empty point.
// Throws above max_points.
std::vector<Overrides> expand_grid(const std::vector<SweepAxis>& axes, size_t max_points = 100000);

struct SweepPoint {
  Overrides values;
  bool ok = false;
  std::string error;  // why the point is invalid or failed, when !ok
  std::string hw_name;
  uint64_t cycles = 0;
  double latency_s = 0, throughput_samples_per_s = 0, energy_j = 0, area_mm2 = 0;
  bool pareto = false;  // not dominated in (latency, energy, area) among the ok points
};

// Evaluates one design: compile + simulate + account_energy in the CLI, a fake
// in tests.
using DesignEvaluator = std::function<SimResult(const HardwareDesc&)>;
// Called before each point: (index from 1, total).
using SweepProgress = std::function<void(size_t, size_t)>;

std::vector<SweepPoint> run_sweep(const std::string& base_hw, const std::vector<SweepAxis>& axes,
                                  const DesignEvaluator& evaluate, const SweepProgress& progress = {});
// The same over a base that is not a preset or file (the Python module's dict): `load` gives the
// base description with a point's overrides applied (parse_hardware), throwing when invalid.
using HardwareLoader = std::function<HardwareDesc(const Overrides&)>;
std::vector<SweepPoint> run_sweep(const HardwareLoader& load, const std::vector<SweepAxis>& axes,
                                  const DesignEvaluator& evaluate, const SweepProgress& progress = {});

// Marks SweepPoint::pareto over the ok points.
void mark_pareto(std::vector<SweepPoint>& points);

}  // namespace wafer::npu
