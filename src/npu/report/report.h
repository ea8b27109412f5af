// Reports of a simulated run (SimResult) and of a design-space sweep: a text
// table for the terminal, JSON, CSV, a Chrome-trace timeline and a
// self-contained HTML page with a roofline plot. Every figure carries its unit
// (in the column header, the JSON key, or next to the number).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "npu/sim_result.h"

namespace wafer::report {

// Human units: "1.50 MiB", "3.20 ms", "12.0 mJ".
std::string format_bytes(double bytes);
std::string format_seconds(double s);
std::string format_joules(double j);
// One number printed with a printf format ("%.4g").
std::string format_number(double v, const char* fmt);

// A plain-text table: columns right-aligned to their widest cell. A row shorter than the header (a design
// that failed) ends in a message that is printed as is and does not widen its column.
std::string aligned_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

struct TableOptions {
  int top = 15;      // layers shown, the most expensive first (by cycles)
  bool all = false;  // every layer, in program order
};

// Summary (latency, throughput, energy, area) and the per-layer table.
std::string sim_table(const npu::SimResult& r, const TableOptions& options = {});

// latency_s, cycles, macs, offchip_bytes, energy_j, energy_breakdown_j, area_mm2,
// hw{name, peak_macs_per_s, offchip_bytes_per_s, area_mm2, clock_hz}, layers[...].
nlohmann::json sim_json(const npu::SimResult& r);

// The cost of a deployment (npu/cost_model.h) as JSON keys and as text lines; perf_unit names what
// perf_per_s counts ("samples/s", "tokens/s"). docs/COST.md.
nlohmann::json cost_json(const npu::DeploymentCost& d, const std::string& perf_unit);
std::string cost_text(const npu::DeploymentCost& d, const std::string& perf_unit);

// One row per layer, a header with units; RFC 4180 quoting.
std::string layers_csv(const npu::SimResult& r);

// Chrome trace event format (chrome://tracing, ui.perfetto.dev): one process
// per core, one thread per unit, "X" events with ts/dur in microseconds.
nlohmann::json chrome_trace(const npu::SimResult& r);

// A self-contained HTML page: summary, per-layer table, inline-SVG roofline
// (one <circle class="layer"> per layer with MACs).
std::string html_report(const npu::SimResult& r);

// Text made safe inside HTML elements and quoted attributes (< > & ").
std::string html_escape(const std::string& s);

// Pareto front of points minimised in every coordinate: front[i] is true when
// no other point is at least as good in all coordinates and better in one.
// Identical points do not dominate each other (all are on the front); points
// with a NaN coordinate are never on it and dominate nothing.
std::vector<bool> pareto_front(const std::vector<std::vector<double>>& points);

// "offchip", "global", "scratchpad", "accumulator" (the JSON keys of bytes per level).
std::string level_key(npu::MemLevel m);

// Writes `text` to `path` (creating parent folders); throws wafer::Error on failure.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace wafer::report
