// Settings files in MLPerf's mlperf.conf / user.conf syntax:
//
//   # comment
//   resnet50.Server.target_qps = 1000
//   *.Server.target_latency = 15          # ms
//   *.*.min_duration = 60000              # ms
//
// For a given model and scenario a key's value is looked up as
// model.scenario, then *.scenario, then model.*, then *.* (the first found
// wins); load user.conf after mlperf.conf so that it takes precedence.
#pragma once

#include <map>
#include <string>

#include "harness/settings.h"

namespace wafer::harness {

// key -> (pattern "model.scenario" -> value). Keep one per file, or apply files in order.
class ConfigFile {
 public:
  static ConfigFile parse(const std::string& text, const std::string& name_for_errors = "<conf>");
  static ConfigFile load(const std::string& path);

  // The value for `key` under the lookup order, or nullptr.
  const std::string* lookup(const std::string& model, const std::string& scenario, const std::string& key) const;

  // Applies every known key found for (model, settings.scenario) to `settings`.
  // Units as in MLPerf: durations and latencies in ms (target_latency_ns in ns),
  // percentiles in percent. Unknown keys are ignored like LoadGen does.
  void apply(const std::string& model, TestSettings& settings) const;

 private:
  std::map<std::string, std::map<std::string, std::string>> entries_;  // key -> "model.scenario" -> value
  std::string name_;
};

}  // namespace wafer::harness
