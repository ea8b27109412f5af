// CLI options shared by the commands that load and run a model; what they mean is in src/api/.
#pragma once

#include <CLI/CLI.hpp>

#include "core/precision.h"

namespace wafer::cli {

// --precision for every command, parsed by parse_precision (core/precision.h); unset is auto.
void add_precision_option(CLI::App* sub, Precision& precision);

// On the cpu backend, a note on stderr when the machine is busier than it has cores and OMP_WAIT_POLICY is
// unset: libgomp's threads spin at barriers before they sleep, twice as fast on an idle machine and several
// times slower when other processes want the cores (docs/PERFORMANCE.md, "Decode"). libgomp reads the policy
// when it loads, before main, so the process cannot choose for itself; the user can.
void note_if_busy(const std::string& backend);

}  // namespace wafer::cli
