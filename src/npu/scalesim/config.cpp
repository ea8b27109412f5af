#include "npu/scalesim/config.h"

#include <map>

#include "core/error.h"
#include "npu/scalesim/parse_util.h"

namespace wafer::scalesim {

const char* dataflow_name(Dataflow df) {
  switch (df) {
    case Dataflow::kOS:
      return "os";
    case Dataflow::kWS:
      return "ws";
    case Dataflow::kIS:
      return "is";
  }
  return "?";
}

namespace {

// Limits keep every product in the timing model inside int64 and the per-row walk bounded.
constexpr int64_t kMaxArrayDim = 1 << 16;
constexpr int64_t kMaxSramKb = int64_t{1} << 30;
constexpr int64_t kMaxBandwidth = int64_t{1} << 30;

}  // namespace

Config parse_config_text(const std::string& text, const std::string& name) {
  Config cfg;
  std::string section;
  bool saw_height = false, saw_width = false;
  auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string where = name + ":" + std::to_string(i + 1);
    std::string line = trim(lines[i]);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      check(line.back() == ']', where, ": malformed section header '", line, "'");
      section = lower(trim(std::string_view(line).substr(1, line.size() - 2)));
      continue;
    }
    // Python's configparser accepts both ':' and '=' and splits at the first of either.
    size_t sep = line.find_first_of(":=");
    check(sep != std::string::npos, where, ": expected 'key : value', got '", line, "'");
    std::string key = lower(trim(std::string_view(line).substr(0, sep)));
    std::string value = trim(std::string_view(line).substr(sep + 1));
    auto num = [&](int64_t lo, int64_t hi) { return parse_int(value, where, key, lo, hi); };
    if (section == "general") {
      if (key == "run_name") cfg.run_name = value;
    } else if (section == "architecture_presets") {
      if (key == "arrayheight") {
        cfg.array_height = num(1, kMaxArrayDim);
        saw_height = true;
      } else if (key == "arraywidth") {
        cfg.array_width = num(1, kMaxArrayDim);
        saw_width = true;
      } else if (key == "ifmapsramszkb") {
        cfg.ifmap_sram_kb = num(1, kMaxSramKb);
      } else if (key == "filtersramszkb") {
        cfg.filter_sram_kb = num(1, kMaxSramKb);
      } else if (key == "ofmapsramszkb") {
        cfg.ofmap_sram_kb = num(1, kMaxSramKb);
      } else if (key == "ifmapoffset") {
        cfg.ifmap_offset = num(0, int64_t{1} << 62);
      } else if (key == "filteroffset") {
        cfg.filter_offset = num(0, int64_t{1} << 62);
      } else if (key == "ofmapoffset") {
        cfg.ofmap_offset = num(0, int64_t{1} << 62);
      } else if (key == "bandwidth") {
        // SCALE-Sim accepts a comma list (one per operand) and uses the first entry.
        std::string first = value.substr(0, value.find(','));
        cfg.bandwidth = parse_int(first, where, key, 1, kMaxBandwidth);
      } else if (key == "dataflow") {
        std::string df = lower(value);
        if (df == "os")
          cfg.dataflow = Dataflow::kOS;
        else if (df == "ws")
          cfg.dataflow = Dataflow::kWS;
        else if (df == "is")
          cfg.dataflow = Dataflow::kIS;
        else
          fail(where, ": field 'dataflow': expected os, ws or is, got '", value, "'");
      } else if (key == "memorybanks") {
        cfg.memory_banks = num(1, 1 << 20);
      }
    } else if (section == "run_presets") {
      if (key == "interfacebandwidth") {
        std::string mode = lower(value);
        if (mode == "user")
          cfg.user_bandwidth = true;
        else if (mode == "calc")
          cfg.user_bandwidth = false;
        else
          fail(where, ": field 'interfacebandwidth': expected CALC or USER, got '", value, "'");
      }
    }
  }
  check(saw_height && saw_width, name, ": missing ArrayHeight or ArrayWidth in [architecture_presets]");
  return cfg;
}

Config parse_config_file(const std::string& path) {
  return parse_config_text(read_text_file(path), path);
}

}  // namespace wafer::scalesim
