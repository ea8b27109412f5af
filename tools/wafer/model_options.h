// CLI options shared by the commands that load and run a model; what they mean is in src/api/.
#pragma once

#include <CLI/CLI.hpp>

#include "core/precision.h"

namespace wafer::cli {

// --precision for every command, parsed by parse_precision (core/precision.h); unset is auto.
void add_precision_option(CLI::App* sub, Precision& precision);

}  // namespace wafer::cli
