// The load generator: runs one test of a SUT over a QSL with MLPerf's
// scenario semantics and returns the result (and writes MLPerf's log files).
//
// Clocks: a plain SystemUnderTest runs on the real steady clock; a
// VirtualTimeSut runs in virtual time, the harness driving its discrete-event
// model from one issue time to the next, so a run takes as long as its
// computation, not as long as the time it simulates.
#pragma once

#include <string>

#include "harness/results.h"
#include "harness/settings.h"
#include "harness/sut.h"

namespace wafer::harness {

struct LogOptions {
  std::string out_dir;  // empty: write no files
};

TestResult run_test(SystemUnderTest& sut, QuerySampleLibrary& qsl, const TestSettings& settings,
                    const LogOptions& logs = {});

}  // namespace wafer::harness
