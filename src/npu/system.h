// A system of chips: one chip (a hardware preset or file) times a count, and the topology and links
// that join them. Collectives over it are costed by npu/collectives.h; the LLM simulation shards a
// model over it with tensor parallelism (api/llm_sim.h).
//
// The YAML format is docs/SYSTEMS.md; presets live in hw/systems/. Loading validates every field
// with the hardware descriptions' rules (npu/yaml_fields.h): an error names the file and field path.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "npu/hardware.h"

namespace wafer::npu {

enum class Topology {
  Switch,       // every chip's links go to a switch: any pair at the chip's full bandwidth (NVSwitch)
  Ring,         // each chip linked to two neighbours
  Torus,        // 2-D or 3-D torus, wrap-around in every dimension (TPU ICI)
  WaferFabric,  // wafers on a fabric that broadcasts and reduces in the network (Cerebras SwarmX)
};
std::string_view topology_name(Topology t);  // "switch", "ring", "torus", "wafer-fabric"

struct LinkSpec {
  int per_chip = 0;                  // links leaving each chip
  double bandwidth_bytes_per_s = 0;  // per link, per direction
  double latency_s = 0;              // one hop (through the switch, for switch and wafer-fabric)
  double pj_per_byte = 0;            // energy to move a byte over one link
};

struct HostLink {
  double bandwidth_bytes_per_s = 0;  // per chip, per direction
  double latency_s = 0;
};

struct SystemDesc {
  std::string name, source_file;
  std::vector<std::string> sources;
  std::string chip_ref;  // the preset name or path as written
  HardwareDesc chip;
  int count = 0;
  Topology topology = Topology::Switch;
  std::vector<int> dims;  // torus: sizes per dimension (product = count); others: {count}
  LinkSpec links;
  std::optional<HostLink> host;
  // Whether each chip has engines that move data between chips while its cores compute (copy/DMA
  // engines): then a pipeline stage's send overlaps its next micro-batch (docs/SYSTEMS.md). false:
  // sends wait for compute and compute for sends.
  bool comm_engines = false;
  // The `cost:` section (docs/COST.md): switches, cables and optics joining the chips, for the whole
  // system; 0 when not given. `network_assumed` says the figure is an assumption.
  double network_usd = 0;
  bool network_assumed = false;

  // Bandwidth one chip can send into the network, all its links together, per direction.
  double chip_bytes_per_s() const { return links.per_chip * links.bandwidth_bytes_per_s; }
};

// Loads a system preset (hw/systems/NAME.yaml on the hardware search path) or a YAML file. A chip
// named by a relative path is found beside the system file. `overrides` are FIELD=VALUE pairs
// applied to the system's YAML before validation (e.g. links.bandwidth=100GB/s, count=4).
SystemDesc load_system(const std::string& preset_or_path,
                       const std::vector<std::pair<std::string, std::string>>& overrides = {});
SystemDesc parse_system(const std::string& yaml_text, const std::string& name_for_errors,
                        const std::vector<std::pair<std::string, std::string>>& overrides = {});
std::vector<std::string> system_presets();  // names of the *.yaml in each search folder's systems/
// Whether --hw names a system: a system preset's name, or a YAML file whose top level says `kind: system`.
bool is_system(const std::string& preset_or_path);
std::string system_summary(const SystemDesc& s);

}  // namespace wafer::npu
