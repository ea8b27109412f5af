#include "npu/system.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "npu/yaml_fields.h"

namespace wafer::npu {

namespace fs = std::filesystem;
using namespace yaml_fields;

std::string_view topology_name(Topology t) {
  switch (t) {
    case Topology::Switch:
      return "switch";
    case Topology::Ring:
      return "ring";
    case Topology::Torus:
      return "torus";
    case Topology::WaferFabric:
      return "wafer-fabric";
  }
  return "?";
}

namespace {

// Systems live in a systems/ folder of each folder that holds chip presets, so the two kinds of
// name never collide in one listing and `wafer hw --list` can show them apart.
std::vector<std::string> system_search_path() {
  std::vector<std::string> dirs;
  for (const auto& d : hardware_search_path()) dirs.push_back((fs::path(d) / "systems").string());
  return dirs;
}

std::optional<fs::path> find_system_preset(const std::string& name) {
  for (const auto& dir : system_search_path()) {
    fs::path p = fs::path(dir) / (name + ".yaml");
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

bool looks_like_path(const std::string& s) {
  return fs::path(s).has_extension() || s.find('/') != std::string::npos;
}

std::string read_text(const fs::path& p, const std::string& what) {
  std::ifstream in(p);
  if (!in) fail(p.string(), ": cannot read ", what);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

SystemDesc parse_system(const std::string& yaml_text, const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& overrides) {
  YAML::Node root = load_document(yaml_text, name, overrides);

  SystemDesc s;
  s.source_file = name;
  try {
    Fields top(root, "");
    const std::string kind = top.string("kind");
    if (kind != "system") fail("kind: expected 'system' (a chip description has no kind field), got '", kind, "'");
    s.name = top.string("name");
    if (top.has("sources")) {
      YAML::Node src = top.raw("sources");
      if (!src.IsSequence()) fail("sources: expected a list of citations");
      for (const auto& c : src) s.sources.push_back(c.as<std::string>());
    } else {
      top.mark("sources");
    }
    s.count = top.integer("count", 1);
    if (s.count > 1'000'000) fail("count: ", s.count, " chips is beyond what Wafer models");

    const std::string topo = top.string("topology");
    if (topo == "switch")
      s.topology = Topology::Switch;
    else if (topo == "ring")
      s.topology = Topology::Ring;
    else if (topo == "torus")
      s.topology = Topology::Torus;
    else if (topo == "wafer-fabric")
      s.topology = Topology::WaferFabric;
    else
      fail("topology: expected switch, ring, torus or wafer-fabric, got '", topo, "'");

    if (s.topology == Topology::Torus) {
      YAML::Node d = top.raw("dims");
      if (!d.IsDefined() || d.IsNull()) fail("dims: missing required field (a torus needs [x, y] or [x, y, z])");
      if (!d.IsSequence() || d.size() < 2 || d.size() > 3) fail("dims: expected [x, y] or [x, y, z]");
      int64_t product = 1;
      for (size_t i = 0; i < d.size(); ++i) {
        int v = 0;
        try {
          v = d[i].as<int>();
        } catch (const YAML::Exception&) {
          fail("dims[", i, "]: expected an integer, got '", d[i].Scalar(), "'");
        }
        if (v < 1) fail("dims[", i, "]: must be at least 1, got ", v);
        s.dims.push_back(v);
        product *= v;
      }
      if (product != s.count) fail("dims: the product ", product, " does not equal count ", s.count);
    } else {
      if (top.has("dims")) fail("dims: only a torus has dims (topology is ", topo, ")");
      top.mark("dims");
      s.dims = {s.count};
    }

    Fields l = top.sub("links");
    s.links.per_chip = l.integer("per_chip", 1);
    s.links.bandwidth_bytes_per_s = l.rate("bandwidth", 1);
    s.links.latency_s = l.time("latency", 0);
    s.links.pj_per_byte = l.number("pj_per_byte", 0);
    l.finish();
    // The links of a ring or torus are split evenly between the directions of each dimension.
    const int directions = s.topology == Topology::Ring    ? 2
                           : s.topology == Topology::Torus ? 2 * int(s.dims.size())
                                                           : 1;
    if (s.links.per_chip % directions != 0)
      fail("links.per_chip: ", s.links.per_chip, " links cannot be split evenly over the ", directions,
           " neighbour directions of a ", topo);

    if (top.has("host") && !top.is_none("host")) {
      Fields h = top.sub("host");
      HostLink host;
      host.bandwidth_bytes_per_s = h.rate("bandwidth", 1);
      host.latency_s = h.time("latency", 0);
      h.finish();
      s.host = host;
    } else {
      top.mark("host");
    }

    s.comm_engines = top.flag("comm_engines", false);
    if (top.has("cost")) {
      Fields c = top.sub("cost");
      s.network_usd = c.number("network_usd", 0);
      s.network_assumed = c.flag("network_assumed", false);
      c.finish();
    } else {
      top.mark("cost");
    }

    s.chip_ref = top.string("chip");
    top.finish();
  } catch (const YAML::Exception& ex) {
    fail(name, ": ", ex.what());
  } catch (const Error& ex) {
    fail(name, ": ", ex.what());
  }
  // A chip given as a relative path is found beside the system file.
  std::string chip = s.chip_ref;
  if (looks_like_path(chip) && fs::path(chip).is_relative() && fs::exists(fs::path(name)))
    chip = (fs::path(name).parent_path() / chip).string();
  try {
    s.chip = load_hardware(chip);
  } catch (const Error& ex) {
    fail(name, ": chip: ", ex.what());
  }
  return s;
}

std::vector<std::string> system_presets() {
  std::set<std::string> names;
  for (const auto& dir : system_search_path()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".yaml") names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

bool is_system(const std::string& preset_or_path) {
  if (!looks_like_path(preset_or_path)) return find_system_preset(preset_or_path).has_value();
  try {
    YAML::Node root = YAML::LoadFile(preset_or_path);
    return root.IsMap() && root["kind"].IsDefined() && root["kind"].IsScalar() && root["kind"].Scalar() == "system";
  } catch (const YAML::Exception&) {
    return false;  // not readable as YAML: the chip loader reports it
  }
}

SystemDesc load_system(const std::string& preset_or_path,
                       const std::vector<std::pair<std::string, std::string>>& overrides) {
  if (looks_like_path(preset_or_path))
    return parse_system(read_text(preset_or_path, "system description"), preset_or_path, overrides);
  auto path = find_system_preset(preset_or_path);
  if (!path) {
    std::string known;
    for (const auto& p : system_presets()) known += (known.empty() ? "" : ", ") + p;
    fail("unknown system preset '", preset_or_path, "' (systems: ", known, "; or give a .yaml file)");
  }
  return parse_system(read_text(*path, "system description"), path->string(), overrides);
}

std::string system_summary(const SystemDesc& s) {
  std::ostringstream out;
  out.precision(4);
  out << s.name << ": " << s.count << " x " << s.chip.name << " on a " << topology_name(s.topology);
  if (s.topology == Topology::Torus) {
    out << " ";
    for (size_t i = 0; i < s.dims.size(); ++i) out << (i ? "x" : "") << s.dims[i];
  }
  out << "\n  links: " << s.links.per_chip << " per chip x " << s.links.bandwidth_bytes_per_s / 1e9
      << " GB/s per direction = " << s.chip_bytes_per_s() / 1e9 << " GB/s per chip per direction; latency "
      << s.links.latency_s * 1e6 << " us; " << s.links.pj_per_byte << " pJ/byte\n";
  out << "  pipeline sends " << (s.comm_engines ? "overlap compute (comm_engines)" : "wait for compute") << "\n";
  if (s.host)
    out << "  host: " << s.host->bandwidth_bytes_per_s / 1e9 << " GB/s per chip, latency " << s.host->latency_s * 1e6
        << " us\n";
  const double mem = s.chip.offchip ? double(s.chip.offchip->capacity_bytes) : double(s.chip.on_chip_bytes());
  out << "  total: " << mem * s.count / 1e9 << " GB of " << (s.chip.offchip ? s.chip.offchip->kind : "on-chip SRAM");
  for (const auto& [t, _] : s.chip.matrix.macs_per_cycle)
    out << "; " << dtype_name(t) << " " << 2 * s.chip.peak_macs_per_s(t) * s.count / 1e15 << " PFLOPS";
  out << "\nchip " << hardware_summary(s.chip);
  return out.str();
}

}  // namespace wafer::npu
