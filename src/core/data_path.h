// Where Wafer finds the data it ships (hardware presets in hw/, LLM architecture configs in models/llm/):
// the folders of an environment variable (`:`-separated), then PREFIX/share/wafer/SUBDIR beside an installed
// binary (cmake --install), then SUBDIR of the source tree the binary was built from.
#pragma once

#include <string>
#include <vector>

namespace wafer {

// The folders to search, in order, for data of one kind (`subdir`: "hw", "models/llm").
std::vector<std::string> data_search_path(const char* env_var, const std::string& subdir);

}  // namespace wafer
