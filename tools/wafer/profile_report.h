// The report of `wafer run --profile` / `--profile-json`: a table of the slowest
// steps with their kernels, shares and rates, and per op type, or every step as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "backends/profile.h"

namespace wafer::cli {

// The `top` slowest steps (0: all), the rest summed in one line, then one line per op type.
void print_profile(std::ostream& os, const Profile& profile, int top);

// {"runs", "steps": [{label, op, library, kernel, isa, mean_ms, share, flops, bytes, gflops, gbps}, ...]}
// in run order; numbers that are not known are null.
nlohmann::json profile_json(const Profile& profile);

}  // namespace wafer::cli
