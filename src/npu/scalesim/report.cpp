#include "npu/scalesim/report.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace wafer::scalesim {

std::string python_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then laid out as Python's float_repr_style 'short' does:
  // fixed notation for decimal exponents in [-4, 16), scientific otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') sign = "-", sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp10 = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  const int nd = static_cast<int>(digits.size());
  std::string out;
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 >= 0) {
      if (nd <= exp10 + 1) {
        out = digits + std::string(static_cast<size_t>(exp10 + 1 - nd), '0') + ".0";
      } else {
        out = digits.substr(0, static_cast<size_t>(exp10 + 1)) + "." + digits.substr(static_cast<size_t>(exp10 + 1));
      }
    } else {
      out = "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (nd > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += eb;
  }
  return sign + out;
}

namespace {

// SCALE-Sim writes each row as the items joined by ", " with a trailing ",".
template <typename F>
std::string table(const char* header, const std::vector<LayerResult>& layers, F row) {
  std::ostringstream out;
  out << header << "\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    out << i;
    for (const std::string& item : row(layers[i])) out << ", " << item;
    out << ",\n";
  }
  return out.str();
}

std::string num(int64_t v) {
  return std::to_string(v);
}

double avg_bw(int64_t words, double start, double stop) {
  double span = stop - start + 1;
  return span > 0 ? static_cast<double>(words) / span : 0.0;
}

}  // namespace

std::string compute_report(const std::vector<LayerResult>& layers) {
  return table("LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,", layers,
               [](const LayerResult& r) {
                 return std::vector<std::string>{num(r.total_cycles), num(r.stall_cycles), python_float(r.overall_util),
                                                 python_float(r.mapping_eff), python_float(r.compute_util)};
               });
}

std::string bandwidth_report(const std::vector<LayerResult>& layers) {
  return table(
      "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg "
      "OFMAP DRAM BW,",
      layers, [](const LayerResult& r) {
        const double t = static_cast<double>(r.total_cycles);
        return std::vector<std::string>{
            python_float(static_cast<double>(r.ifmap_sram_reads) / t),
            python_float(static_cast<double>(r.filter_sram_reads) / t),
            python_float(static_cast<double>(r.ofmap_sram_writes) / t),
            python_float(avg_bw(r.ifmap_dram_reads, r.ifmap_dram_start, r.ifmap_dram_stop)),
            python_float(avg_bw(r.filter_dram_reads, r.filter_dram_start, r.filter_dram_stop)),
            python_float(avg_bw(r.ofmap_dram_writes, r.ofmap_dram_start, r.ofmap_dram_stop))};
      });
}

std::string detailed_access_report(const std::vector<LayerResult>& layers) {
  return table(
      "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, SRAM Filter Start Cycle, SRAM Filter "
      "Stop Cycle, SRAM Filter Reads, SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, DRAM IFMAP "
      "Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM "
      "Filter Reads, DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,",
      layers, [](const LayerResult& r) {
        return std::vector<std::string>{
            python_float(r.ifmap_sram_start),  python_float(r.ifmap_sram_stop),  num(r.ifmap_sram_reads),
            python_float(r.filter_sram_start), python_float(r.filter_sram_stop), num(r.filter_sram_reads),
            python_float(r.ofmap_sram_start),  python_float(r.ofmap_sram_stop),  num(r.ofmap_sram_writes),
            python_float(r.ifmap_dram_start),  python_float(r.ifmap_dram_stop),  num(r.ifmap_dram_reads),
            python_float(r.filter_dram_start), python_float(r.filter_dram_stop), num(r.filter_dram_reads),
            python_float(r.ofmap_dram_start),  python_float(r.ofmap_dram_stop),  num(r.ofmap_dram_writes)};
      });
}

void write_reports(const std::string& dir, const std::vector<LayerResult>& layers) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  check(!ec, dir, ": cannot create output directory: ", ec.message());
  auto put = [&](const char* file, const std::string& text) {
    std::string path = dir + "/" + file;
    std::ofstream out(path, std::ios::binary);
    check(static_cast<bool>(out), path, ": cannot write file");
    out << text;
    check(static_cast<bool>(out), path, ": write failed");
  };
  put("COMPUTE_REPORT.csv", compute_report(layers));
  put("BANDWIDTH_REPORT.csv", bandwidth_report(layers));
  put("DETAILED_ACCESS_REPORT.csv", detailed_access_report(layers));
}

}  // namespace wafer::scalesim
