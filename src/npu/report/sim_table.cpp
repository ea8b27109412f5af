// The terminal report of `wafer sim`: summary lines, then the per-layer table
// (the most expensive layers first unless every layer is asked for).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "npu/report/report.h"

namespace wafer::report {

namespace {

uint64_t level(const npu::LayerStats& l, npu::MemLevel m) {
  auto it = l.bytes.find(m);
  return it == l.bytes.end() ? 0 : it->second;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string si(double v) {  // 40.6 M, 1.2 G: counts without a unit of their own
  const char* suffix[] = {"", " k", " M", " G", " T", " P"};
  int s = 0;
  while (std::fabs(v) >= 1000 && s < 5) {
    v /= 1000;
    ++s;
  }
  return fixed(v, s == 0 ? 0 : 2) + suffix[s];
}

std::string pad(const std::string& s, size_t w, bool right) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

}  // namespace

std::string sim_table(const npu::SimResult& r, const TableOptions& options) {
  std::ostringstream out;
  out << "model " << r.model << " on " << r.hw_name << " (" << dtype_name(r.precision) << ", batch " << r.batch;
  if (r.chips > 1) out << ", " << r.batch / r.chips << " on each of " << r.chips << " chips; layers: one chip";
  const int chip_batch = r.batch / std::max(1, r.chips);
  if (r.sub_batch > 0 && r.sub_batch != chip_batch)
    out << " as " << chip_batch / r.sub_batch << " runs of " << r.sub_batch << "; layers: one run";
  out << ")\n";
  out << "  latency     " << fixed(r.latency_s * 1e3, 4) << " ms  (" << r.cycles << " cycles at "
      << fixed(r.clock_hz / 1e6, 0) << " MHz)\n";
  out << "  throughput  " << fixed(r.throughput_samples_per_s, 1) << " samples/s\n";
  out << "  energy      " << fixed(r.energy_j * 1e3, 4) << " mJ total, "
      << fixed(r.batch > 0 ? r.energy_j * 1e3 / r.batch : 0, 4) << " mJ/sample";
  if (r.energy_j > 0) {
    out << "  (";
    bool first = true;
    for (const auto& [k, j] : r.energy_breakdown_j) {
      if (j <= 0) continue;
      out << (first ? "" : ", ") << k << " " << fixed(100 * j / r.energy_j, 1) << "%";
      first = false;
    }
    out << ")";
  }
  out << "\n  area        " << fixed(r.area_mm2, 2) << " mm2\n";
  if (r.cost)
    out << cost_text(npu::deployment_cost(*r.cost, r.chips, r.network_usd, r.power_w(), r.throughput_samples_per_s),
                     "samples/s");
  out << "  work        " << si(double(r.macs)) << "MAC, off-chip " << format_bytes(double(r.offchip_bytes))
      << ", on-chip " << format_bytes(double(r.onchip_bytes)) << "\n";
  double peak_s = r.peak_macs_per_s > 0 ? double(r.macs) / r.peak_macs_per_s : 0;
  double bw_s = r.offchip_bytes_per_s > 0 ? double(r.offchip_bytes) / r.offchip_bytes_per_s : 0;
  out << "  roofline    compute floor " << format_seconds(peak_s) << ", off-chip floor " << format_seconds(bw_s)
      << "; achieved " << fixed(r.latency_s > 0 ? double(r.macs) / r.latency_s / 1e12 : 0, 3) << " TMAC/s of peak "
      << fixed(r.peak_macs_per_s / 1e12, 3) << " TMAC/s\n";

  std::vector<size_t> order(r.layers.size());
  std::iota(order.begin(), order.end(), size_t(0));
  auto span = [&](size_t i) {
    const auto& l = r.layers[i];
    return l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
  };
  size_t shown = order.size();
  if (!options.all) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return span(a) > span(b); });
    shown = std::min(order.size(), size_t(std::max(0, options.top)));
  }

  const std::vector<std::pair<std::string, bool>> cols = {
      {"#", true},          {"layer", false},   {"op", false},      {"unit", false},    {"cycles", true},
      {"% total", true},    {"matrix %", true}, {"vector %", true}, {"off-chip", true}, {"global buf", true},
      {"scratchpad", true}, {"energy", true},   {"bound", false}};
  std::vector<std::vector<std::string>> rows;
  for (size_t k = 0; k < shown; ++k) {
    size_t i = order[k];
    const auto& l = r.layers[i];
    uint64_t sp = level(l, npu::MemLevel::Scratchpad) + level(l, npu::MemLevel::Accumulator);
    std::string name = l.name.size() > 32 ? l.name.substr(0, 29) + "..." : l.name;
    rows.push_back({std::to_string(i), name, l.op_type, l.unit, std::to_string(span(i)),
                    fixed(r.cycles ? 100.0 * double(span(i)) / double(r.cycles) : 0, 1),
                    fixed(100 * l.matrix_utilization, 1), fixed(100 * l.vector_utilization, 1),
                    format_bytes(double(level(l, npu::MemLevel::OffChip))),
                    format_bytes(double(level(l, npu::MemLevel::GlobalBuffer))), format_bytes(double(sp)),
                    format_joules(l.energy_j), l.bound});
  }
  std::vector<size_t> width(cols.size());
  for (size_t c = 0; c < cols.size(); ++c) {
    width[c] = cols[c].first.size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  out << "\nlayers ("
      << (options.all ? "all " + std::to_string(r.layers.size()) + ", program order"
                      : "top " + std::to_string(shown) + " of " + std::to_string(r.layers.size()) +
                            " by cycles; --all for every layer")
      << "; cycles = layer span, % of the total latency; utilization of the units the layer used)\n";
  auto line = [&](const std::vector<std::string>& cells) {
    out << " ";
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += ' ';  // (appending, not " " + s: g++ 12 -O3 warns falsely about the latter)
      text += pad(cells[c], width[c], cols[c].second);
    }
    out << text.substr(0, text.find_last_not_of(' ') + 1) << "\n";
  };
  std::vector<std::string> header;
  for (const auto& c : cols) header.push_back(c.first);
  line(header);
  for (const auto& row : rows) line(row);
  return out.str();
}

}  // namespace wafer::report
