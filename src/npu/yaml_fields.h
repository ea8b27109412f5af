// Reading YAML descriptions field by field, shared by hardware descriptions (hardware.cpp) and
// systems of chips (system.cpp): values with units, required and optional fields with minimums,
// unknown keys reported as errors, and --set FIELD=VALUE overrides. An error names the field's path.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace wafer::npu::yaml_fields {

// ---- Values with units ------------------------------------------------------

struct Unit {
  const char* suffix;
  double scale;
};

// Parses "24 MiB", "34 GB/s", "700 MHz", "100 ns", or a plain number, with
// the given unit table; a plain number is in the base unit.
inline double parse_with_units(const std::string& text, std::initializer_list<Unit> units, const std::string& path,
                               const char* what) {
  std::istringstream in(text);
  double value = 0;
  in >> value;
  if (in.fail()) fail(path, ": expected ", what, ", got '", text, "'");
  std::string unit;
  std::getline(in, unit);
  unit.erase(0, unit.find_first_not_of(" \t"));
  unit.erase(unit.find_last_not_of(" \t") + 1);
  if (unit.empty()) return value;
  for (const Unit& u : units)
    if (unit == u.suffix) return value * u.scale;
  std::string known;
  for (const Unit& u : units) known += std::string(known.empty() ? "" : ", ") + u.suffix;
  fail(path, ": unknown unit '", unit, "' in '", text, "' (", what, "; units: ", known, ")");
}

inline const std::initializer_list<Unit> kBytes = {
    {"B", 1},    {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
    {"kB", 1e3}, {"KB", 1e3},     {"MB", 1e6},        {"GB", 1e9},           {"TB", 1e12}};
inline const std::initializer_list<Unit> kRates = {
    {"B/s", 1}, {"kB/s", 1e3}, {"MB/s", 1e6}, {"GB/s", 1e9}, {"TB/s", 1e12}, {"PB/s", 1e15}, {"GiB/s", 1073741824.0}};
inline const std::initializer_list<Unit> kFreqs = {{"Hz", 1}, {"kHz", 1e3}, {"MHz", 1e6}, {"GHz", 1e9}};
inline const std::initializer_list<Unit> kTimes = {{"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}, {"ps", 1e-12}};

// A YAML mapping read field by field; unknown keys are reported at the end so
// a typo ("martix") is an error rather than a silently ignored setting.
class Fields {
 public:
  Fields(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {
    if (!node_.IsMap()) fail(where(""), ": expected a mapping of fields");
  }

  bool has(const std::string& key) const { return node_[key].IsDefined() && !node_[key].IsNull(); }
  bool is_none(const std::string& key) const {
    auto n = node_[key];
    return n.IsDefined() && (n.IsNull() || (n.IsScalar() && n.Scalar() == "none"));
  }

  std::string scalar(const std::string& key) {
    seen_.insert(key);
    auto n = node_[key];
    if (!n.IsDefined() || n.IsNull()) fail(where(key), ": missing required field");
    if (!n.IsScalar()) fail(where(key), ": expected a single value");
    return n.Scalar();
  }
  std::string string(const std::string& key, std::optional<std::string> fallback = {}) {
    if (fallback && !has(key)) return seen_.insert(key), *fallback;
    return scalar(key);
  }
  double number(const std::string& key, double min, std::optional<double> fallback = {}) {
    if (fallback && !has(key)) return seen_.insert(key), *fallback;
    return check_min(key, parse_with_units(scalar(key), {}, where(key), "a number"), min);
  }
  int integer(const std::string& key, int min, std::optional<int> fallback = {}) {
    double v = number(key, min, fallback ? std::optional<double>(*fallback) : std::nullopt);
    if (v != std::floor(v) || v > 2e9) fail(where(key), ": expected an integer, got ", v);
    return int(v);
  }
  uint64_t bytes(const std::string& key, double min, std::optional<double> fallback = {}) {
    if (fallback && !has(key)) return seen_.insert(key), uint64_t(*fallback);
    double v = check_min(key, parse_with_units(scalar(key), kBytes, where(key), "a size"), min);
    if (v > 1e18) fail(where(key), ": size ", v, " bytes is absurd");
    return uint64_t(v);
  }
  bool flag(const std::string& key, bool fallback) {
    const std::string v = string(key, fallback ? "true" : "false");
    if (v != "true" && v != "false") fail(where(key), ": expected true or false, got '", v, "'");
    return v == "true";
  }
  double rate(const std::string& key, double min) {
    return check_min(key, parse_with_units(scalar(key), kRates, where(key), "a bandwidth"), min);
  }
  double frequency(const std::string& key) {
    return check_min(key, parse_with_units(scalar(key), kFreqs, where(key), "a frequency"), 1.0);
  }
  double time(const std::string& key, double min) {
    return check_min(key, parse_with_units(scalar(key), kTimes, where(key), "a time"), min);
  }
  Fields sub(const std::string& key) {
    seen_.insert(key);
    if (!node_[key].IsDefined()) fail(where(key), ": missing required section");
    return Fields(node_[key], where(key));
  }
  YAML::Node raw(const std::string& key) {
    seen_.insert(key);
    return node_[key];
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (const auto& kv : node_) k.push_back(kv.first.as<std::string>());
    return k;
  }
  void mark(const std::string& key) { seen_.insert(key); }
  std::string where(const std::string& key) const {
    if (key.empty()) return path_;
    return path_.empty() ? key : path_ + "." + key;
  }

  // Reports fields nobody read.
  void finish() const {
    for (const auto& kv : node_) {
      std::string k = kv.first.as<std::string>();
      if (!seen_.count(k)) fail(where(k), ": unknown field");
    }
  }

 private:
  double check_min(const std::string& key, double v, double min) {
    if (!(v >= min)) fail(where(key), ": must be at least ", min, ", got ", v);
    return v;
  }
  YAML::Node node_;
  std::string path_;
  std::set<std::string> seen_;
};

// Applies FIELD=VALUE overrides (dotted paths) to the document.
inline void apply_overrides(YAML::Node root, const std::vector<std::pair<std::string, std::string>>& overrides,
                            const std::string& name) {
  for (const auto& [path, value] : overrides) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    for (std::string p; std::getline(ss, p, '.');) {
      if (p.empty()) fail(name, ": override '", path, "' has an empty field name");
      parts.push_back(p);
    }
    if (parts.empty()) fail(name, ": empty override field");
    // yaml-cpp nodes are handles: walking by assignment would rebind, so
    // collect the chain and assign at the leaf through its parent.
    std::vector<YAML::Node> chain{root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node next = chain.back()[parts[i]];
      if (!next.IsDefined() || next.IsNull() || (next.IsScalar() && next.Scalar() == "none")) {
        fail(name, ": override '", path, "': section '", parts[i], "' does not exist");
      }
      if (!next.IsMap()) fail(name, ": override '", path, "': '", parts[i], "' is not a section");
      chain.push_back(next);
    }
    // A flow sequence or map ("[6, 11]") is YAML, so list fields such as cores.arrangement can be set too.
    if (!value.empty() && (value.front() == '[' || value.front() == '{')) {
      try {
        chain.back()[parts.back()] = YAML::Load(value);
      } catch (const YAML::Exception& e) {
        fail(name, ": override '", path, "': '", value, "' is not a YAML list or map: ", e.msg);
      }
    } else {
      chain.back()[parts.back()] = value;
    }
  }
}

// The top-level mapping of a description in `yaml_text` (`name` in errors), with the overrides applied.
inline YAML::Node load_document(const std::string& yaml_text, const std::string& name,
                                const std::vector<std::pair<std::string, std::string>>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(name, ": not valid YAML: ", e.what());
  }
  if (!root.IsMap()) fail(name, ": expected a mapping of fields at the top level");
  apply_overrides(root, overrides, name);
  return root;
}

}  // namespace wafer::npu::yaml_fields
