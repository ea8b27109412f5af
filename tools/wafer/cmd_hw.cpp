// wafer hw PRESET|FILE: load, validate and summarise a hardware description.
#include <iostream>

#include "api/hardware.h"
#include "api/npu_model.h"
#include "commands.h"
#include "npu/hardware.h"
#include "npu/system.h"

namespace wafer::cli {

void add_hw_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "hw", "Validate and summarise an NPU hardware description or a system of chips (preset or YAML file)");
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
      for (const auto& p : npu::system_presets()) std::cout << p << " (system)\n";
      return o->hw.empty() && !o->list ? 2 : 0;
    }
    if (npu::is_system(o->hw)) {  // a system of chips (docs/SYSTEMS.md)
      npu::SystemDesc s = npu::load_system(o->hw, api::parse_set_options(o->sets));
      if (o->json) {
        std::cout << api::system_json(s).dump(2) << "\n";
      } else {
        std::cout << npu::system_summary(s);
        for (const auto& src : s.sources) std::cout << "  source: " << src << "\n";
      }
      return 0;
    }
    npu::HardwareDesc hw = npu::load_hardware(o->hw, api::parse_set_options(o->sets));
    if (o->json) {
      std::cout << api::hardware_json(hw).dump(2) << "\n";
    } else {
      std::cout << npu::hardware_summary(hw);
      for (const auto& s : hw.sources) std::cout << "  source: " << s << "\n";
    }
    return 0;
  });
}

}  // namespace wafer::cli
