// MLPerf's log files: mlperf_log_summary.txt (the human-readable verdict),
// mlperf_log_detail.txt (one ":::MLLOG {json}" line per event) and, in
// accuracy mode, mlperf_log_accuracy.json (every response, hex-encoded).
#pragma once

#include <string>

#include "harness/results.h"

namespace wafer::harness {

class Recorder;

std::string format_summary(const TestResult& r);
std::string format_accuracy_json(const TestResult& r);
// Writes all three (the accuracy log only in accuracy mode) into `dir`, creating it.
void write_logs(const std::string& dir, const TestResult& r, const Recorder& rec);

}  // namespace wafer::harness
