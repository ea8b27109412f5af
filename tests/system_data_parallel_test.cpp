// A non-LLM model on a system of chips (api/simulate.h, harness/device_sut.h): data parallel, one copy of the
// model per chip. The system's numbers follow from one chip's by the chip count, exactly.
#include <gtest/gtest.h>

#include "api/simulate.h"

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

}  // namespace
}  // namespace wafer::api
