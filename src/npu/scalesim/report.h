// Writers for SCALE-Sim v2's report files (scalesim/scale_sim.py / simulator.py layouts).
#pragma once

#include <string>
#include <vector>

#include "npu/scalesim/timing.h"

namespace wafer::scalesim {

// Formats a double the way Python's repr() does (shortest round-trip digits, "100.0", 1e-05).
std::string python_float(double v);

std::string compute_report(const std::vector<LayerResult>& layers);
std::string bandwidth_report(const std::vector<LayerResult>& layers);
std::string detailed_access_report(const std::vector<LayerResult>& layers);

// Writes the three reports into `dir` (created if missing).
void write_reports(const std::string& dir, const std::vector<LayerResult>& layers);

}  // namespace wafer::scalesim
