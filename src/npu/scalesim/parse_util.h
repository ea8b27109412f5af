// Small text helpers shared by the SCALE-Sim config and topology parsers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wafer::scalesim {

std::string trim(std::string_view s);
std::string lower(std::string_view s);
std::vector<std::string> split_lines(const std::string& text);
std::string read_text_file(const std::string& path);

// Parses a whole decimal integer (no trailing junk); throws Error naming `where` and `field`.
int64_t parse_int(const std::string& value, const std::string& where, const std::string& field, int64_t min_value,
                  int64_t max_value);

}  // namespace wafer::scalesim
