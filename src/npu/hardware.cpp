#include "npu/hardware.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/data_path.h"
#include "core/error.h"
#include "npu/yaml_fields.h"

namespace wafer::npu {

namespace fs = std::filesystem;

std::string_view dataflow_name(Dataflow d) {
  switch (d) {
    case Dataflow::WeightStationary:
      return "ws";
    case Dataflow::OutputStationary:
      return "os";
    case Dataflow::InputStationary:
      return "is";
  }
  return "?";
}

double HardwareDesc::peak_macs_per_s(DType t) const {
  auto it = matrix.macs_per_cycle.find(t);
  return it == matrix.macs_per_cycle.end() ? 0.0 : it->second * matrix.units * cores * clock_hz;
}

double HardwareDesc::offchip_bytes_per_s() const {
  return offchip ? offchip->bandwidth_bytes_per_s : 0.0;
}

uint64_t HardwareDesc::on_chip_bytes() const {
  uint64_t per_core = scratchpad.size_bytes + accumulator.size_bytes;
  return per_core * uint64_t(cores) + (global_buffer ? global_buffer->size_bytes : 0);
}

double HardwareDesc::area_mm2() const {
  double mib = double(on_chip_bytes()) / double(1 << 20);
  return cores * (matrix.units * double(matrix.rows) * matrix.cols * area.matrix_pe_mm2 + area.vector_unit_mm2) +
         mib * area.sram_mm2_per_mib + area.other_mm2;
}

namespace {

using namespace yaml_fields;

SramSpec read_sram(Fields f, bool allow_zero, bool scratchpad = false) {
  SramSpec s;
  s.size_bytes = f.bytes("size", allow_zero ? 0 : 1);
  s.banks = f.integer("banks", 1, 1);
  s.bytes_per_cycle = s.size_bytes ? f.number("bytes_per_cycle", 1e-9) : f.number("bytes_per_cycle", 0, 0.0);
  if (scratchpad) s.holds_weights = f.flag("holds_weights", true);
  f.finish();
  return s;
}

std::map<DType, double> read_dtype_map(Fields f, double min) {
  std::map<DType, double> m;
  for (const auto& key : f.keys()) {
    DType t;
    try {
      t = dtype_from_name(key);
    } catch (const Error&) {
      fail(f.where(key), ": unknown datatype (use int8, fp16, bf16, fp32)");
    }
    m[t] = f.number(key, min);
  }
  f.finish();
  return m;
}

// The `cost:` section (docs/COST.md). `assumed` must name fields of the section, so a figure marked as an
// assumption cannot silently drift from the list the report prints.
CostSpec read_cost(Fields c, const HardwareDesc& hw) {
  CostSpec k;
  k.process = c.string("process");
  k.wafer_diameter_mm = c.number("wafer_diameter_mm", 50, 300.0);
  if (k.wafer_diameter_mm > 450)
    fail(c.where("wafer_diameter_mm"), ": ", k.wafer_diameter_mm, " mm is larger than any wafer");
  k.wafer_usd = c.number("wafer_usd", 1);
  k.defect_density_per_cm2 = c.number("defect_density_per_cm2", 0);
  k.clustering_alpha = c.number("clustering_alpha", 1e-3, 3.0);
  k.wafer_scale = c.flag("wafer_scale", false);
  k.die_area_mm2 = c.number("die_area_mm2", 0, 0.0);
  const double wafer_mm2 = 3.141592653589793 * k.wafer_diameter_mm * k.wafer_diameter_mm / 4;
  const double die = k.die_area_mm2 > 0 ? k.die_area_mm2 : hw.area_mm2();
  if (die <= 0) fail(c.where("die_area_mm2"), ": missing, and the area model gives no area");
  if (die > wafer_mm2)
    fail(c.where("die_area_mm2"), ": ", die, " mm2 does not fit on a ", k.wafer_diameter_mm, " mm wafer (", wafer_mm2,
         " mm2)");
  k.dies = c.integer("dies", 1, 1);
  if (k.wafer_scale && k.dies != 1) fail(c.where("dies"), ": a wafer-scale chip is one die, got ", k.dies);
  if (c.has("redundancy")) {
    Fields r = c.sub("redundancy");
    Redundancy red;
    red.cores_per_group = r.integer("cores_per_group", 1);
    red.spares_per_group = r.integer("spares_per_group", 0);
    if (red.cores_per_group > hw.cores)
      fail(r.where("cores_per_group"), ": ", red.cores_per_group, " is more than cores.count ", hw.cores);
    r.finish();
    k.redundancy = red;
  } else {
    c.mark("redundancy");
  }
  k.package_usd = c.number("package_usd", 0, 0.0);
  k.price_usd = c.number("price_usd", 0, 0.0);
  k.tdp_w = c.number("tdp_w", 0, 0.0);
  if (c.has("assumed")) {
    YAML::Node a = c.raw("assumed");
    if (!a.IsSequence()) fail(c.where("assumed"), ": expected a list of field names");
    for (const auto& n : a) {
      const std::string f = n.Scalar();
      if (f == "assumed" || !c.has(f)) fail(c.where("assumed"), ": '", f, "' is not a field of this cost section");
      k.assumed.push_back(f);
    }
  } else {
    c.mark("assumed");
  }
  c.finish();
  return k;
}

}  // namespace

HardwareDesc parse_hardware(const std::string& yaml_text, const std::string& name,
                            const std::vector<std::pair<std::string, std::string>>& overrides) {
  YAML::Node root = load_document(yaml_text, name, overrides);

  HardwareDesc hw;
  hw.source_file = name;
  try {
    Fields top(root, "");
    hw.name = top.string("name");
    if (top.has("sources")) {
      YAML::Node s = top.raw("sources");
      if (!s.IsSequence()) fail("sources: expected a list of citations");
      for (const auto& c : s) hw.sources.push_back(c.as<std::string>());
    } else {
      top.mark("sources");
    }
    hw.clock_hz = top.frequency("clock");

    Fields cores = top.sub("cores");
    hw.cores = cores.integer("count", 1);
    if (hw.cores > 4'000'000) fail("cores.count: ", hw.cores, " cores is beyond what Wafer models");
    hw.noc.rows = hw.cores;
    hw.noc.cols = 1;
    if (cores.has("arrangement")) {
      YAML::Node a = cores.raw("arrangement");
      if (!a.IsSequence() || a.size() != 2) fail("cores.arrangement: expected [rows, cols]");
      hw.noc.rows = a[0].as<int>();
      hw.noc.cols = a[1].as<int>();
      if (hw.noc.rows < 1 || hw.noc.cols < 1 || int64_t(hw.noc.rows) * hw.noc.cols != hw.cores)
        fail("cores.arrangement: ", hw.noc.rows, " x ", hw.noc.cols, " does not equal cores.count ", hw.cores);
    } else {
      cores.mark("arrangement");
    }

    Fields m = cores.sub("matrix");
    hw.matrix.units = m.integer("units", 1, 1);
    hw.matrix.rows = m.integer("rows", 1);
    hw.matrix.cols = m.integer("cols", 1);
    std::string df = m.string("dataflow");
    if (df == "ws" || df == "weight_stationary")
      hw.matrix.dataflow = Dataflow::WeightStationary;
    else if (df == "os" || df == "output_stationary")
      hw.matrix.dataflow = Dataflow::OutputStationary;
    else if (df == "is" || df == "input_stationary")
      hw.matrix.dataflow = Dataflow::InputStationary;
    else
      fail("cores.matrix.dataflow: expected ws, os or is, got '", df, "'");
    hw.matrix.pipelined_folds = m.flag("pipelined_folds", false);
    // Throughput is given per processing element, so sweeping the array size
    // (rows, cols) scales the peak with it.
    for (const auto& [t, per_pe] : read_dtype_map(m.sub("macs_per_pe"), 1e-6))
      hw.matrix.macs_per_cycle[t] = per_pe * hw.matrix.rows * hw.matrix.cols;
    if (hw.matrix.macs_per_cycle.empty()) fail("cores.matrix.macs_per_pe: lists no datatype");
    m.finish();

    Fields v = cores.sub("vector");
    hw.vector.lanes = v.integer("lanes", 1);
    Fields cpe = v.sub("cycles_per_element");
    for (const auto& key : cpe.keys()) hw.vector.cycles_per_element[key] = cpe.number(key, 1e-6);
    cpe.finish();
    for (const char* needed : {"add", "mul", "exp", "div", "reduce"})
      if (!hw.vector.cycles_per_element.count(needed))
        fail("cores.vector.cycles_per_element.", needed, ": missing required field");
    v.finish();

    hw.scratchpad = read_sram(cores.sub("scratchpad"), false, true);
    if (cores.has("accumulator"))
      hw.accumulator = read_sram(cores.sub("accumulator"), true);
    else
      cores.mark("accumulator");
    cores.finish();

    if (top.has("global_buffer") && !top.is_none("global_buffer"))
      hw.global_buffer = read_sram(top.sub("global_buffer"), false);
    else
      top.mark("global_buffer");

    if (top.is_none("offchip")) {
      top.mark("offchip");
    } else {
      Fields o = top.sub("offchip");
      OffChipMemory mem;
      mem.kind = o.string("kind");
      mem.bandwidth_bytes_per_s = o.rate("bandwidth", 1);
      mem.latency_s = o.time("latency", 0);
      mem.capacity_bytes = o.bytes("capacity", 1);
      mem.channels = o.integer("channels", 1, 1);
      o.finish();
      hw.offchip = mem;
    }
    if (!hw.scratchpad.holds_weights && !hw.offchip)
      fail("cores.scratchpad.holds_weights: false needs off-chip memory to stream the weights from (offchip is none)");

    Fields n = top.sub("noc");
    hw.noc.topology = n.string("topology");
    if (hw.noc.topology != "mesh" && hw.noc.topology != "ring" && hw.noc.topology != "crossbar")
      fail("noc.topology: expected mesh, ring or crossbar, got '", hw.noc.topology, "'");
    hw.noc.bytes_per_cycle_per_link = n.number("bytes_per_cycle_per_link", hw.cores > 1 ? 1e-9 : 0);
    hw.noc.hop_latency_cycles = n.number("hop_latency", 0, 1);
    n.finish();

    if (top.has("chip_links")) {
      Fields l = top.sub("chip_links");
      hw.chip_links.count = l.integer("count", 0);
      hw.chip_links.bandwidth_bytes_per_s = hw.chip_links.count ? l.rate("bandwidth", 1) : 0;
      if (!hw.chip_links.count) l.mark("bandwidth");
      l.finish();
    } else {
      top.mark("chip_links");
    }

    Fields e = top.sub("energy");
    hw.energy.mac_pj = read_dtype_map(e.sub("mac_pj"), 0);
    for (const auto& [t, _] : hw.matrix.macs_per_cycle)
      if (!hw.energy.mac_pj.count(t))
        fail("energy.mac_pj.", dtype_name(t), ": missing, but cores.matrix.macs_per_pe lists ", dtype_name(t));
    hw.energy.vector_op_pj = e.number("vector_op_pj", 0);
    hw.energy.scratchpad_pj_per_byte = e.number("scratchpad_pj_per_byte", 0);
    hw.energy.global_buffer_pj_per_byte = e.number("global_buffer_pj_per_byte", 0, 0.0);
    hw.energy.offchip_pj_per_byte =
        hw.offchip ? e.number("offchip_pj_per_byte", 0) : e.number("offchip_pj_per_byte", 0, 0.0);
    hw.energy.noc_pj_per_byte_hop = e.number("noc_pj_per_byte_hop", 0, 0.0);
    hw.energy.static_w = e.number("static_w", 0, 0.0);
    e.finish();

    Fields a = top.sub("area");
    hw.area.matrix_pe_mm2 = a.number("matrix_pe_mm2", 0);
    hw.area.vector_unit_mm2 = a.number("vector_unit_mm2", 0);
    hw.area.sram_mm2_per_mib = a.number("sram_mm2_per_mib", 0);
    hw.area.other_mm2 = a.number("other_mm2", 0, 0.0);
    a.finish();

    if (top.has("cost")) {
      hw.cost = read_cost(top.sub("cost"), hw);
    } else {
      top.mark("cost");
    }
    top.finish();
  } catch (const YAML::Exception& ex) {
    fail(name, ": ", ex.what());
  } catch (const Error& ex) {
    fail(name, ": ", ex.what());
  }
  return hw;
}

std::vector<std::string> hardware_search_path() {
  return data_search_path("WAFER_HW_PATH", "hw");
}

std::vector<std::string> hardware_presets() {
  std::set<std::string> names;
  for (const auto& dir : hardware_search_path()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".yaml") names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

HardwareDesc load_hardware(const std::string& preset_or_path,
                           const std::vector<std::pair<std::string, std::string>>& overrides) {
  fs::path path(preset_or_path);
  bool is_file = path.has_extension() || preset_or_path.find('/') != std::string::npos;
  std::ifstream in;
  if (is_file) {
    in.open(path);
    if (!in) fail(preset_or_path, ": cannot read hardware description");
  } else {
    std::string searched;
    for (const auto& dir : hardware_search_path()) {
      path = fs::path(dir) / (preset_or_path + ".yaml");
      in.open(path);
      if (in) break;
      searched += (searched.empty() ? "" : ":") + dir;
    }
    if (!in) {
      std::string known;
      for (const auto& p : hardware_presets()) known += (known.empty() ? "" : ", ") + p;
      fail("unknown hardware preset '", preset_or_path, "' (presets: ", known, "; searched ", searched,
           ", set WAFER_HW_PATH to add folders; or give a .yaml file)");
    }
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_hardware(text.str(), is_file ? preset_or_path : path.string(), overrides);
}

std::string hardware_summary(const HardwareDesc& hw) {
  std::ostringstream out;
  out.precision(4);
  out << hw.name << ": " << hw.cores << " core(s) (" << hw.noc.rows << "x" << hw.noc.cols << " " << hw.noc.topology
      << ") at " << hw.clock_hz / 1e6 << " MHz\n";
  out << "  matrix: " << hw.matrix.units << " x " << hw.matrix.rows << "x" << hw.matrix.cols << " "
      << dataflow_name(hw.matrix.dataflow) << " per core; peak";
  for (const auto& [t, _] : hw.matrix.macs_per_cycle)
    out << " " << dtype_name(t) << " " << 2 * hw.peak_macs_per_s(t) / 1e12 << " TOPS";
  out << "\n  on-chip: " << double(hw.on_chip_bytes()) / double(1 << 20) << " MiB";
  if (hw.offchip)
    out << "; off-chip " << hw.offchip->kind << " " << double(hw.offchip->capacity_bytes) / double(1ull << 30)
        << " GiB at " << hw.offchip->bandwidth_bytes_per_s / 1e9 << " GB/s";
  else
    out << "; no off-chip memory";
  out << "\n  area: " << hw.area_mm2() << " mm2\n";
  return out.str();
}

}  // namespace wafer::npu
