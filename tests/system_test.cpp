// Systems of chips (npu/system.h): the presets' headline figures against their published sources, and
// bad fields named with their path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "npu/system.h"

namespace wafer::npu {
namespace {

using ::testing::HasSubstr;

const char* kRing = R"(
kind: system
name: four
chip: edge-npu
count: 4
topology: ring
links: {per_chip: 2, bandwidth: 2 GB/s, latency: 1 us, pj_per_byte: 20}
)";

std::string error_of(const std::string& yaml, std::vector<std::pair<std::string, std::string>> overrides = {}) {
  try {
    parse_system(yaml, "sys.yaml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(System, ParsesAMinimalRing) {
  SystemDesc s = parse_system(kRing, "sys.yaml");
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.topology, Topology::Ring);
  EXPECT_EQ(s.chip.name, "edge-npu");
  EXPECT_DOUBLE_EQ(s.chip_bytes_per_s(), 4e9);  // 2 links x 2 GB/s
  EXPECT_DOUBLE_EQ(s.links.latency_s, 1e-6);
  EXPECT_FALSE(s.host.has_value());
}

TEST(System, BadFieldsAreNamedWithTheirPath) {
  EXPECT_THAT(error_of(kRing, {{"links.bandwidth", "-3 GB/s"}}),
              HasSubstr("sys.yaml: links.bandwidth: must be at least"));
  EXPECT_THAT(error_of(kRing, {{"links.bandwidth", "3 GB/h"}}), HasSubstr("links.bandwidth: unknown unit 'GB/h'"));
  EXPECT_THAT(error_of(kRing, {{"links.per_chip", "3"}}), HasSubstr("links.per_chip: 3 links cannot be split evenly"));
  EXPECT_THAT(error_of(kRing, {{"topology", "mesh"}}),
              HasSubstr("topology: expected switch, ring, torus or wafer-fabric"));
  EXPECT_THAT(error_of(kRing, {{"topology", "torus"}}), HasSubstr("dims: missing required field"));
  EXPECT_THAT(error_of(kRing, {{"chip", "no-such-chip"}}),
              HasSubstr("sys.yaml: chip: unknown hardware preset 'no-such-chip'"));
  EXPECT_THAT(error_of(kRing, {{"kind", "chip"}}), HasSubstr("kind: expected 'system'"));
  EXPECT_THAT(error_of(kRing, {{"links.speed", "1"}}), HasSubstr("links.speed: unknown field"));
  EXPECT_THAT(error_of(kRing, {{"count", "0"}}), HasSubstr("count: must be at least 1"));
  EXPECT_THAT(error_of(std::string(kRing) + "dims: [2, 2]\n"), HasSubstr("dims: only a torus has dims"));
  std::string torus = std::string(kRing) + "dims: [2, 3]\n";
  EXPECT_THAT(error_of(torus, {{"topology", "torus"}, {"links.per_chip", "4"}}),
              HasSubstr("dims: the product 6 does not equal count 4"));
  EXPECT_THAT(error_of("kind: system\nname: x\n"), HasSubstr("count: missing required field"));
  EXPECT_THAT(error_of("[1, 2"), HasSubstr("sys.yaml: not valid YAML"));
}

TEST(System, PresetsHaveTheirPublishedFigures) {
  // DGX H100: 8 GPUs, 900 GB/s NVLink per GPU in both directions (NVIDIA DGX H100 datasheet).
  SystemDesc h = load_system("dgx-h100");
  EXPECT_EQ(h.count, 8);
  EXPECT_EQ(h.topology, Topology::Switch);
  EXPECT_DOUBLE_EQ(2 * h.chip_bytes_per_s(), 900e9);
  EXPECT_EQ(h.chip.name, "h100");
  // DGX B200: 8 B200, NVLink 5 at 1.8 TB/s per GPU; B200: 192 GB HBM3e at 8 TB/s, 2.25 PFLOPS dense bf16.
  SystemDesc b = load_system("dgx-b200");
  EXPECT_DOUBLE_EQ(2 * b.chip_bytes_per_s(), 1.8e12);
  EXPECT_EQ(b.chip.offchip->capacity_bytes, 192'000'000'000ull);
  EXPECT_DOUBLE_EQ(b.chip.offchip->bandwidth_bytes_per_s, 8e12);
  EXPECT_NEAR(2 * b.chip.peak_macs_per_s(DType::BFloat16) / 1e15, 2.25, 0.01);
  // TPU v4 cube: 4x4x4 torus, 6 ICI links per chip (Jouppi et al., ISCA 2023).
  SystemDesc t = load_system("tpu-v4-slice");
  EXPECT_EQ(t.dims, (std::vector<int>{4, 4, 4}));
  EXPECT_EQ(t.links.per_chip, 6);
  // CS-3: 1.2 Tb/s of I/O per system (Cerebras CS-3 datasheet).
  SystemDesc c = load_system("cs-3-cluster");
  EXPECT_EQ(c.topology, Topology::WaferFabric);
  EXPECT_DOUBLE_EQ(c.chip_bytes_per_s() * 8, 1.2e12);
  // Its fabric routers move data beside the compute engines (Cerebras SDK, "A Conceptual View").
  EXPECT_TRUE(c.comm_engines);
  // trn2.48xlarge: 16 Trainium2 on a 4x4 torus; Trainium2: 96 GiB at 2.9 TB/s, 667 TFLOPS bf16 (AWS Neuron docs).
  SystemDesc a = load_system("trn2-server");
  EXPECT_EQ(a.dims, (std::vector<int>{4, 4}));
  EXPECT_EQ(a.chip.offchip->capacity_bytes, 96ull << 30);
  EXPECT_DOUBLE_EQ(a.chip.offchip->bandwidth_bytes_per_s, 2.9e12);
  EXPECT_NEAR(2 * a.chip.peak_macs_per_s(DType::BFloat16) / 1e12, 667, 1);
  EXPECT_EQ(load_system("edge-quad").count, 4);
}

TEST(System, PresetNamesAreSystemsAndChipsAreNot) {
  EXPECT_TRUE(is_system("dgx-h100"));
  EXPECT_FALSE(is_system("h100"));
  EXPECT_FALSE(is_system("nonexistent"));
  auto names = system_presets();
  for (const char* n : {"dgx-h100", "dgx-b200", "tpu-v4-slice", "cs-3-cluster", "trn2-server", "edge-quad"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  try {
    load_system("dgx-h1000");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown system preset 'dgx-h1000' (systems: cs-3-cluster"));
  }
}

}  // namespace
}  // namespace wafer::npu
