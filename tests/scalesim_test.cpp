// SCALE-Sim v2 compatibility: goldens from its CI, hand-derived fold arithmetic, parsers and errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>

#include "core/error.h"
#include "npu/scalesim/config.h"
#include "npu/scalesim/parse_util.h"
#include "npu/scalesim/report.h"
#include "npu/scalesim/timing.h"
#include "npu/scalesim/topology.h"

using namespace wafer::scalesim;

namespace {

const std::string kData = std::string(WAFER_TEST_DATA_DIR) + "/scalesim/";

Config array_cfg(int64_t rows, int64_t cols, Dataflow df) {
  Config c;
  c.array_height = rows;
  c.array_width = cols;
  c.dataflow = df;
  return c;
}

Layer gemm(int64_t m, int64_t n, int64_t k) {
  auto layers = parse_topology_text(
      "Layer, M, N, K,\nG, " + std::to_string(m) + ", " + std::to_string(n) + ", " + std::to_string(k) + ",\n",
      "inline", TopologyKind::kGemm);
  return layers.at(0);
}

std::string error_of(auto fn) {
  try {
    fn();
  } catch (const wafer::Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

// SCALE-Sim v2's CI golden (test/golden_trace/COMPUTE_REPORT.csv): AlexNet conv1, 32x32 ws, CALC.
TEST(ScaleSim, AlexNetConv1GoldenIsExact) {
  Config cfg = parse_config_file(kData + "alexnet_ws_calc.cfg");
  auto layers = parse_topology_file(kData + "alexnet_part.csv", TopologyKind::kConv);
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].ofmap_h(), 55);  // SCALE-Sim rounds (224 - 11 + 4) / 4 up
  LayerResult r = simulate_layer(cfg, layers[0]);
  EXPECT_EQ(r.total_cycles, 112283);
  EXPECT_EQ(r.stall_cycles, 0);
  EXPECT_EQ(compute_report({r}), read_text_file(kData + "golden_alexnet_ws_COMPUTE_REPORT.csv"));
  // Python >= 3.12's compensated sum() moves the last digits of the averaged compute utilisation.
  cfg.compensated_sum = true;
  EXPECT_EQ(python_float(simulate_layer(cfg, layers[0]).compute_util), "90.78000992063492");
  // SRAM traffic and the BANDWIDTH_REPORT SRAM columns of its golden (test/general/golden_trace).
  EXPECT_EQ(r.ifmap_sram_reads, 3294225);
  EXPECT_EQ(r.filter_sram_reads, 34848);
  EXPECT_EQ(r.ofmap_sram_writes, 3484800);
  std::string bw = bandwidth_report({r});
  EXPECT_NE(bw.find("0, 29.338590881967885, 0.31035864734643714, 31.035864734643713,"), std::string::npos) << bw;
  EXPECT_EQ(r.ifmap_sram_start, 33.0);
  EXPECT_EQ(r.filter_sram_start, 1.0);
  EXPECT_EQ(r.ofmap_sram_start, 63.0);
  EXPECT_EQ(r.ofmap_sram_stop, 112283.0);
}

// One fold, hand-derived: os streams T = K rows plus R + C - 2 fill/drain rows.
TEST(ScaleSim, SingleFoldGemmByHand) {
  Layer g = gemm(4, 4, 8);  // M=4 N=4 K=8
  LayerResult os = simulate_layer(array_cfg(4, 4, Dataflow::kOS), g);
  EXPECT_EQ(os.row_folds * os.col_folds, 1);
  EXPECT_EQ(os.total_cycles, 8 + 4 + 4 - 2 - 1);  // 13: the last demand row's cycle
  EXPECT_DOUBLE_EQ(os.mapping_eff, 100.0);
  EXPECT_DOUBLE_EQ(os.compute_util, 8.0 / 14.0 * 100);
  EXPECT_DOUBLE_EQ(os.overall_util, 128.0 * 100 / (13 * 16));
  EXPECT_EQ(os.ifmap_sram_reads, 32);
  EXPECT_EQ(os.filter_sram_reads, 32);
  EXPECT_EQ(os.ofmap_sram_writes, 16 + 8);  // plus SCALE-Sim's per-fold (R + C) counter quirk

  // ws on an 8x4 array: K=8 rows hold the weights, T = M = 4; R + T + (C-1) + skew (R-1) + R weight rows.
  LayerResult ws = simulate_layer(array_cfg(8, 4, Dataflow::kWS), g);
  EXPECT_EQ(ws.total_cycles, 4 + 2 * 8 + 4 - 2 - 1);                            // 21
  EXPECT_DOUBLE_EQ(ws.compute_util, 32.0 * 4 / (32 * (4 + 16 + 8 - 3)) * 100);  // 16 %
  EXPECT_EQ(ws.ifmap_sram_reads, 32);
  EXPECT_EQ(ws.filter_sram_reads, 32);
  EXPECT_EQ(ws.ofmap_sram_writes, 16);

  // is: the ifmap (K x M) is held, the N filters stream.
  LayerResult is = simulate_layer(array_cfg(8, 4, Dataflow::kIS), g);
  EXPECT_EQ(is.total_cycles, 21);
  EXPECT_EQ(is.ifmap_sram_reads, 32);
  EXPECT_EQ(is.filter_sram_reads, 32);
}

// Partial folds: mapping efficiency averages per-fold occupancy.
TEST(ScaleSim, PartialFoldsAverage) {
  Layer g = gemm(40, 8, 16);  // os: Sr = 40 over 32 rows -> folds of 32 and 8 rows
  LayerResult r = simulate_layer(array_cfg(32, 8, Dataflow::kOS), g);
  EXPECT_EQ(r.row_folds, 2);
  EXPECT_EQ(r.col_folds, 1);
  EXPECT_DOUBLE_EQ(r.mapping_eff, (1.0 + 0.25) / 2 * 100);
  EXPECT_EQ(r.total_cycles, 2 * (16 + 32 + 8 - 2) - 1);
}

// SCALE-Sim's USER-bandwidth goldens (test/general/golden_trace_user_{os,ws,is}): GEMM 256x128x256,
// 32x32, 64 kB buffers, 10 words/cycle. Stall-free cycles and utilisations are exact; os and ws stalls are
// exact too, is stalls are within 5 % (see docs/SCALESIM.md).
TEST(ScaleSim, UserBandwidthGoldens) {
  struct Case {
    const char* cfg;
    int64_t total, stalls;
    double compute_util;
  } cases[] = {{"user_os.cfg", 52447, 42272, 80.50314465408806},
               {"user_ws.cfg", 52447, 41248, 67.19160104986877},
               {"user_is.cfg", 19984, 5777, 50.59288537549407}};
  auto layers = parse_topology_file(kData + "test_mnk_input.csv", TopologyKind::kGemm);
  for (const Case& c : cases) {
    Config cfg = parse_config_file(kData + c.cfg);
    cfg.compensated_sum = true;  // these goldens were produced by a Python with sum() compensation (>= 3.12)
    ASSERT_TRUE(cfg.user_bandwidth);
    LayerResult r = simulate_layer(cfg, layers[0]);
    EXPECT_EQ(r.total_cycles - r.stall_cycles, c.total - c.stalls) << c.cfg;
    EXPECT_EQ(python_float(r.compute_util), python_float(c.compute_util)) << c.cfg;
    EXPECT_DOUBLE_EQ(r.mapping_eff, 100.0) << c.cfg;
    EXPECT_NEAR(static_cast<double>(r.stall_cycles), static_cast<double>(c.stalls), 0.05 * c.stalls) << c.cfg;
    EXPECT_NEAR(static_cast<double>(r.total_cycles), static_cast<double>(c.total), 0.02 * c.total) << c.cfg;
    std::printf("  %s: total %lld (SCALE-Sim %lld), stalls %lld (SCALE-Sim %lld)\n", c.cfg,
                static_cast<long long>(r.total_cycles), static_cast<long long>(c.total),
                static_cast<long long>(r.stall_cycles), static_cast<long long>(c.stalls));
  }
}

TEST(ScaleSim, GemmTopologyMapsToConv) {
  auto layers = parse_topology_file(kData + "test_mnk_input.csv", TopologyKind::kGemm);
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].name, "Test 1");
  EXPECT_EQ(layers[0].ofmap_pixels(), 256);  // M
  EXPECT_EQ(layers[0].num_filters, 128);     // N
  EXPECT_EQ(layers[0].window(), 256);        // K
  EXPECT_EQ(layers[0].macs(), 256 * 128 * 256);
}

TEST(ScaleSim, DepthwiseLayersSplitPerChannel) {
  auto layers = parse_topology_text(
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
      "Conv_DP1, 10, 10, 3, 3, 4, 1, 1,\nPlain, 10, 10, 3, 3, 4, 2, 1,\n",
      "dw.csv", TopologyKind::kConv);
  ASSERT_EQ(layers.size(), 5u);
  EXPECT_EQ(layers[0].name, "Conv_DP1Channel_0");
  EXPECT_EQ(layers[3].name, "Conv_DP1Channel_3");
  EXPECT_EQ(layers[3].channels, 1);
  EXPECT_EQ(layers[3].window(), 9);
  EXPECT_EQ(layers[4].channels, 4);
}

// SCALE-Sim's model is not monotone in array size: per-fold fill/drain grows with the array, so a layer
// that already fits in one fold gets slower on a bigger array. Large layers do get faster.
TEST(ScaleSim, ArraySizeMonotonicity) {
  Layer small = gemm(16, 16, 16);  // one fold on either array
  for (Dataflow df : {Dataflow::kOS, Dataflow::kWS, Dataflow::kIS}) {
    int64_t c32 = simulate_layer(array_cfg(32, 32, df), small).total_cycles;
    int64_t c64 = simulate_layer(array_cfg(64, 64, df), small).total_cycles;
    EXPECT_GT(c64, c32) << dataflow_name(df);
  }
  Layer big = gemm(3136, 256, 576);
  for (Dataflow df : {Dataflow::kOS, Dataflow::kWS, Dataflow::kIS}) {
    int64_t prev = INT64_MAX;
    for (int64_t n : {8, 16, 32, 64, 128}) {
      int64_t c = simulate_layer(array_cfg(n, n, df), big).total_cycles;
      EXPECT_LT(c, prev) << dataflow_name(df) << " " << n;
      prev = c;
    }
  }
}

TEST(ScaleSim, PythonFloatRepr) {
  EXPECT_EQ(python_float(100.0), "100.0");
  EXPECT_EQ(python_float(94.53125), "94.53125");
  EXPECT_EQ(python_float(0.1), "0.1");
  EXPECT_EQ(python_float(1e-05), "1e-05");
  EXPECT_EQ(python_float(0.0001), "0.0001");
  EXPECT_EQ(python_float(1e16), "1e+16");
  EXPECT_EQ(python_float(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(python_float(-2.5), "-2.5");
  EXPECT_EQ(python_float(0.0), "0.0");
}

TEST(ScaleSim, BadConfigNamesFileLineAndField) {
  std::string e =
      error_of([] { parse_config_text("[architecture_presets]\nArrayHeight: 32\nArrayWidth: x32\n", "bad.cfg"); });
  EXPECT_NE(e.find("bad.cfg:3"), std::string::npos) << e;
  EXPECT_NE(e.find("arraywidth"), std::string::npos) << e;
  e = error_of([] { parse_config_text("[architecture_presets]\nArrayHeight: 0\nArrayWidth: 4\n", "z.cfg"); });
  EXPECT_NE(e.find("z.cfg:2"), std::string::npos) << e;
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;
  e = error_of(
      [] { parse_config_text("[architecture_presets]\nArrayHeight: 4\nArrayWidth: 4\nDataflow : xs\n", "d.cfg"); });
  EXPECT_NE(e.find("d.cfg:4"), std::string::npos) << e;
  EXPECT_NE(e.find("dataflow"), std::string::npos) << e;
  e = error_of([] { parse_config_text("[run_presets]\nInterfaceBandwidth: FAST\n", "r.cfg"); });
  EXPECT_NE(e.find("r.cfg:2"), std::string::npos) << e;
  e = error_of([] { parse_config_text("[general]\nrun_name = x\n", "empty.cfg"); });
  EXPECT_NE(e.find("ArrayHeight"), std::string::npos) << e;
  e = error_of([] { parse_config_file(kData + "does_not_exist.cfg"); });
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
}

TEST(ScaleSim, BadTopologyNamesFileLineAndField) {
  const std::string hdr =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,\n";
  std::string e = error_of([&] {
    parse_topology_text(hdr + "a, 8, 8, 3, 3, 1, 4, 1,\nb, 8, 8, 3, three, 1, 4, 1,\n", "t.csv", TopologyKind::kConv);
  });
  EXPECT_NE(e.find("t.csv:3"), std::string::npos) << e;
  EXPECT_NE(e.find("Filter Width"), std::string::npos) << e;
  e = error_of([&] { parse_topology_text(hdr + "a, 8, 8, 3,\n", "short.csv", TopologyKind::kConv); });
  EXPECT_NE(e.find("short.csv:2"), std::string::npos) << e;
  e = error_of([&] { parse_topology_text(hdr + "a, 2, 8, 3, 3, 1, 4, 1,\n", "f.csv", TopologyKind::kConv); });
  EXPECT_NE(e.find("Filter Height"), std::string::npos) << e;
  e = error_of([&] { parse_topology_text(hdr + "a, 8, 8, 3, 3, 1, 4, 0,\n", "s.csv", TopologyKind::kConv); });
  EXPECT_NE(e.find("Strides"), std::string::npos) << e;
  e = error_of([] { parse_topology_text("Layer, M, N, K,\ng, 4, -1, 2,\n", "g.csv", TopologyKind::kGemm); });
  EXPECT_NE(e.find("g.csv:2"), std::string::npos) << e;
  EXPECT_NE(e.find("'N'"), std::string::npos) << e;
  e = error_of([] {
    parse_topology_text("Layer, M, N, K,\nhuge, 16000000, 16000000, 16000000,\n", "big.csv", TopologyKind::kGemm);
  });
  EXPECT_NE(e.find("big.csv:2"), std::string::npos) << e;
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
  e = error_of([&] { parse_topology_text(hdr, "h.csv", TopologyKind::kConv); });
  EXPECT_NE(e.find("no layers"), std::string::npos) << e;
}

// The whole of ResNet-50 (53 convolutions + fc) in all three dataflows, USER bandwidth included.
TEST(ScaleSim, ResNet50IsFast) {
  auto layers = parse_topology_file(kData + "resnet50.csv", TopologyKind::kConv);
  ASSERT_EQ(layers.size(), 54u);
  auto t0 = std::chrono::steady_clock::now();
  for (bool user : {false, true}) {
    for (Dataflow df : {Dataflow::kOS, Dataflow::kWS, Dataflow::kIS}) {
      Config cfg = array_cfg(32, 32, df);
      cfg.user_bandwidth = user;
      for (const Layer& l : layers) {
        LayerResult r = simulate_layer(cfg, l);
        EXPECT_GT(r.total_cycles, 0);
        EXPECT_LE(r.overall_util, 100.0);
        EXPECT_GE(r.stall_cycles, 0);
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 5.0);
}
