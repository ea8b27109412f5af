// A described accelerator: everything the NPU compiler and simulator know
// about a chip comes from here. Nothing chip-specific is hard-coded anywhere
// else; presets live in hw/*.yaml, each citing its public sources.
//
// The YAML format is documented in docs/HARDWARE.md. Loading validates every
// field; an error names the file and the field path (`cores.matrix.rows`).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace wafer::npu {

enum class Dataflow { WeightStationary, OutputStationary, InputStationary };
std::string_view dataflow_name(Dataflow d);  // "ws", "os", "is"

struct MatrixUnit {
  int units = 1;  // matrix units per core (e.g. 4 MXUs in a TPU v4 TensorCore)
  int rows = 0;   // systolic array height (reduction dim for ws)
  int cols = 0;   // systolic array width
  Dataflow dataflow = Dataflow::WeightStationary;
  // Whether consecutive folds overlap: the next fold's operands stream in while the last one drains
  // (tensor cores issue MMAs back to back into register accumulators). false: each fold pays its own
  // fill and drain, as SCALE-Sim counts them (compiler_tiling.cpp, matmul_tile_cycles).
  bool pipelined_folds = false;
  std::map<DType, double> macs_per_cycle;  // per unit, for each supported dtype (rows x cols x YAML macs_per_pe)
};

struct VectorUnit {
  int lanes = 0;
  std::map<std::string, double> cycles_per_element;  // op class -> cycles per element per lane
};

struct SramSpec {
  uint64_t size_bytes = 0;
  int banks = 1;
  double bytes_per_cycle = 0;  // read+write bandwidth to the units
  // Scratchpads only: whether the matrix units can take their weights from it. false: weights reach the
  // matrix units only from off-chip memory, streamed per use (TPU v1: the Weight FIFO from Weight Memory,
  // the Unified Buffer holds activations alone), so no weight is resident on chip.
  bool holds_weights = true;
};

struct OffChipMemory {
  std::string kind;  // "DDR3", "LPDDR4", "HBM2", "HBM3", ...
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
  uint64_t capacity_bytes = 0;
  int channels = 1;
};

struct Network {
  std::string topology = "mesh";  // mesh | ring | crossbar
  int rows = 1, cols = 1;         // core arrangement (rows * cols == cores.count)
  double bytes_per_cycle_per_link = 0;
  double hop_latency_cycles = 1;
};

struct ChipLinks {
  int count = 0;
  double bandwidth_bytes_per_s = 0;  // per link, per direction
};

struct EnergyModel {
  std::map<DType, double> mac_pj;  // energy per MAC
  double vector_op_pj = 0;         // per vector-unit element operation
  double scratchpad_pj_per_byte = 0;
  double global_buffer_pj_per_byte = 0;
  double offchip_pj_per_byte = 0;
  double noc_pj_per_byte_hop = 0;
  double static_w = 0;  // leakage and always-on power
};

struct AreaModel {
  double matrix_pe_mm2 = 0;     // per processing element of a matrix unit (scales with rows x cols)
  double vector_unit_mm2 = 0;   // per core
  double sram_mm2_per_mib = 0;  // scratchpad, accumulator and global buffer
  double other_mm2 = 0;         // I/O, PHYs, control not covered above
};

// What the chip costs to make and draws (docs/COST.md): the `cost:` section of the description. Read by
// npu/cost_model.h; every figure is sourced in the preset's comments or named in `assumed`.
struct Redundancy {
  int cores_per_group = 0;   // active cores that share spares (the cores are the description's cores.count)
  int spares_per_group = 0;  // spare cores in each group: the group works while its defective cores <= this
};

struct CostSpec {
  std::string process;  // "TSMC N5", for the report
  double wafer_diameter_mm = 300;
  double wafer_usd = 0;               // price of one processed wafer
  double defect_density_per_cm2 = 0;  // D0
  double clustering_alpha = 3;        // negative-binomial clustering parameter
  double die_area_mm2 = 0;            // one die as measured; 0 = the area model's estimate (area:)
  int dies = 1;                       // dies per package (B200: 2)
  bool wafer_scale = false;           // the die is the whole wafer: one per wafer
  std::optional<Redundancy> redundancy;
  double package_usd = 0;            // packaging, HBM and assembly per package
  double price_usd = 0;              // a published selling price; 0 = none (capex is then the manufacturing cost)
  double tdp_w = 0;                  // published board/module power; 0 = none
  std::vector<std::string> assumed;  // the fields above whose figures are assumptions, not sourced
};

struct HardwareDesc {
  std::string name;
  std::string source_file;
  std::vector<std::string> sources;  // citations for the figures
  double clock_hz = 0;
  int cores = 1;
  MatrixUnit matrix;
  VectorUnit vector;
  SramSpec scratchpad;                    // per core
  SramSpec accumulator;                   // per core; size 0 = accumulates in the scratchpad
  std::optional<SramSpec> global_buffer;  // shared on-chip buffer
  std::optional<OffChipMemory> offchip;   // none = everything must fit on chip
  Network noc;
  ChipLinks chip_links;
  EnergyModel energy;
  AreaModel area;
  std::optional<CostSpec> cost;  // none: cost and perf/$ are not reported

  bool supports(DType t) const { return matrix.macs_per_cycle.count(t) != 0; }
  double peak_macs_per_s(DType t) const;  // all cores, all matrix units
  double offchip_bytes_per_s() const;     // 0 without off-chip memory
  uint64_t on_chip_bytes() const;         // scratchpads + accumulators + global buffer
  double area_mm2() const;
};

// Loads a preset name (looked up in hardware_search_path()) or a YAML file path.
// `overrides` are FIELD=VALUE pairs applied before validation (for sweeps).
HardwareDesc load_hardware(const std::string& preset_or_path,
                           const std::vector<std::pair<std::string, std::string>>& overrides = {});
HardwareDesc parse_hardware(const std::string& yaml_text, const std::string& name_for_errors,
                            const std::vector<std::pair<std::string, std::string>>& overrides = {});
std::vector<std::string> hardware_presets();  // names of the *.yaml in hardware_search_path()
// Folders searched for a preset NAME.yaml, first match wins: each folder of WAFER_HW_PATH (':'-separated),
// PREFIX/share/wafer/hw when the binary is installed as PREFIX/bin/wafer, then the source tree's hw/.
std::vector<std::string> hardware_search_path();
std::string hardware_summary(const HardwareDesc& hw);  // multi-line human summary with units

}  // namespace wafer::npu
