// What a chip and a system of chips cost to make, and what they draw (docs/COST.md): dies per wafer
// with edge loss, negative-binomial yield, wafer-scale yield with spare cores, cost per good die, a
// chip's unit cost and a system's; power from the energy model's joules over the simulated time, with
// the published TDP beside it; and the per-token economics of an LLM deployment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "npu/hardware.h"

namespace wafer::npu {

// Whole dies of `die_area_mm2` on a wafer of `diameter_mm`: pi (d/2)^2 / A - pi d / sqrt(2 A), the
// wafer's area over the die's less the partial dies along the edge (Hennessy & Patterson, ch. 1),
// floored at 0.
double dies_per_wafer(double diameter_mm, double die_area_mm2);

// Negative-binomial (clustered-defect) yield of a die of `area_cm2`: (1 + A D0 / alpha)^-alpha.
double negative_binomial_yield(double area_cm2, double d0_per_cm2, double alpha);

// Probability that a group of `cores + spares` cores, each defective with probability `p_core`
// independently, has at most `spares` defective cores (the binomial CDF).
double group_yield(int64_t cores, int64_t spares, double p_core);

// The die yield of a chip whose `cores` are grouped `redundancy.cores_per_group` at a time, each
// group with its spares: the physical cores (active and spare) tile the die's `die_mm2`, a core fails
// with the negative-binomial probability of its own area, and the die works when every group does.
double redundant_yield(const Redundancy& redundancy, int64_t cores, double die_mm2, double d0_per_cm2, double alpha);

struct ChipCost {
  std::string process;
  double die_area_mm2 = 0;
  bool die_area_measured = false;  // from cost.die_area_mm2, else the area model's estimate
  int dies = 1;                    // per package
  double dies_per_wafer = 0;       // whole dies (1 for a wafer-scale chip)
  double yield = 0;                // of one die
  double cost_per_good_die_usd = 0;
  double package_usd = 0;
  double unit_cost_usd = 0;  // manufacturing: dies x cost per good die + package
  double price_usd = 0;      // published selling price, 0 when none
  double capex_usd = 0;      // what one chip costs its owner: the price where published, else the unit cost
  double tdp_w = 0;
  std::vector<std::string> assumed;  // "cost.FIELD" of each figure that is an assumption
};
// None when the description has no `cost:` section.
std::optional<ChipCost> chip_cost(const HardwareDesc& hw);

// A deployment of `chips` such chips (one, or a system's) doing `perf_per_s` units of work a second.
struct DeploymentCost {
  ChipCost chip;
  int chips = 1;
  double network_usd = 0;      // switches and links, where the system description gives a figure
  double system_cost_usd = 0;  // chips x capex + network
  double power_w = 0;          // the energy model's joules over the simulated time (links included)
  double tdp_power_w = 0;      // chips x published TDP, for comparison; 0 when unpublished
  double perf_per_s = 0;       // samples/s (CNN) or tokens/s (LLM)
  double perf_per_w() const { return power_w > 0 ? perf_per_s / power_w : 0; }
  double perf_per_usd() const { return system_cost_usd > 0 ? perf_per_s / system_cost_usd : 0; }
};
DeploymentCost deployment_cost(const ChipCost& chip, int chips, double network_usd, double power_w, double perf_per_s);

// The assumptions every per-token cost rests on, in one place: capex is spread evenly over the
// lifetime at full use, and energy is bought at one price.
struct CostAssumptions {
  double lifetime_years = 4;  // [assumed] a common depreciation period for accelerators
  double usd_per_kwh = 0.10;  // [assumed] industrial electricity, before cooling overhead (PUE 1)
};
inline constexpr CostAssumptions kCostAssumptions{};

// USD per million tokens of a deployment producing `tokens_per_s` that cost `capex_usd` and draws
// `power_w`: (capex / lifetime + power x price of energy) / tokens.
double usd_per_million_tokens(double capex_usd, double power_w, double tokens_per_s,
                              const CostAssumptions& a = kCostAssumptions);

}  // namespace wafer::npu
