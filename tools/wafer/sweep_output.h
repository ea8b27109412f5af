// What `wafer sweep` and `wafer sweep-merge` print and write for a whole sweep, so that a merged or
// resumed sweep reads exactly as the serial one: the table (or --json) on stdout, and sweep.csv,
// sweep.json and sweep.html in --out.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "api/sweep.h"
#include "npu/report/sweep_report.h"

namespace wafer::cli {

struct SweepOutputOptions {
  std::string out = ".";
  bool json = false;
  std::string pareto = "x=latency,y=energy";
};

void add_sweep_output_options(CLI::App* sub, SweepOutputOptions& o);

// title: "sweep of MODEL over HW (batch B)".
void print_sweep(const SweepOutputOptions& o, const std::string& title, const api::SweepRun& run);

std::string sweep_title(const std::string& model, const std::string& hw, int batch);

}  // namespace wafer::cli
