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

// Parses "FIELD=v1,v2,..." specs (a comma inside [...] or {...} is part of a value: dims=[4,4],[2,8]); throws on a
// missing '=', an empty field or value, or a field given twice.
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
  // docs/COST.md: mean power from the energy model; the chip's capex (0 when its description has no cost section)
  double power_w = 0, cost_usd = 0;
  double perf_per_w() const { return power_w > 0 ? throughput_samples_per_s / power_w : 0; }
  double perf_per_usd() const { return cost_usd > 0 ? throughput_samples_per_s / cost_usd : 0; }
  bool pareto = false;  // not dominated in (latency, energy, area) among the ok points
};

// A simulated design's figures into its point (ok): latency, throughput, energy, area, power, and the capex of
// its chips with their network (one chip and none for a chip's design).
void set_point_results(SweepPoint& p, const SimResult& r);

// Evaluates one design: compile + simulate + account_energy in the CLI, a fake
// in tests. With jobs > 1 it is called from several threads at once.
using DesignEvaluator = std::function<SimResult(const HardwareDesc&)>;
// Called as each point starts: (how many have started, total); never from two threads at once.
using SweepProgress = std::function<void(size_t, size_t)>;

// jobs: threads evaluating points at once (parallel_for: 0 = all cores). The points come back in
// grid order whatever the number of threads, so every report is the same as the serial run's.
std::vector<SweepPoint> run_sweep(const std::string& base_hw, const std::vector<SweepAxis>& axes,
                                  const DesignEvaluator& evaluate, const SweepProgress& progress = {}, int jobs = 1);
// The same over a base that is not a preset or file (the Python module's dict): `load` gives the
// base description with a point's overrides applied (parse_hardware), throwing when invalid.
using HardwareLoader = std::function<HardwareDesc(const Overrides&)>;
std::vector<SweepPoint> run_sweep(const HardwareLoader& load, const std::vector<SweepAxis>& axes,
                                  const DesignEvaluator& evaluate, const SweepProgress& progress = {}, int jobs = 1);

// One design point: loaded (validated) with its overrides and evaluated; an Error from either is
// the point's error (pareto is left false: it is a property of the whole sweep).
SweepPoint evaluate_sweep_point(const HardwareLoader& load, const Overrides& values, const DesignEvaluator& evaluate);

// `--shard i/N`: shard i of N (0 <= i < N) takes the grid points whose 0-based index is i modulo N,
// so neighbouring points, which cost about the same, are spread over all shards.
struct SweepShard {
  size_t index = 0, count = 1;
  bool contains(size_t point) const { return point % count == index; }
};
// Parses "i/N" (as Slurm's $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT give them); throws naming --shard.
SweepShard parse_sweep_shard(const std::string& spec);

// Marks SweepPoint::pareto over the ok points.
void mark_pareto(std::vector<SweepPoint>& points);

}  // namespace wafer::npu
