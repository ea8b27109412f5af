#include "npu/scalesim/topology.h"

#include "core/error.h"
#include "npu/scalesim/parse_util.h"

namespace wafer::scalesim {

namespace {

constexpr int64_t kMaxDim = int64_t{1} << 24;  // keeps M*N*K products inside int64

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  // SCALE-Sim rows end with a trailing comma; drop the empty tail cells.
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

}  // namespace

std::vector<Layer> parse_topology_text(const std::string& text, const std::string& name, TopologyKind kind) {
  static const char* kConvFields[] = {"Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                                      "Channels",   "Num Filter",   "Strides",     "Stride width"};
  static const char* kGemmFields[] = {"Layer", "M", "N", "K"};
  std::vector<Layer> layers;
  auto lines = split_lines(text);
  bool header = true;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = trim(lines[i]);
    if (header) {  // the first line is always the header, as in SCALE-Sim
      header = false;
      continue;
    }
    if (line.empty()) continue;
    std::string where = name + ":" + std::to_string(i + 1);
    auto cells = split_csv(line);
    Layer l;
    if (kind == TopologyKind::kGemm) {
      check(cells.size() >= 4, where, ": expected 4 fields (Layer, M, N, K), got ", cells.size());
      l.name = cells[0];
      int64_t m = parse_int(cells[1], where, kGemmFields[1], 1, kMaxDim);
      int64_t n = parse_int(cells[2], where, kGemmFields[2], 1, kMaxDim);
      int64_t k = parse_int(cells[3], where, kGemmFields[3], 1, kMaxDim);
      // topology_utils.py: entries = [m, k, 1, k, 1, n, 1, 1]
      l.ifmap_h = m;
      l.ifmap_w = k;
      l.filter_h = 1;
      l.filter_w = k;
      l.channels = 1;
      l.num_filters = n;
    } else {
      check(cells.size() >= 8, where, ": expected at least 8 fields (", kConvFields[0], " ... ", kConvFields[7],
            "), got ", cells.size());
      l.name = cells[0];
      int64_t v[8];
      for (int f = 1; f < 8; ++f) v[f] = parse_int(cells[f], where, kConvFields[f], 1, kMaxDim);
      l.ifmap_h = v[1];
      l.ifmap_w = v[2];
      l.filter_h = v[3];
      l.filter_w = v[4];
      l.channels = v[5];
      l.num_filters = v[6];
      l.stride_h = v[7];
      l.stride_w = cells.size() >= 9 ? parse_int(cells[8], where, kConvFields[8], 1, kMaxDim) : v[7];
      check(l.filter_h <= l.ifmap_h, where, ": field 'Filter Height' (", l.filter_h, ") exceeds 'IFMAP Height' (",
            l.ifmap_h, ")");
      check(l.filter_w <= l.ifmap_w, where, ": field 'Filter Width' (", l.filter_w, ") exceeds 'IFMAP Width' (",
            l.ifmap_w, ")");
    }
    // Keep MACs x 100 exact in int64 and double (< 2^53).
    const double macs =
        static_cast<double>(l.ofmap_pixels()) * static_cast<double>(l.window()) * static_cast<double>(l.num_filters);
    check(macs * 100 < 9.0e15, where, ": layer too large to simulate (", macs, " MACs)");
    if (kind == TopologyKind::kConv && l.name.find("DP") != std::string::npos) {
      // SCALE-Sim's depthwise convention (topology_utils.py, load_arrays_conv): a layer whose name contains
      // "DP" becomes one single-channel layer per channel, named NAME + "Channel_" + index.
      check(l.channels <= 65536, where, ": field 'Channels': depthwise layer with ", l.channels,
            " channels (at most 65536)");
      const int64_t channels = l.channels;
      l.channels = 1;
      for (int64_t c = 0; c < channels; ++c) {
        Layer d = l;
        d.name = l.name + "Channel_" + std::to_string(c);
        layers.push_back(d);
      }
      continue;
    }
    layers.push_back(l);
  }
  check(!layers.empty(), name, ": no layers (the first line is the header)");
  return layers;
}

std::vector<Layer> parse_topology_file(const std::string& path, TopologyKind kind) {
  return parse_topology_text(read_text_file(path), path, kind);
}

}  // namespace wafer::scalesim
