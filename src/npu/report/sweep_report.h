// Reports of a sweep: the terminal table, sweep.csv and sweep.json. A '*'
// (pareto: true) marks designs not dominated in (latency, energy, area).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "npu/sweep.h"

namespace wafer::report {

std::string sweep_table(const std::vector<npu::SweepAxis>& axes, const std::vector<npu::SweepPoint>& points);
std::string sweep_csv(const std::vector<npu::SweepAxis>& axes, const std::vector<npu::SweepPoint>& points);
nlohmann::json sweep_json(const std::vector<npu::SweepAxis>& axes, const std::vector<npu::SweepPoint>& points);

}  // namespace wafer::report
