// SCALE-Sim v2 configuration (.cfg, INI) as Wafer reads it.
//
// Field names and defaults follow scalesim/scale_config.py of SCALE-Sim v2
// (https://github.com/scalesim-project/scale-sim-v2). Only what the timing
// model uses is kept; unknown keys and sections are ignored, as SCALE-Sim does.
#pragma once

#include <cstdint>
#include <string>

namespace wafer::scalesim {

enum class Dataflow { kOS, kWS, kIS };

struct Config {
  std::string run_name = "scale_run";
  int64_t array_height = 32;  // rows of PEs
  int64_t array_width = 32;   // columns of PEs
  int64_t ifmap_sram_kb = 64;
  int64_t filter_sram_kb = 64;
  int64_t ofmap_sram_kb = 64;
  int64_t ifmap_offset = 0;
  int64_t filter_offset = 10000000;
  int64_t ofmap_offset = 20000000;
  int64_t bandwidth = 10;  // words per cycle on the DRAM interface (USER mode)
  Dataflow dataflow = Dataflow::kOS;
  int64_t memory_banks = 1;
  bool user_bandwidth = false;  // [run_presets] InterfaceBandwidth: USER (else CALC)
  // Not a .cfg field: average per-fold utilisations with the compensated float sum
  // that Python 3.12+'s sum() uses. SCALE-Sim's goldens differ in the last digits
  // depending on the Python that produced them; its CI AlexNet golden is plain summation.
  bool compensated_sum = false;
  // SCALE-Sim's read buffer up to commit d78b477 (its USER goldens) added each prefetch wait to a
  // row's offset once unconditionally and once more when positive; 22f88b1 (2025-02-25, v2 HEAD)
  // adds a positive wait once. Default: HEAD.
  bool legacy_double_wait = false;
};

const char* dataflow_name(Dataflow df);

// Parses the text of a .cfg; `name` is used in error messages ("NAME:LINE: field F: ...").
Config parse_config_text(const std::string& text, const std::string& name);
Config parse_config_file(const std::string& path);

}  // namespace wafer::scalesim
