#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "npu/hardware.h"

namespace wafer::npu {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::string& yaml, std::vector<std::pair<std::string, std::string>> overrides = {}) {
  try {
    parse_hardware(yaml, "test.yaml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

const char* kMinimal = R"(
name: tiny
clock: 1 GHz
cores:
  count: 4
  arrangement: [2, 2]
  matrix: {rows: 8, cols: 8, dataflow: ws, macs_per_pe: {int8: 1, bf16: 1}}
  vector: {lanes: 8, cycles_per_element: {add: 1, mul: 1, exp: 4, div: 8, reduce: 1}}
  scratchpad: {size: 256 KiB, bytes_per_cycle: 64}
offchip: {kind: LPDDR4, bandwidth: 12.8 GB/s, latency: 100 ns, capacity: 1 GiB}
noc: {topology: mesh, bytes_per_cycle_per_link: 16}
energy: {mac_pj: {int8: 0.2, bf16: 1.0}, vector_op_pj: 0.5, scratchpad_pj_per_byte: 1, offchip_pj_per_byte: 40}
area: {matrix_pe_mm2: 0.0015625, vector_unit_mm2: 0.05, sram_mm2_per_mib: 1}
)";

TEST(Hardware, ParsesUnitsAndDerivesPeaks) {
  HardwareDesc hw = parse_hardware(kMinimal, "test.yaml");
  EXPECT_EQ(hw.cores, 4);
  EXPECT_EQ(hw.noc.rows, 2);
  EXPECT_EQ(hw.scratchpad.size_bytes, 256u * 1024);
  EXPECT_DOUBLE_EQ(hw.offchip_bytes_per_s(), 12.8e9);
  EXPECT_DOUBLE_EQ(hw.offchip->latency_s, 100e-9);
  EXPECT_DOUBLE_EQ(hw.peak_macs_per_s(DType::Int8), 4 * 64 * 1e9);
  EXPECT_EQ(hw.peak_macs_per_s(DType::Float32), 0.0);
  EXPECT_EQ(hw.on_chip_bytes(), 4u * 256 * 1024);
  EXPECT_NEAR(hw.area_mm2(), 4 * 0.15 + 1.0, 1e-12);
}

TEST(Hardware, ErrorsNameTheFieldPath) {
  EXPECT_THAT(error_of(kMinimal, {{"cores.matrix.rows", "-3"}}),
              HasSubstr("test.yaml: cores.matrix.rows: must be at least 1"));
  EXPECT_THAT(error_of(kMinimal, {{"cores.count", "5"}}),
              HasSubstr("cores.arrangement: 2 x 2 does not equal cores.count 5"));
  EXPECT_THAT(error_of(kMinimal, {{"cores.matrix.dataflow", "diagonal"}}), HasSubstr("cores.matrix.dataflow"));
  EXPECT_THAT(error_of(kMinimal, {{"cores.matrix.martix", "1"}}), HasSubstr("cores.matrix.martix: unknown field"));
  EXPECT_THAT(error_of(kMinimal, {{"offchip.bandwidth", "12 parsecs"}}), HasSubstr("offchip.bandwidth: unknown unit"));
  EXPECT_THAT(error_of(kMinimal, {{"energy.mac_pj.bf16", "-1"}}), HasSubstr("energy.mac_pj.bf16"));
  EXPECT_THAT(error_of(kMinimal, {{"nosuch.field", "1"}}), HasSubstr("section 'nosuch' does not exist"));
  EXPECT_THAT(error_of("name: x\n"), HasSubstr("clock: missing required field"));
  EXPECT_THAT(error_of("[1, 2"), HasSubstr("not valid YAML"));
  // Energy must be given for every datatype the matrix unit computes in.
  std::string no_bf16_energy = kMinimal;
  no_bf16_energy.replace(no_bf16_energy.find(", bf16: 1.0"), 11, "");
  EXPECT_THAT(error_of(no_bf16_energy), HasSubstr("energy.mac_pj.bfloat16: missing"));
}

TEST(Hardware, OverridesChangeFieldsBeforeValidation) {
  HardwareDesc hw =
      parse_hardware(kMinimal, "test.yaml", {{"cores.matrix.rows", "16"}, {"offchip.bandwidth", "25.6 GB/s"}});
  EXPECT_EQ(hw.matrix.rows, 16);
  EXPECT_DOUBLE_EQ(hw.peak_macs_per_s(DType::Int8), 4 * 16 * 8 * 1e9);  // the peak follows the array size
  EXPECT_DOUBLE_EQ(hw.offchip_bytes_per_s(), 25.6e9);
}

// Every preset loads, and its headline figures match the public sources it cites.
TEST(Hardware, PresetsMatchTheirSources) {
  auto presets = hardware_presets();
  for (const char* name : {"tpu-v1", "tpu-v4", "edge-npu", "wafer-scale", "h100"})
    EXPECT_NE(std::find(presets.begin(), presets.end(), name), presets.end()) << name;
  for (const auto& p : presets) {
    HardwareDesc hw = load_hardware(p);
    EXPECT_FALSE(hw.sources.empty()) << p << " cites no source";
  }
  HardwareDesc v1 = load_hardware("tpu-v1");
  EXPECT_NEAR(2 * v1.peak_macs_per_s(DType::Int8) / 1e12, 92, 0.5);  // 92 TOPS (Jouppi 2017)
  EXPECT_EQ(v1.on_chip_bytes(), 28u << 20);                          // 24 MiB UB + 4 MiB accumulators
  EXPECT_DOUBLE_EQ(v1.offchip_bytes_per_s(), 34e9);
  EXPECT_NEAR(v1.area_mm2(), 331, 5);
  HardwareDesc v4 = load_hardware("tpu-v4");
  EXPECT_NEAR(2 * v4.peak_macs_per_s(DType::BFloat16) / 1e12, 275, 1);
  EXPECT_DOUBLE_EQ(v4.offchip_bytes_per_s(), 1200e9);
  HardwareDesc h100 = load_hardware("h100");
  EXPECT_NEAR(2 * h100.peak_macs_per_s(DType::Float16) / 1e12, 989, 2);
  EXPECT_NEAR(2 * h100.peak_macs_per_s(DType::Int8) / 1e12, 1979, 4);
  EXPECT_DOUBLE_EQ(h100.offchip_bytes_per_s(), 3.35e12);
  EXPECT_EQ(h100.global_buffer->size_bytes, 50u << 20);
  HardwareDesc edge = load_hardware("edge-npu");
  EXPECT_NEAR(2 * edge.peak_macs_per_s(DType::Int8) / 1e12, 4.1, 0.1);
  HardwareDesc wse = load_hardware("wafer-scale");
  EXPECT_FALSE(wse.offchip.has_value());
  EXPECT_NEAR(double(wse.on_chip_bytes()) / 1e9, 40, 2.5);  // ~40 GB of SRAM
  EXPECT_NEAR(wse.area_mm2(), 46225, 1000);
}

// cores.scratchpad.holds_weights: true by default; tpu-v1 sets it false (its weights come only through the
// Weight FIFO, Jouppi et al. 2017), which needs off-chip memory to stream them from.
TEST(Hardware, ScratchpadHoldsWeightsFlag) {
  EXPECT_TRUE(parse_hardware(kMinimal, "test.yaml").scratchpad.holds_weights);
  EXPECT_FALSE(
      parse_hardware(kMinimal, "test.yaml", {{"cores.scratchpad.holds_weights", "false"}}).scratchpad.holds_weights);
  EXPECT_FALSE(load_hardware("tpu-v1").scratchpad.holds_weights);
  EXPECT_TRUE(load_hardware("tpu-v1").matrix.pipelined_folds);  // double-buffered weight tiles
  EXPECT_TRUE(load_hardware("tpu-v4").scratchpad.holds_weights);
  EXPECT_THAT(error_of(kMinimal, {{"cores.scratchpad.holds_weights", "sometimes"}}),
              HasSubstr("cores.scratchpad.holds_weights: expected true or false"));
  EXPECT_THAT(error_of(kMinimal, {{"cores.scratchpad.holds_weights", "false"}, {"offchip", "none"}}),
              HasSubstr("cores.scratchpad.holds_weights: false needs off-chip memory"));
}

TEST(Hardware, UnknownPresetListsTheKnownOnes) {
  try {
    load_hardware("tpu-v9");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("tpu-v1"));
  }
}

// A list field is set with a YAML flow sequence; a malformed one names the override.
TEST(Hardware, ListOverridesAreYaml) {
  HardwareDesc hw = load_hardware("h100", {{"cores.count", "66"}, {"cores.arrangement", "[6, 11]"}});
  EXPECT_EQ(hw.cores, 66);
  try {
    load_hardware("h100", {{"cores.arrangement", "[6, 11"}});
    FAIL() << "a malformed list was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("override 'cores.arrangement': '[6, 11' is not a YAML list or map"));
  }
}

}  // namespace
}  // namespace wafer::npu
