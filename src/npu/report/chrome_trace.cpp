// Chrome trace event format (the JSON object form), readable by
// chrome://tracing and ui.perfetto.dev: pid = core, tid = unit, complete
// ("X") events with ts/dur in microseconds at the hardware clock, plus
// metadata events that name the processes and threads.
#include <set>

#include "npu/report/report.h"

namespace wafer::report {

namespace {
int unit_tid(const std::string& unit) {
  if (unit == "matrix") return 0;
  if (unit == "vector") return 1;
  if (unit == "dma") return 2;
  if (unit == "noc") return 3;
  return 4;
}
}  // namespace

nlohmann::json chrome_trace(const npu::SimResult& r) {
  // cycles x 1e6 / clock: exact for whole-MHz clocks where cycles / clock x 1e6 rounds.
  auto us = [&](uint64_t cycles) { return r.clock_hz > 0 ? double(cycles) * 1e6 / r.clock_hz : 0.0; };
  nlohmann::json events = nlohmann::json::array();
  std::set<int> cores;
  std::set<std::pair<int, std::string>> threads;
  for (const auto& e : r.trace) {
    cores.insert(e.core);
    threads.insert({e.core, e.unit});
  }
  for (int c : cores) {
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", c},
                      {"tid", 0},
                      {"args", {{"name", "core " + std::to_string(c)}}}});
    events.push_back(
        {{"name", "process_sort_index"}, {"ph", "M"}, {"pid", c}, {"tid", 0}, {"args", {{"sort_index", c}}}});
  }
  for (const auto& [c, unit] : threads) {
    events.push_back(
        {{"name", "thread_name"}, {"ph", "M"}, {"pid", c}, {"tid", unit_tid(unit)}, {"args", {{"name", unit}}}});
  }
  for (const auto& e : r.trace) {
    uint64_t dur = e.end > e.start ? e.end - e.start : 0;
    nlohmann::json args = {{"start_cycle", e.start}, {"cycles", dur}};
    if (e.layer >= 0 && size_t(e.layer) < r.layers.size()) args["layer"] = r.layers[size_t(e.layer)].name;
    events.push_back({{"name", e.name},
                      {"cat", e.unit},
                      {"ph", "X"},
                      {"pid", e.core},
                      {"tid", unit_tid(e.unit)},
                      {"ts", us(e.start)},
                      {"dur", us(dur)},
                      {"args", args}});
  }
  return {{"traceEvents", events},
          {"displayTimeUnit", "ns"},
          {"otherData", {{"model", r.model}, {"hw", r.hw_name}, {"clock_hz", r.clock_hz}, {"cycles", r.cycles}}}};
}

}  // namespace wafer::report
