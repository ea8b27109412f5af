#include "npu/cost_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace wafer::npu {

namespace {
constexpr double kPi = 3.141592653589793;
}

double dies_per_wafer(double diameter_mm, double die_area_mm2) {
  check(diameter_mm > 0 && die_area_mm2 > 0, "dies_per_wafer: diameter and die area must be positive");
  const double r = diameter_mm / 2;
  const double n = kPi * r * r / die_area_mm2 - kPi * diameter_mm / std::sqrt(2 * die_area_mm2);
  return std::max(0.0, std::floor(n));
}

double negative_binomial_yield(double area_cm2, double d0_per_cm2, double alpha) {
  check(area_cm2 >= 0 && d0_per_cm2 >= 0 && alpha > 0, "negative_binomial_yield: bad arguments");
  return std::pow(1 + area_cm2 * d0_per_cm2 / alpha, -alpha);
}

double group_yield(int64_t cores, int64_t spares, double p_core) {
  check(cores >= 1 && spares >= 0 && p_core >= 0 && p_core <= 1, "group_yield: bad arguments");
  if (p_core == 0) return 1;
  if (p_core == 1) return 0;
  const int64_t n = cores + spares;
  // Sum of the binomial terms k = 0..spares, in logs: n is up to millions, p tiny.
  const double lp = std::log(p_core), lq = std::log1p(-p_core);
  double sum = 0;
  for (int64_t k = 0; k <= spares; ++k) {
    const double log_term = std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1) +
                            double(k) * lp + double(n - k) * lq;
    sum += std::exp(log_term);
  }
  return std::min(1.0, sum);
}

double redundant_yield(const Redundancy& red, int64_t cores, double die_mm2, double d0_per_cm2, double alpha) {
  check(red.cores_per_group >= 1 && cores >= 1, "redundant_yield: bad arguments");
  const int64_t groups = (cores + red.cores_per_group - 1) / red.cores_per_group;
  const int64_t physical = groups * (red.cores_per_group + red.spares_per_group);
  // The cores tile the die: each physical core takes an equal share of it. A core fails when it holds
  // a defect; per core the clustering hardly matters (the probability is tiny), so the cores are taken
  // as independent.
  const double core_cm2 = die_mm2 / double(physical) / 100;
  const double p_core = 1 - negative_binomial_yield(core_cm2, d0_per_cm2, alpha);
  const double per_group = group_yield(red.cores_per_group, red.spares_per_group, p_core);
  return std::exp(double(groups) * std::log(std::max(per_group, 1e-300)));
}

std::optional<ChipCost> chip_cost(const HardwareDesc& hw) {
  if (!hw.cost) return std::nullopt;
  const CostSpec& k = *hw.cost;
  ChipCost c;
  c.process = k.process;
  c.die_area_measured = k.die_area_mm2 > 0;
  // The area model's estimate covers the whole package's silicon: split over its dies.
  c.die_area_mm2 = c.die_area_measured ? k.die_area_mm2 : hw.area_mm2() / k.dies;
  c.dies = k.dies;
  c.dies_per_wafer = k.wafer_scale ? 1 : dies_per_wafer(k.wafer_diameter_mm, c.die_area_mm2);
  check(c.dies_per_wafer >= 1, hw.name, ": cost: no whole die of ", c.die_area_mm2, " mm2 fits on a ",
        k.wafer_diameter_mm, " mm wafer");
  if (k.redundancy)
    c.yield =
        redundant_yield(*k.redundancy, hw.cores / k.dies, c.die_area_mm2, k.defect_density_per_cm2, k.clustering_alpha);
  else
    c.yield = negative_binomial_yield(c.die_area_mm2 / 100, k.defect_density_per_cm2, k.clustering_alpha);
  c.cost_per_good_die_usd = c.yield > 0 ? k.wafer_usd / (c.dies_per_wafer * c.yield) : INFINITY;
  c.package_usd = k.package_usd;
  c.unit_cost_usd = c.dies * c.cost_per_good_die_usd + k.package_usd;
  c.price_usd = k.price_usd;
  c.capex_usd = k.price_usd > 0 ? k.price_usd : c.unit_cost_usd;
  c.tdp_w = k.tdp_w;
  for (const auto& a : k.assumed) c.assumed.push_back("cost." + a);
  return c;
}

DeploymentCost deployment_cost(const ChipCost& chip, int chips, double network_usd, double power_w, double perf_per_s) {
  DeploymentCost d;
  d.chip = chip;
  d.chips = chips;
  d.network_usd = network_usd;
  d.system_cost_usd = chips * chip.capex_usd + network_usd;
  d.power_w = power_w;
  d.tdp_power_w = chips * chip.tdp_w;
  d.perf_per_s = perf_per_s;
  return d;
}

double usd_per_million_tokens(double capex_usd, double power_w, double tokens_per_s, const CostAssumptions& a) {
  if (tokens_per_s <= 0) return 0;
  const double lifetime_s = a.lifetime_years * 365.25 * 24 * 3600;
  const double usd_per_s = capex_usd / lifetime_s + power_w / 1000 * a.usd_per_kwh / 3600;
  return usd_per_s / tokens_per_s * 1e6;
}

}  // namespace wafer::npu
