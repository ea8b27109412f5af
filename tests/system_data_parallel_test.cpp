// A non-LLM model on a system of chips (api/simulate.h, harness/device_sut.h): data parallel, one copy of the
// model per chip. The system's numbers follow from one chip's by the chip count, exactly.
#include <gtest/gtest.h>

#include "api/compile.h"
#include "api/simulate.h"
#include "api/system_sweep.h"
#include "backends/backend.h"
#include "core/error.h"
#include "frontend/onnx/importer.h"
#include "graph_test_util.h"

namespace wafer::api {
namespace {

SimRun sim(const std::string& hw, int batch) {
  SimOptions o;
  o.m.model = std::string(WAFER_SOURCE_DIR) + "/models/resnet20";
  o.m.batch = batch;
  o.hw.preset_or_path = hw;
  return simulate(o, false);
}

TEST(SystemDataParallel, EightChipsRunEightShares) {
  const npu::SimResult one = sim("h100", 8).result, all = sim("dgx-h100", 64).result;
  EXPECT_EQ(all.chips, 8);
  EXPECT_EQ(all.batch, 64);
  EXPECT_DOUBLE_EQ(all.latency_s, one.latency_s);  // each chip runs 8 samples
  EXPECT_DOUBLE_EQ(all.throughput_samples_per_s, 8 * one.throughput_samples_per_s);
  EXPECT_DOUBLE_EQ(all.energy_j, 8 * one.energy_j);
  EXPECT_EQ(all.macs, 8 * one.macs);
  EXPECT_DOUBLE_EQ(all.peak_macs_per_s, 8 * one.peak_macs_per_s);
  EXPECT_NE(all.hw_name.find("dgx-h100"), std::string::npos) << all.hw_name;
}

TEST(SystemDataParallel, ASmallBatchUsesOnlyTheChipsItFills) {
  // 10 samples on 8 chips: shares of 2 on 5 chips; 1 sample: one chip, as fast as the chip alone.
  const npu::SimResult ten = sim("dgx-h100", 10).result, two = sim("h100", 2).result;
  EXPECT_EQ(ten.chips, 5);
  EXPECT_EQ(ten.batch, 10);
  EXPECT_DOUBLE_EQ(ten.throughput_samples_per_s, 5 * two.throughput_samples_per_s);
  const npu::SimResult single = sim("dgx-h100", 1).result;
  EXPECT_EQ(single.chips, 1);
  EXPECT_DOUBLE_EQ(single.latency_s, sim("h100", 1).result.latency_s);
}

// `wafer compile MODEL --hw SYSTEM`: every chip runs the same program, one chip's for its share of the batch.
TEST(SystemDataParallel, CompilingForASystemIsOneChipsProgramForItsShare) {
  auto compiled = [](const std::string& hw, int batch) {
    CompileOptions o;
    o.m.model = std::string(WAFER_SOURCE_DIR) + "/models/resnet20";
    o.m.batch = batch;
    o.hw.preset_or_path = hw;
    return compile(o);
  };
  const CompileRun all = compiled("dgx-h100", 64), one = compiled("h100", 8);
  EXPECT_EQ(all.program.batch, 8);
  EXPECT_EQ(all.program.instrs.size(), one.program.instrs.size());
  EXPECT_NE(all.hw_name.find("8 x h100"), std::string::npos) << all.hw_name;
}

// `wafer run MODEL --backend npu:SYSTEM`: a functional run on one of the system's chips, the chip's result.
TEST(SystemDataParallel, AFunctionalRunOnASystemIsItsChipsRun) {
  const Model model = import_onnx_file(std::string(WAFER_SOURCE_DIR) + "/models/resnet20/model.onnx");
  const Tensor x = test::random_tensor({1, 3, 32, 32}, 5);
  auto run_on_npu = [&](const std::string& hw) {
    wafer::CompileOptions o;
    o.hardware = hw;
    return make_backend("npu")->compile(*model.graph, o)->run({x}).at(0);
  };
  const Tensor system = run_on_npu("dgx-h100"), chip = run_on_npu("h100");
  ASSERT_EQ(system.numel(), chip.numel());
  for (int64_t i = 0; i < chip.numel(); ++i) EXPECT_EQ(system.data<float>()[i], chip.data<float>()[i]) << i;
}

// `wafer sweep MODEL --hw SYSTEM --set count=...`: each point is `wafer sim` on that system. With a batch
// each count divides, the totals are the chip's by the count and the latency the chip's at its share; the
// cost is count chips plus the network. A split axis is an error: the model is not an LLM.
TEST(SystemDataParallel, ASweepOverTheChipCountIsEachCountsSimulation) {
  SweepOptions o;
  o.m.model = std::string(WAFER_SOURCE_DIR) + "/models/resnet20";
  o.m.batch = 8;
  o.hw.preset_or_path = "dgx-h100";
  o.sets = {"count=1,2,8"};
  const SweepRun run = sweep_system_model(o);
  ASSERT_EQ(run.points.size(), 3u);
  const int counts[] = {1, 2, 8};
  for (size_t i = 0; i < 3; ++i) {
    const npu::SweepPoint& p = run.points[i];
    ASSERT_TRUE(p.ok) << p.error;
    const int k = counts[i];
    const npu::SimResult chip = sim("h100", 8 / k).result;
    EXPECT_DOUBLE_EQ(p.latency_s, chip.latency_s) << k;
    EXPECT_DOUBLE_EQ(p.throughput_samples_per_s, k * chip.throughput_samples_per_s) << k;
    EXPECT_DOUBLE_EQ(p.energy_j, k * chip.energy_j) << k;
    ASSERT_TRUE(chip.cost.has_value());
    EXPECT_DOUBLE_EQ(p.cost_usd, k * chip.cost->capex_usd + sim("dgx-h100", 8).result.network_usd) << k;
  }
  o.sets = {"tp=2"};
  EXPECT_NE(test::error_of([&] { sweep_system_model(o); }).find("not an LLM architecture"), std::string::npos);
}

}  // namespace
}  // namespace wafer::api
