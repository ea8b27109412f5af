// Energy accounting, Pareto fronts, sweep grids and the report formats, on
// hand-built SimResults (no compiler or simulator involved).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "npu/energy.h"
#include "npu/report/report.h"
#include "npu/report/sweep_report.h"
#include "npu/sweep.h"

using namespace wafer;
using namespace wafer::npu;

namespace {

HardwareDesc energy_hw() {
  HardwareDesc hw;
  hw.name = "test-npu";
  hw.clock_hz = 1e9;
  hw.cores = 2;
  hw.matrix.units = 2;
  hw.matrix.macs_per_cycle[DType::Float32] = 64;
  hw.scratchpad.size_bytes = 1 << 20;
  hw.global_buffer = SramSpec{2u << 20, 1, 64};
  hw.energy.mac_pj[DType::Float32] = 2.0;
  hw.energy.vector_op_pj = 0.5;
  hw.energy.scratchpad_pj_per_byte = 1.0;
  hw.energy.global_buffer_pj_per_byte = 3.0;
  hw.energy.offchip_pj_per_byte = 10.0;
  hw.energy.noc_pj_per_byte_hop = 0.25;
  hw.energy.static_w = 2.0;
  hw.matrix.rows = 2;  // 6 PEs x 0.25 mm2 = 1.5 mm2 per matrix unit
  hw.matrix.cols = 3;
  hw.area.matrix_pe_mm2 = 0.25;
  hw.area.vector_unit_mm2 = 0.5;
  hw.area.sram_mm2_per_mib = 0.25;
  hw.area.other_mm2 = 10;
  return hw;
}

LayerStats layer(const std::string& name, int64_t macs, int64_t vec, uint64_t start, uint64_t end) {
  LayerStats l;
  l.name = name;
  l.op_type = macs ? "Conv" : "Relu";
  l.unit = macs ? "matrix" : "vector";
  l.macs = macs;
  l.vector_elements = vec;
  l.start_cycle = start;
  l.end_cycle = end;
  l.bound = macs ? "compute" : "vector";
  return l;
}

// Two layers plus a prologue (500 MACs, 60 off-chip bytes outside every layer).
SimResult energy_result() {
  SimResult r;
  r.model = "m";
  r.hw_name = "test-npu";
  r.precision = DType::Float32;
  r.clock_hz = 1e9;
  r.cycles = 1000;
  r.latency_s = 1e-6;
  LayerStats a = layer("conv", 1000, 0, 0, 300);
  a.bytes[MemLevel::OffChip] = 100;
  a.bytes[MemLevel::Scratchpad] = 200;
  a.bytes[MemLevel::Accumulator] = 50;
  a.noc_byte_hops = 40;
  LayerStats b = layer("relu", 0, 400, 300, 400);
  b.bytes[MemLevel::Scratchpad] = 80;
  b.bytes[MemLevel::GlobalBuffer] = 20;
  r.layers = {a, b};
  r.macs = 1500;
  r.offchip_bytes = 160;
  r.onchip_bytes = 350;
  return r;
}

}  // namespace

TEST(NpuEnergy, ExactComponentSums) {
  HardwareDesc hw = energy_hw();
  SimResult r = energy_result();
  account_energy(r, hw);
  const double pj = 1e-12;
  EXPECT_DOUBLE_EQ(r.energy_breakdown_j.at("mac"), 3000 * pj);        // 1500 MACs x 2 pJ
  EXPECT_DOUBLE_EQ(r.energy_breakdown_j.at("vector"), 200 * pj);      // 400 x 0.5
  EXPECT_DOUBLE_EQ(r.energy_breakdown_j.at("scratchpad"), 330 * pj);  // (200 + 50 + 80) x 1
  EXPECT_DOUBLE_EQ(r.energy_breakdown_j.at("global"), 60 * pj);       // 20 x 3
  EXPECT_DOUBLE_EQ(r.energy_breakdown_j.at("offchip"), 1600 * pj);    // (100 + 60) x 10
  EXPECT_DOUBLE_EQ(r.energy_breakdown_j.at("noc"), 10 * pj);          // 40 x 0.25
  EXPECT_DOUBLE_EQ(r.energy_breakdown_j.at("static"), 2e-6);          // 2 W x 1 us
  EXPECT_NEAR(r.energy_j, 5200 * pj + 2e-6, 1e-18);
  // conv: 2000 + 250 + 1000 + 10 pJ and 300/400 of the static energy.
  EXPECT_NEAR(r.layers[0].energy_j, 3260 * pj + 1.5e-6, 1e-18);
  EXPECT_NEAR(r.layers[1].energy_j, 340 * pj + 0.5e-6, 1e-18);
  // 2 cores x (2 x 1.5 + 0.5) + 4 MiB x 0.25 + 10
  EXPECT_DOUBLE_EQ(r.area_mm2, 18.0);
  EXPECT_DOUBLE_EQ(r.area_mm2, hw.area_mm2());
}

TEST(NpuEnergy, MissingMacEnergyForPrecisionIsAnError) {
  HardwareDesc hw = energy_hw();
  SimResult r = energy_result();
  r.precision = DType::BFloat16;
  EXPECT_THROW(account_energy(r, hw), Error);
  // Without MACs the precision's MAC energy is not needed.
  SimResult v;
  v.precision = DType::BFloat16;
  v.latency_s = 1;
  v.layers = {layer("relu", 0, 10, 0, 5)};
  account_energy(v, hw);
  EXPECT_DOUBLE_EQ(v.energy_j, 2.0 + 5e-12);
}

TEST(NpuPareto, DominanceTiesAndDuplicates) {
  using report::pareto_front;
  EXPECT_EQ(pareto_front({}), std::vector<bool>{});
  EXPECT_EQ(pareto_front({{1, 1, 1}, {2, 2, 2}}), (std::vector<bool>{true, false}));
  EXPECT_EQ(pareto_front({{1, 2, 3}, {1, 2, 3}}), (std::vector<bool>{true, true}));   // duplicates both stay
  EXPECT_EQ(pareto_front({{1, 2, 3}, {1, 2, 4}}), (std::vector<bool>{true, false}));  // tie in two, worse in one
  EXPECT_EQ(pareto_front({{1, 3}, {3, 1}, {2, 2}, {3, 3}}), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(pareto_front({{2, 2}, {2, 2}, {1, 3}, {2, 3}}), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(pareto_front({{NAN, 0}, {5, 5}}), (std::vector<bool>{false, true}));
  EXPECT_THROW(pareto_front({{1, 2}, {1}}), Error);
}

TEST(NpuSweep, ParseAxes) {
  auto axes = parse_sweep_axes({"cores.matrix.rows=16,32", "clock=1 GHz"});
  ASSERT_EQ(axes.size(), 2u);
  EXPECT_EQ(axes[0].field, "cores.matrix.rows");
  EXPECT_EQ(axes[0].values, (std::vector<std::string>{"16", "32"}));
  EXPECT_EQ(axes[1].values, (std::vector<std::string>{"1 GHz"}));
  EXPECT_THROW(parse_sweep_axes({"rows"}), Error);
  EXPECT_THROW(parse_sweep_axes({"=1,2"}), Error);
  EXPECT_THROW(parse_sweep_axes({"a="}), Error);
  EXPECT_THROW(parse_sweep_axes({"a=1,,2"}), Error);
  EXPECT_THROW(parse_sweep_axes({"a=1,"}), Error);
  EXPECT_THROW(parse_sweep_axes({"a=1", "a=2"}), Error);
}

TEST(NpuSweep, GridIsCartesianInOdometerOrder) {
  auto grid = expand_grid(parse_sweep_axes({"a=1,2", "b=x,y,z"}));
  ASSERT_EQ(grid.size(), 6u);
  std::vector<std::string> seen;
  for (const auto& p : grid) {
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].first, "a");
    EXPECT_EQ(p[1].first, "b");
    seen.push_back(p[0].second + p[1].second);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1x", "1y", "1z", "2x", "2y", "2z"}));
  EXPECT_EQ(expand_grid(parse_sweep_axes({"a=1,2", "b=1,2,3", "c=1,2,3,4"})).size(), 24u);
  auto none = expand_grid({});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_TRUE(none[0].empty());
  EXPECT_THROW(expand_grid(parse_sweep_axes({"a=1,2,3", "b=1,2,3"}), 8), Error);
  EXPECT_THROW(expand_grid({SweepAxis{"a", {}}}), Error);
}

TEST(NpuSweep, InvalidPointsAreReportedNotFatal) {
  int evaluated = 0;
  auto fake = [&](const HardwareDesc& hw) {
    ++evaluated;
    if (hw.matrix.rows == 8) throw Error("layer conv: tile does not fit");
    SimResult r;
    r.latency_s = 1.0 / hw.matrix.rows;  // bigger array: faster ...
    r.energy_j = hw.matrix.rows;         // ... but costlier
    r.area_mm2 = hw.area_mm2();
    r.cycles = 100;
    return r;
  };
  std::vector<std::pair<size_t, size_t>> progress;
  auto axes = parse_sweep_axes({"cores.matrix.rows=16,0,abc,64,8"});
  auto points = run_sweep("edge-npu", axes, fake, [&](size_t i, size_t n) { progress.push_back({i, n}); });
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(evaluated, 3);  // 0 and abc fail validation before evaluation
  EXPECT_EQ(progress.front(), (std::pair<size_t, size_t>{1, 5}));
  EXPECT_EQ(progress.back(), (std::pair<size_t, size_t>{5, 5}));
  EXPECT_TRUE(points[0].ok);
  EXPECT_FALSE(points[1].ok);
  EXPECT_NE(points[1].error.find("cores.matrix.rows"), std::string::npos) << points[1].error;
  EXPECT_FALSE(points[2].ok);
  EXPECT_FALSE(points[2].error.empty());
  EXPECT_TRUE(points[3].ok);
  EXPECT_FALSE(points[4].ok);
  EXPECT_NE(points[4].error.find("tile does not fit"), std::string::npos);
  // 64 rows: faster, more energy, more area; 16 rows: slower, less of both. Both on the front.
  EXPECT_GT(points[3].area_mm2, 0);
  EXPECT_TRUE(points[0].pareto);
  EXPECT_TRUE(points[3].pareto);
  for (int i : {1, 2, 4}) EXPECT_FALSE(points[size_t(i)].pareto);

  std::string csv = report::sweep_csv(axes, points);
  std::istringstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header,
            "index,cores.matrix.rows,valid,hw,cycles,latency_s,throughput_samples_per_s,energy_j,area_mm2,"
            "power_w,perf_per_w,cost_usd,perf_per_usd,pareto,error");
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  EXPECT_GE(rows, 5);  // error messages may quote newlines
  EXPECT_NE(csv.find("\n1,16,1,edge-npu,100,0.0625,"), std::string::npos) << csv;
  nlohmann::json j = report::sweep_json(axes, points);
  ASSERT_EQ(j["points"].size(), 5u);
  EXPECT_EQ(j["points"][0]["values"]["cores.matrix.rows"], "16");
  EXPECT_EQ(j["points"][0]["pareto"], true);
  EXPECT_EQ(j["points"][1]["valid"], false);
  EXPECT_TRUE(j["points"][1].contains("error"));
  std::string table = report::sweep_table(axes, points);
  EXPECT_NE(table.find("invalid: "), std::string::npos);
  EXPECT_NE(table.find("2 Pareto-optimal"), std::string::npos) << table;
}

TEST(NpuReport, ChromeTraceIsValidJsonWithEvents) {
  SimResult r = energy_result();
  r.trace = {{"conv matmul [0:64]", "matrix", 0, 0, 1000, 1500},
             {"conv load weights", "dma", 0, 0, 0, 1000},
             {"relu vector", "vector", 1, 1, 1500, 1600}};
  std::string text = report::chrome_trace(r).dump();
  nlohmann::json j = nlohmann::json::parse(text);  // throws if invalid
  int x = 0, thread_names = 0, process_names = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "X") {
      ++x;
      if (e["name"] == "conv matmul [0:64]") {
        EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 1.0);  // 1000 cycles at 1 GHz = 1 us
        EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 0.5);
        EXPECT_EQ(e["pid"], 0);
        EXPECT_EQ(e["args"]["layer"], "conv");
      }
      if (e["name"] == "relu vector") {
        EXPECT_EQ(e["pid"], 1);
      }
    }
    if (e["ph"] == "M" && e["name"] == "thread_name") ++thread_names;
    if (e["ph"] == "M" && e["name"] == "process_name") ++process_names;
  }
  EXPECT_EQ(x, 3);
  EXPECT_EQ(thread_names, 3);   // (core 0, matrix), (core 0, dma), (core 1, vector)
  EXPECT_EQ(process_names, 2);  // cores 0 and 1
}

TEST(NpuReport, HtmlHasRooflineWithOneDotPerLayerWithMacs) {
  SimResult r = energy_result();
  r.peak_macs_per_s = 1e12;
  r.offchip_bytes_per_s = 1e10;
  LayerStats c = layer("fc<1>", 5000, 0, 400, 900);
  c.bytes[MemLevel::OffChip] = 0;  // all on chip: drawn at the right edge
  r.layers.push_back(c);
  account_energy(r, energy_hw());
  std::string html = report::html_report(r);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg id=\"roofline\""), std::string::npos);
  EXPECT_NE(html.find("class=\"roof\""), std::string::npos);
  size_t dots = 0;
  for (size_t pos = html.find("<circle class=\"layer\""); pos != std::string::npos;
       pos = html.find("<circle class=\"layer\"", pos + 1))
    ++dots;
  EXPECT_EQ(dots, 2u);  // conv and fc; relu does no MACs
  EXPECT_NE(html.find("fc&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(html.find("fc<1>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, static
}

TEST(NpuReport, JsonAndCsvFormats) {
  SimResult r = energy_result();
  r.peak_macs_per_s = 2.56e11;
  r.offchip_bytes_per_s = 1e10;
  r.throughput_samples_per_s = 1e6;
  r.layers[0].name = "conv,\"a\"";
  account_energy(r, energy_hw());
  nlohmann::json j = nlohmann::json::parse(report::sim_json(r).dump());
  EXPECT_DOUBLE_EQ(j["latency_s"].get<double>(), 1e-6);
  EXPECT_EQ(j["cycles"], 1000);
  EXPECT_EQ(j["macs"], 1500);
  EXPECT_EQ(j["offchip_bytes"], 160);
  EXPECT_DOUBLE_EQ(j["energy_j"].get<double>(), r.energy_j);
  EXPECT_EQ(j["hw"]["name"], "test-npu");
  EXPECT_DOUBLE_EQ(j["hw"]["peak_macs_per_s"].get<double>(), 2.56e11);
  EXPECT_DOUBLE_EQ(j["hw"]["offchip_bytes_per_s"].get<double>(), 1e10);
  EXPECT_DOUBLE_EQ(j["hw"]["area_mm2"].get<double>(), 18.0);
  ASSERT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][0]["cycles"], 300);
  EXPECT_EQ(j["layers"][0]["bytes"]["offchip"], 100);
  EXPECT_EQ(j["layers"][0]["bytes"]["accumulator"], 50);
  EXPECT_EQ(j["layers"][1]["bytes"]["global"], 20);

  std::string csv = report::layers_csv(r);
  std::istringstream in(csv);
  std::string header, row0, row1, extra;
  std::getline(in, header);
  std::getline(in, row0);
  std::getline(in, row1);
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_EQ(header.rfind("index,name,op_type,unit,macs,", 0), 0u);
  EXPECT_EQ(row0.rfind("0,\"conv,\"\"a\"\"\",Conv,matrix,1000,0,0,300,300,", 0), 0u) << row0;
  EXPECT_EQ(row1.rfind("1,relu,Relu,vector,0,400,300,400,100,", 0), 0u) << row1;
}

TEST(NpuReport, TableShowsUnitsAndTopLayers) {
  SimResult r = energy_result();
  r.layers.push_back(layer("tiny", 0, 1, 400, 401));
  account_energy(r, energy_hw());
  report::TableOptions top2;
  top2.top = 2;
  std::string t = report::sim_table(r, top2);
  for (const char* s : {" ms", "samples/s", "mJ", "mJ/sample", "mm2", "cycles", "matrix %", "off-chip", "bound"})
    EXPECT_NE(t.find(s), std::string::npos) << s << "\n" << t;
  EXPECT_NE(t.find("conv"), std::string::npos);
  EXPECT_NE(t.find("relu"), std::string::npos);
  EXPECT_EQ(t.find("tiny"), std::string::npos);
  report::TableOptions all;
  all.all = true;
  EXPECT_NE(report::sim_table(r, all).find("tiny"), std::string::npos);
}

TEST(NpuReport, Units) {
  EXPECT_EQ(report::format_bytes(512), "512 B");
  EXPECT_EQ(report::format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(report::format_bytes(3 << 20), "3.00 MiB");
  EXPECT_EQ(report::format_seconds(2.5e-3), "2.500 ms");
  EXPECT_EQ(report::format_seconds(2.5e-6), "2.50 us");
  EXPECT_EQ(report::format_joules(1.2e-3), "1.200 mJ");
}
