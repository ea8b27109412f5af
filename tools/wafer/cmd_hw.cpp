// wafer hw PRESET|FILE: load, validate and summarise a hardware description.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "npu/hardware.h"

namespace wafer::cli {

void add_hw_command(CLI::App& app) {
  auto* sub = app.add_subcommand("hw", "Validate and summarise an NPU hardware description (preset or YAML file)");
  struct Opts {
    std::string hw;
    std::vector<std::string> sets;
    bool json = false, list = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("hw", o->hw, "Preset name (see --list) or YAML file");
  sub->add_option("--set", o->sets, "FIELD=VALUE override, e.g. cores.matrix.rows=128 (repeatable)");
  sub->add_flag("--list", o->list, "List the presets");
  sub->add_flag("--json", o->json, "Print derived figures as JSON");
  set_action(sub, [o]() {
    if (o->list || o->hw.empty()) {
      for (const auto& p : npu::hardware_presets()) std::cout << p << "\n";
      return o->hw.empty() && !o->list ? 2 : 0;
    }
    std::vector<std::pair<std::string, std::string>> overrides;
    for (const auto& s : o->sets) {
      auto eq = s.find('=');
      check(eq != std::string::npos && eq > 0, "--set expects FIELD=VALUE, got '", s, "'");
      overrides.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    }
    npu::HardwareDesc hw = npu::load_hardware(o->hw, overrides);
    if (o->json) {
      nlohmann::json j;
      j["name"] = hw.name;
      j["cores"] = hw.cores;
      j["clock_hz"] = hw.clock_hz;
      for (const auto& [t, _] : hw.matrix.macs_per_cycle)
        j["peak_macs_per_s"][std::string(dtype_name(t))] = hw.peak_macs_per_s(t);
      j["offchip_bytes_per_s"] = hw.offchip_bytes_per_s();
      j["on_chip_bytes"] = hw.on_chip_bytes();
      j["area_mm2"] = hw.area_mm2();
      j["sources"] = hw.sources;
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << npu::hardware_summary(hw);
      for (const auto& s : hw.sources) std::cout << "  source: " << s << "\n";
    }
    return 0;
  });
}

}  // namespace wafer::cli
