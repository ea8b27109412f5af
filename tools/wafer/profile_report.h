// The report of `wafer run --profile`: a table of the slowest steps with their kernels, shares
// and rates, and per op type (every step as JSON is api::profile_json).
#pragma once

#include <ostream>

#include "backends/profile.h"

namespace wafer::cli {

// The `top` slowest steps (0: all), the rest summed in one line, then one line per op type.
void print_profile(std::ostream& os, const Profile& profile, int top);

}  // namespace wafer::cli
