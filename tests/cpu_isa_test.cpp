// Instruction-set levels of the cpu backend and the WAFER_CPU_ISA cap: the cap
// reaches Wafer's kernels and oneDNN alike. ctest runs the cpu tests again under
// WAFER_CPU_ISA=avx2 (on AVX-512 machines) and =scalar, so these expectations
// are checked at every level a machine can run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <dnnl.hpp>
#include <random>

#include "backends/cpu/isa.h"
#include "backends/cpu/program.h"
#include "graph_test_util.h"
#include "passes/pass_manager.h"

namespace wafer {
namespace {

using cpu::Isa;
using namespace wafer::test;
using testing::HasSubstr;

TEST(CpuIsa, NamesRoundTripAndBadNamesAreErrors) {
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::scalar}) EXPECT_EQ(cpu::parse_isa(cpu::isa_name(isa)), isa);
  try {
    cpu::parse_isa("avx512bf16");
    FAIL() << "unknown level accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("WAFER_CPU_ISA='avx512bf16'"));
    EXPECT_THAT(e.what(), HasSubstr("avx512, avx2 or scalar"));
  }
}

// oneDNN's cpu_isa values are bit sets: a level is within a cap when it has no bit the cap lacks.
bool within(dnnl::cpu_isa isa, dnnl::cpu_isa cap) {
  return (unsigned(isa) & ~unsigned(cap)) == 0;
}

TEST(CpuIsa, CapReachesOurKernelsAndOneDnn) {
  const char* env = std::getenv("WAFER_CPU_ISA");
  Isa want = env && *env ? std::min(cpu::parse_isa(env), cpu::hardware_isa()) : cpu::hardware_isa();
  EXPECT_EQ(cpu::cpu_isa(), want);
  if (want != Isa::avx512) {
    EXPECT_FALSE(cpu::has_avx512_bf16());
  }
  // A Program caps oneDNN before its first kernel; its convolution then runs within the cap.
  std::mt19937 rng(3);
  Graph g = input_graph({1, 16, 8, 8});
  g.initializers["w"] = random_tensor({16, 16, 3, 3}, rng);
  add(g, "Conv", {"x", "w"}, {"y"}, 11).attrs["pads"] = Attribute{Dims{1, 1, 1, 1}};
  g.outputs = {"y"};
  auto typed = g.clone();
  optimize(*typed);
  cpu::Program p(std::move(typed), {});
  Tensor x = random_tensor({1, 16, 8, 8}, rng);
  EXPECT_LE(rel_l2(p.run({x})[0], run_on("reference", g, {x})[0]), 1e-5);
  dnnl::cpu_isa effective = dnnl::get_effective_cpu_isa();
  // At avx512 oneDNN uses more than AVX2; below, nothing beyond the cap.
  auto cap = want == Isa::avx2 ? dnnl::cpu_isa::avx2 : want == Isa::scalar ? dnnl::cpu_isa::sse41 : dnnl::cpu_isa::avx2;
  EXPECT_EQ(within(effective, cap), want != Isa::avx512)
      << "oneDNN's effective ISA bits " << std::hex << unsigned(effective);
}

}  // namespace
}  // namespace wafer
