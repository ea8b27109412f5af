// Sweep reports: one row per design point in grid order.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "npu/report/report.h"
#include "npu/report/sweep_report.h"

namespace wafer::report {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

std::string sweep_table(const std::vector<npu::SweepAxis>& axes, const std::vector<npu::SweepPoint>& points) {
  std::vector<std::string> header = {"#"};
  for (const auto& a : axes) header.push_back(a.field);
  for (const char* h : {"latency (ms)", "throughput (samples/s)", "energy (mJ)", "area (mm2)", "power (W)",
                        "samples/s/W", "cost ($)", "samples/s/$", "pareto"})
    header.push_back(h);
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    std::vector<std::string> row = {std::to_string(i + 1)};
    for (const auto& [_, v] : p.values) row.push_back(v);
    if (p.ok) {
      row.push_back(format_number(p.latency_s * 1e3, "%.4f"));
      row.push_back(format_number(p.throughput_samples_per_s, "%.1f"));
      row.push_back(format_number(p.energy_j * 1e3, "%.4f"));
      row.push_back(format_number(p.area_mm2, "%.2f"));
      row.push_back(format_number(p.power_w, "%.4g"));
      row.push_back(format_number(p.perf_per_w(), "%.4g"));
      row.push_back(p.cost_usd > 0 ? format_number(p.cost_usd, "%.0f") : "-");
      row.push_back(p.cost_usd > 0 ? format_number(p.perf_per_usd(), "%.4g") : "-");
      row.push_back(p.pareto ? "*" : "");
    } else {
      row.push_back("invalid: " + p.error);
    }
    rows.push_back(std::move(row));
  }
  std::ostringstream out;
  out << aligned_table(header, rows);
  size_t ok = std::count_if(points.begin(), points.end(), [](const auto& p) { return p.ok; });
  size_t front = std::count_if(points.begin(), points.end(), [](const auto& p) { return p.pareto; });
  out << points.size() << " design(s), " << ok << " valid, " << front
      << " Pareto-optimal (*: not dominated in latency, energy and area)\n";
  return out.str();
}

std::string sweep_csv(const std::vector<npu::SweepAxis>& axes, const std::vector<npu::SweepPoint>& points) {
  std::ostringstream out;
  out.precision(17);
  out << "index";
  for (const auto& a : axes) out << "," << csv_field(a.field);
  out << ",valid,hw,cycles,latency_s,throughput_samples_per_s,energy_j,area_mm2,power_w,perf_per_w,cost_usd,perf_per_"
         "usd,pareto,error\n";
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    out << i + 1;
    for (const auto& [_, v] : p.values) out << "," << csv_field(v);
    out << "," << (p.ok ? 1 : 0) << "," << csv_field(p.hw_name) << ",";
    if (p.ok)
      out << p.cycles << "," << p.latency_s << "," << p.throughput_samples_per_s << "," << p.energy_j << ","
          << p.area_mm2 << "," << p.power_w << "," << p.perf_per_w() << "," << p.cost_usd << "," << p.perf_per_usd();
    else
      out << ",,,,,,,,";
    out << "," << (p.pareto ? 1 : 0) << "," << csv_field(p.error) << "\n";
  }
  return out.str();
}

nlohmann::json sweep_json(const std::vector<npu::SweepAxis>& axes, const std::vector<npu::SweepPoint>& points) {
  nlohmann::json j;
  j["axes"] = nlohmann::json::array();
  for (const auto& a : axes) j["axes"].push_back({{"field", a.field}, {"values", a.values}});
  j["points"] = nlohmann::json::array();
  for (const auto& p : points) {
    nlohmann::json v = nlohmann::json::object();
    for (const auto& [f, val] : p.values) v[f] = val;
    nlohmann::json row = {{"values", v}, {"valid", p.ok}, {"pareto", p.pareto}};
    if (p.ok) {
      row["hw"] = p.hw_name;
      row["cycles"] = p.cycles;
      row["latency_s"] = p.latency_s;
      row["throughput_samples_per_s"] = p.throughput_samples_per_s;
      row["energy_j"] = p.energy_j;
      row["area_mm2"] = p.area_mm2;
      row["power_w"] = p.power_w;
      row["perf_per_w"] = p.perf_per_w();
      row["cost_usd"] = p.cost_usd;
      row["perf_per_usd"] = p.perf_per_usd();
    } else {
      row["error"] = p.error;
    }
    j["points"].push_back(row);
  }
  return j;
}

}  // namespace wafer::report
