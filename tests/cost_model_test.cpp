// The cost model (npu/cost_model.h, docs/COST.md): yield and dies per wafer against hand-computed and
// published values, monotonicity, the `cost:` section's validation, and the report's keys on a preset.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "npu/cost_model.h"
#include "npu/report/report.h"
#include "npu/system.h"

namespace wafer::npu {
namespace {

using ::testing::HasSubstr;

TEST(CostModel, NegativeBinomialYieldByHand) {
  // A = 1 cm2, D0 = 0.1 /cm2, alpha = 3: (1 + 0.1/3)^-3 = (31/30)^-3 = 27000/29791.
  EXPECT_NEAR(negative_binomial_yield(1, 0.1, 3), 27000.0 / 29791.0, 1e-12);
  // H100's 8.14 cm2 at 0.1: (1 + 0.814/3)^-3.
  EXPECT_NEAR(negative_binomial_yield(8.14, 0.1, 3), std::pow(1 + 0.814 / 3, -3), 1e-12);
  // Large alpha tends to Poisson's exp(-A D0); alpha = 1 is Seeds' 1 / (1 + A D0).
  EXPECT_NEAR(negative_binomial_yield(2, 0.1, 1e6), std::exp(-0.2), 1e-6);
  EXPECT_NEAR(negative_binomial_yield(2, 0.1, 1), 1 / 1.2, 1e-12);
  EXPECT_DOUBLE_EQ(negative_binomial_yield(5, 0, 3), 1.0);
}

TEST(CostModel, DiesPerWaferFormulaAndPublishedExample) {
  // Hennessy & Patterson, Computer Architecture: A Quantitative Approach (5th ed., ch. 1): a 300 mm
  // wafer holds 270 dies of 1.5 x 1.5 cm (the formula's 269.8, rounded; whole dies: 269) and 640 of
  // 1.0 x 1.0 cm (640.2).
  EXPECT_EQ(dies_per_wafer(300, 225), 269);
  EXPECT_EQ(dies_per_wafer(300, 100), 640);
  // The formula itself: pi 150^2 / 814 - pi 300 / sqrt(1628) = 86.84 - 23.36 -> 63 whole H100 dies.
  EXPECT_EQ(dies_per_wafer(300, 814), std::floor(M_PI * 150 * 150 / 814 - M_PI * 300 / std::sqrt(2 * 814.0)));
  EXPECT_EQ(dies_per_wafer(300, 814), 63);
  EXPECT_EQ(dies_per_wafer(300, 60000), 0);  // nothing whole fits
}

TEST(CostModel, BiggerDieYieldsLessAndSparesHelp) {
  double last = 1.1;
  for (double a : {0.5, 1.0, 2.0, 4.0, 8.0, 16.0}) {
    const double y = negative_binomial_yield(a, 0.1, 3);
    EXPECT_LT(y, last) << a;
    last = y;
  }
  // A wafer of 900,000 cores: with no spares almost nothing works; more spares, higher yield.
  const double d0 = 0.1, alpha = 3, wafer_mm2 = 46225;
  EXPECT_LT(redundant_yield({1000, 0}, 900000, wafer_mm2, d0, alpha), 1e-10);
  double prev = -1;
  for (int spares : {0, 1, 2, 4, 8, 78}) {
    const double y = redundant_yield({1000, spares}, 900000, wafer_mm2, d0, alpha);
    EXPECT_GT(y, prev) << spares;
    prev = y;
  }
  EXPECT_GT(prev, 0.999999);
}

TEST(CostModel, GroupYieldIsTheBinomialCdf) {
  // n = 3 cores (2 + 1 spare), p = 0.1: P(X <= 1) = 0.9^3 + 3 x 0.1 x 0.9^2 = 0.972.
  EXPECT_NEAR(group_yield(2, 1, 0.1), 0.972, 1e-12);
  EXPECT_NEAR(group_yield(4, 0, 0.2), std::pow(0.8, 4), 1e-12);
  EXPECT_DOUBLE_EQ(group_yield(10, 3, 0), 1.0);
}

TEST(CostModel, PresetsCostFromTheirFigures) {
  const ChipCost h = *chip_cost(load_hardware("h100"));
  EXPECT_TRUE(h.die_area_measured);
  EXPECT_DOUBLE_EQ(h.die_area_mm2, 814);
  const double y = std::pow(1 + 8.14 * 0.1 / 3, -3);
  EXPECT_NEAR(h.yield, y, 1e-12);
  EXPECT_NEAR(h.cost_per_good_die_usd, 16988 / (63 * y), 1e-6);
  EXPECT_NEAR(h.unit_cost_usd, 16988 / (63 * y) + 3020, 1e-6);
  EXPECT_DOUBLE_EQ(h.capex_usd, 25000);
  // Two dies per B200 package; the wafer-scale chip is one die per wafer, rescued by its spares.
  const ChipCost b = *chip_cost(load_hardware("b200"));
  EXPECT_EQ(b.dies, 2);
  EXPECT_NEAR(b.unit_cost_usd, 2 * b.cost_per_good_die_usd + 5000, 1e-6);
  const ChipCost w = *chip_cost(load_hardware("wse-3"));
  EXPECT_EQ(w.dies_per_wafer, 1);
  EXPECT_GT(w.yield, 0.99);
  EXPECT_NEAR(w.cost_per_good_die_usd, 16988 / w.yield, 1e-6);
  // An estimated die area says so.
  const ChipCost t = *chip_cost(load_hardware("tpu-v4"));
  EXPECT_FALSE(t.die_area_measured);
  EXPECT_DOUBLE_EQ(t.die_area_mm2, load_hardware("tpu-v4").area_mm2());
  EXPECT_THAT(t.assumed, ::testing::Contains("cost.package_usd"));
}

std::string error_of(const std::vector<std::pair<std::string, std::string>>& overrides) {
  try {
    load_hardware("h100", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(CostModel, BadCostFieldsAreNamed) {
  EXPECT_THAT(error_of({{"cost.wafer_usd", "-5"}}), HasSubstr("cost.wafer_usd: must be at least"));
  EXPECT_THAT(error_of({{"cost.defect_density_per_cm2", "lots"}}), HasSubstr("cost.defect_density_per_cm2: expected"));
  EXPECT_THAT(error_of({{"cost.wafer_scale", "maybe"}}), HasSubstr("cost.wafer_scale: expected true or false"));
  EXPECT_THAT(error_of({{"cost.die_area_mm2", "90000"}}), HasSubstr("cost.die_area_mm2: 90000 mm2 does not fit"));
  EXPECT_THAT(error_of({{"cost.wafer_prize", "3"}}), HasSubstr("cost.wafer_prize: unknown field"));
  EXPECT_THAT(error_of({{"cost.assumed", "[tdp]"}}), HasSubstr("cost.assumed: 'tdp' is not a field"));
  EXPECT_THAT(error_of({{"cost.redundancy", "{cores_per_group: 1000, spares_per_group: 1}"}}),
              HasSubstr("cost.redundancy.cores_per_group: 1000 is more than cores.count 132"));
}

TEST(CostModel, SimJsonCarriesTheFormulaValues) {
  SimResult r;
  r.latency_s = 1e-3;
  r.energy_j = 0.5;  // 500 W
  r.throughput_samples_per_s = 1000;
  r.cost = chip_cost(load_hardware("h100"));
  const nlohmann::json j = report::sim_json(r);
  const double y = std::pow(1 + 8.14 * 0.1 / 3, -3);
  EXPECT_DOUBLE_EQ(j["power_w"].get<double>(), 500);
  const nlohmann::json& c = j.at("cost");
  EXPECT_DOUBLE_EQ(c.at("die_area_mm2").get<double>(), 814);
  EXPECT_EQ(c.at("dies_per_wafer").get<double>(), 63);
  EXPECT_NEAR(c.at("yield").get<double>(), y, 1e-12);
  EXPECT_NEAR(c.at("cost_per_good_die_usd").get<double>(), 16988 / (63 * y), 1e-6);
  EXPECT_DOUBLE_EQ(c.at("system_cost_usd").get<double>(), 25000);
  EXPECT_DOUBLE_EQ(c.at("power_w").get<double>(), 500);
  EXPECT_DOUBLE_EQ(c.at("tdp_power_w").get<double>(), 700);
  EXPECT_DOUBLE_EQ(c.at("perf_per_w").get<double>(), 2);
  EXPECT_DOUBLE_EQ(c.at("perf_per_usd").get<double>(), 1000.0 / 25000);
  EXPECT_EQ(c.at("capex_basis"), "price");
}

TEST(CostModel, UsdPerMillionTokens) {
  // $1M over 4 years at full use + 10 kW at $0.10/kWh, 1,000 tokens/s.
  const double lifetime_s = 4 * 365.25 * 24 * 3600;
  const double usd_per_s = 1e6 / lifetime_s + 10.0 * 0.10 / 3600;
  EXPECT_NEAR(usd_per_million_tokens(1e6, 10000, 1000), usd_per_s / 1000 * 1e6, 1e-9);
  EXPECT_EQ(usd_per_million_tokens(1e6, 10000, 0), 0);
}

TEST(CostModel, SystemNetworkCost) {
  SystemDesc s = load_system("dgx-h100");
  EXPECT_DOUBLE_EQ(s.network_usd, 20000);
  EXPECT_TRUE(s.network_assumed);
  const DeploymentCost d = deployment_cost(*chip_cost(s.chip), s.count, s.network_usd, 5000, 100);
  EXPECT_DOUBLE_EQ(d.system_cost_usd, 8 * 25000 + 20000);
  EXPECT_DOUBLE_EQ(d.tdp_power_w, 8 * 700);
}

}  // namespace
}  // namespace wafer::npu
