// Reports of a sweep: the terminal table, sweep.csv, sweep.json and sweep.html. A '*'
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

// The two metrics sweep.html plots against each other (`--pareto x=latency,y=energy`), out of
// latency, throughput, energy, area, cycles. Throughput is maximised, the others minimised.
struct SweepPlotAxes {
  std::string x = "latency", y = "energy";
};
SweepPlotAxes parse_sweep_plot_axes(const std::string& spec);  // throws naming --pareto

// A self-contained page (inline SVG and a small inline script, nothing fetched): the valid designs
// as one <circle class="design"> each over the two chosen metrics, every metric and axis value on
// hover, and the Pareto front in those two metrics drawn as a line through the designs on it
// (data-pareto="1", computed here). The script recomputes the front from the plotted numbers and
// writes what it found into #front-check (data-front, data-agrees), so a browser test can check it.
std::string sweep_html(const std::string& title, const std::vector<npu::SweepAxis>& axes,
                       const std::vector<npu::SweepPoint>& points, const SweepPlotAxes& plot = {});

}  // namespace wafer::report
