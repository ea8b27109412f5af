// How an error reads: the CLI prints it after "wafer: error: ", the Python module raises it as
// wafer.WaferError; both take it through one_line so the two say the same thing.
#pragma once

#include <string>

namespace wafer::api {

// Errors print as one line (scripts grep for "wafer: error:"); multi-line
// messages such as the unsupported-op list are joined with "; ".
std::string one_line(std::string s);

}  // namespace wafer::api
