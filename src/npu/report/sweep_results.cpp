#include "npu/report/sweep_results.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace wafer::report {

namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

// JSON has no NaN or infinity (nlohmann writes null): read null back as NaN.
double number(const json& j, const char* key) {
  const json& v = j.at(key);
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

SweepResultsHeader parse_header(const json& j, const std::string& where) {
  check(j.is_object() && j.contains("wafer_sweep_results"), where,
        ": not a wafer sweep results file (its first line has no \"wafer_sweep_results\")");
  check(j["wafer_sweep_results"] == kFormatVersion, where, ": results file format ", j["wafer_sweep_results"].dump(),
        ", this wafer reads format ", kFormatVersion);
  SweepResultsHeader h;
  h.fingerprint = j.at("sweep").get<std::string>();
  h.model = j.at("model").get<std::string>();
  h.hw = j.at("hw").get<std::string>();
  h.batch = j.at("batch").get<int>();
  for (const auto& a : j.at("axes"))
    h.axes.push_back({a.at("field").get<std::string>(), a.at("values").get<std::vector<std::string>>()});
  h.total = j.at("points").get<size_t>();
  return h;
}

}  // namespace

std::string sweep_results_header_line(const SweepResultsHeader& h) {
  json axes = json::array();
  for (const auto& a : h.axes) axes.push_back({{"field", a.field}, {"values", a.values}});
  json j = {{"wafer_sweep_results", kFormatVersion},
            {"sweep", h.fingerprint},
            {"model", h.model},
            {"hw", h.hw},
            {"batch", h.batch},
            {"axes", axes},
            {"points", h.total}};
  return j.dump();
}

std::string sweep_point_line(const std::string& fingerprint, size_t index, const npu::SweepPoint& p) {
  json values = json::array();
  for (const auto& [_, v] : p.values) values.push_back(v);
  // hw too when invalid: a design that loaded and then failed to compile has its name in sweep.csv.
  json j = {{"sweep", fingerprint}, {"index", index}, {"values", values}, {"valid", p.ok}, {"hw", p.hw_name}};
  if (p.ok) {
    j["cycles"] = p.cycles;
    j["latency_s"] = p.latency_s;
    j["throughput_samples_per_s"] = p.throughput_samples_per_s;
    j["energy_j"] = p.energy_j;
    j["area_mm2"] = p.area_mm2;
    j["power_w"] = p.power_w;
    j["cost_usd"] = p.cost_usd;
  } else {
    j["error"] = p.error;
  }
  return j.dump();
}

std::pair<size_t, npu::SweepPoint> parse_sweep_point_line(const std::string& line, const SweepResultsHeader& header,
                                                          const std::string& where) {
  json j = json::parse(line, nullptr, false);
  check(!j.is_discarded() && j.is_object(), where, ": not a JSON object");
  try {
    const std::string fingerprint = j.at("sweep").get<std::string>();
    check(fingerprint == header.fingerprint, where, ": a point of another sweep (fingerprint ", fingerprint,
          ", the file's header says ", header.fingerprint, ")");
    const size_t index = j.at("index").get<size_t>();
    check(index < header.total, where, ": point index ", index, " is outside the grid of ", header.total, " points");
    const auto values = j.at("values").get<std::vector<std::string>>();
    check(values.size() == header.axes.size(), where, ": ", values.size(), " axis values for ", header.axes.size(),
          " axes");
    // The grid point at `index` in odometer order (npu::expand_grid): the last axis fastest.
    npu::SweepPoint p;
    size_t rest = index;
    std::vector<std::string> expected(header.axes.size());
    for (size_t a = header.axes.size(); a-- > 0;) {
      expected[a] = header.axes[a].values[rest % header.axes[a].values.size()];
      rest /= header.axes[a].values.size();
    }
    for (size_t a = 0; a < values.size(); ++a) {
      check(values[a] == expected[a], where, ": point ", index, " has ", header.axes[a].field, "=", values[a],
            ", the grid says ", expected[a]);
      p.values.emplace_back(header.axes[a].field, values[a]);
    }
    p.ok = j.at("valid").get<bool>();
    p.hw_name = j.at("hw").get<std::string>();
    if (p.ok) {
      p.cycles = j.at("cycles").get<uint64_t>();
      p.latency_s = number(j, "latency_s");
      p.throughput_samples_per_s = number(j, "throughput_samples_per_s");
      p.energy_j = number(j, "energy_j");
      p.area_mm2 = number(j, "area_mm2");
      // Absent in files written before docs/COST.md's columns: 0, as for a chip without a cost section.
      p.power_w = j.contains("power_w") ? number(j, "power_w") : 0;
      p.cost_usd = j.contains("cost_usd") ? number(j, "cost_usd") : 0;
    } else {
      p.error = j.at("error").get<std::string>();
    }
    return {index, std::move(p)};
  } catch (const json::exception& e) {
    fail(where, ": malformed point (", e.what(), ")");
  }
}

SweepResults parse_sweep_results(const std::string& text, const std::string& name) {
  SweepResults r;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) break;  // a killed writer's last line: ignored
    ++line_no;
    const std::string line = text.substr(pos, end - pos);
    const std::string where = name + ":" + std::to_string(line_no);
    if (!r.header) {
      json j = json::parse(line, nullptr, false);
      check(!j.is_discarded(), where, ": not a wafer sweep results file (the first line is not JSON)");
      try {
        r.header = parse_header(j, where);
      } catch (const json::exception& e) {
        fail(where, ": malformed results header (", e.what(), ")");
      }
    } else {
      auto [index, point] = parse_sweep_point_line(line, *r.header, where);
      r.points.insert_or_assign(index, std::move(point));  // a point run twice: the same result
    }
    pos = end + 1;
    r.complete_bytes = pos;
  }
  return r;
}

SweepResults read_sweep_results(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    check(!std::filesystem::exists(path), path, ": cannot read the sweep results file");
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_sweep_results(text.str(), path);
}

void check_same_sweep(const SweepResultsHeader& found, const SweepResultsHeader& expected, const std::string& name) {
  check(found.fingerprint == expected.fingerprint, name, ": results of another sweep (", found.model, " over ",
        found.hw, ", batch ", found.batch, ", fingerprint ", found.fingerprint, "); this sweep's fingerprint is ",
        expected.fingerprint,
        " (the model, hardware, --set grid, --batch, --precision and --shape must all be the same)");
}

SweepResultsWriter::SweepResultsWriter(const std::string& path, const SweepResultsHeader& header,
                                       const SweepResults* existing)
    : path_(path), fingerprint_(header.fingerprint) {
  const bool keep = existing && existing->header;
  if (keep) {
    check_same_sweep(*existing->header, header, path);
    // Cut off the incomplete line a killed run left, so the next line starts on its own.
    std::error_code ec;
    std::filesystem::resize_file(path, existing->complete_bytes, ec);
    check(!ec, path, ": cannot truncate the sweep results file: ", ec.message());
  }
  file_ = std::fopen(path.c_str(), keep ? "ab" : "wb");
  check(file_ != nullptr, path, ": cannot write the sweep results file: ", std::strerror(errno));
  if (!keep) {
    const std::string line = sweep_results_header_line(header) + "\n";
    check(std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0, path,
          ": cannot write the sweep results file: ", std::strerror(errno));
  }
}

SweepResultsWriter::~SweepResultsWriter() {
  if (file_) std::fclose(file_);
}

void SweepResultsWriter::append(size_t index, const npu::SweepPoint& point) {
  const std::string line = sweep_point_line(fingerprint_, index, point) + "\n";
  // Flushed per point: a run killed at any moment loses at most the point being written.
  check(std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0, path_,
        ": cannot append to the sweep results file: ", std::strerror(errno));
}

}  // namespace wafer::report
