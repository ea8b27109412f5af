// The cost lines of `wafer sim` (text and JSON), for CNN and LLM runs alike (docs/COST.md).
#include <cstdio>
#include <sstream>

#include "npu/report/report.h"

namespace wafer::report {

nlohmann::json cost_json(const npu::DeploymentCost& d, const std::string& perf_unit) {
  const npu::ChipCost& c = d.chip;
  nlohmann::json j;
  j["process"] = c.process;
  j["die_area_mm2"] = c.die_area_mm2;
  j["die_area_source"] = c.die_area_measured ? "cost.die_area_mm2" : "area model";
  j["dies_per_package"] = c.dies;
  j["dies_per_wafer"] = c.dies_per_wafer;
  j["yield"] = c.yield;
  j["cost_per_good_die_usd"] = c.cost_per_good_die_usd;
  j["package_usd"] = c.package_usd;
  j["unit_cost_usd"] = c.unit_cost_usd;
  j["price_usd"] = c.price_usd;
  j["capex_basis"] = c.price_usd > 0 ? "price" : "manufacturing cost";
  j["chips"] = d.chips;
  j["network_usd"] = d.network_usd;
  j["system_cost_usd"] = d.system_cost_usd;
  j["power_w"] = d.power_w;
  j["tdp_power_w"] = d.tdp_power_w;
  j["perf_unit"] = perf_unit;
  j["perf_per_w"] = d.perf_per_w();
  j["perf_per_usd"] = d.perf_per_usd();
  j["assumed"] = c.assumed;
  return j;
}

std::string cost_text(const npu::DeploymentCost& d, const std::string& perf_unit) {
  const npu::ChipCost& c = d.chip;
  auto f = [](const char* fmt, double v) {
    char b[64];
    std::snprintf(b, sizeof b, fmt, v);
    return std::string(b);
  };
  std::ostringstream o;
  o << "  silicon     " << c.process << ": die " << f("%.0f", c.die_area_mm2) << " mm2 ("
    << (c.die_area_measured ? "cost.die_area_mm2" : "area model estimate") << ")";
  if (c.dies > 1) o << " x " << c.dies << " dies";
  o << ", " << f("%.0f", c.dies_per_wafer) << " per wafer, yield " << f("%.3g", c.yield * 100) << " %, $"
    << f("%.0f", c.cost_per_good_die_usd) << " per good die\n";
  o << "  chip cost   $" << f("%.0f", c.unit_cost_usd) << " to make (dies + $" << f("%.0f", c.package_usd)
    << " package)";
  if (c.price_usd > 0) o << "; price $" << f("%.0f", c.price_usd) << " (capex basis)";
  o << "\n  system      " << d.chips << (d.chips == 1 ? " chip" : " chips");
  if (d.network_usd > 0) o << " + $" << f("%.0f", d.network_usd) << " network";
  o << " = $" << f("%.0f", d.system_cost_usd) << "; power " << f("%.4g", d.power_w) << " W (energy model)";
  if (d.tdp_power_w > 0) o << ", TDP " << f("%.4g", d.tdp_power_w) << " W";
  o << "\n  efficiency  " << f("%.4g", d.perf_per_w()) << " " << perf_unit << "/W, " << f("%.4g", d.perf_per_usd())
    << " " << perf_unit << "/$ of capex\n";
  if (!c.assumed.empty()) {
    o << "  assumed     ";
    for (size_t i = 0; i < c.assumed.size(); ++i) o << (i ? ", " : "") << c.assumed[i];
    o << " (docs/COST.md)\n";
  }
  return o.str();
}

}  // namespace wafer::report
