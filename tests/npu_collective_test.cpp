// Tensor-parallel collectives as instructions (ops/collective_ops.cpp, OpKind::Collective): a lone
// collective costs exactly the alpha-beta time of npu/collectives; with copy engines an independent
// layer overlaps it (the total is the longer of the two, not their sum), without them it does not; the
// reference kernel is the identity for one chip and refuses more; the LLM shard has Megatron's collectives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "api/llm_sim.h"
#include "core/error.h"
#include "frontend/llm/decoder_builder.h"
#include "frontend/llm/llm_config.h"
#include "graph_test_util.h"
#include "npu/collectives.h"
#include "npu/compiler.h"
#include "npu/compiler_ops.h"
#include "npu/simulator.h"
#include "npu/system.h"

using namespace wafer;
using namespace wafer::npu;
using ::testing::HasSubstr;
using wafer::test::error_of;

namespace {

// y = AllReduce(x) over `group` chips, x [rows, 4096]; with `independent`, also v = Relu(u) of a graph
// input u [urows, 4096], which reads nothing the collective writes.
std::unique_ptr<Graph> collective_graph(int64_t rows, int group, int64_t urows = 0) {
  auto g = std::make_unique<Graph>();
  g->inputs = {"x"};
  g->outputs = {"y"};
  g->types["x"] = ValueType{DType::Float32, Shape::from({rows, 4096})};
  Node& n = g->add_node("AllReduce", {"x"}, {"y"}, "allreduce");
  n.domain = "wafer", n.op_version = 1;
  n.attrs["group"] = Attribute{int64_t(group)};
  g->opsets["wafer"] = 1;
  if (urows > 0) {
    g->inputs.push_back("u");
    g->outputs.push_back("v");
    g->types["u"] = ValueType{DType::Float32, Shape::from({urows, 4096})};
    g->add_node("Relu", {"u"}, {"v"}, "relu").op_version = 14;
  }
  return g;
}

std::unique_ptr<Graph> relu_graph(int64_t urows) {
  auto g = std::make_unique<Graph>();
  g->inputs = {"u"};
  g->outputs = {"v"};
  g->types["u"] = ValueType{DType::Float32, Shape::from({urows, 4096})};
  g->add_node("Relu", {"u"}, {"v"}, "relu").op_version = 14;
  return g;
}

// y = TYPE(x) (wafer.AllToAll over `group` chips, wafer.Send), x [rows, 4096].
std::unique_ptr<Graph> comm_graph(const std::string& type, int64_t rows, int group) {
  auto g = std::make_unique<Graph>();
  g->inputs = {"x"};
  g->outputs = {"y"};
  g->types["x"] = ValueType{DType::Float32, Shape::from({rows, 4096})};
  Node& n = g->add_node(type, {"x"}, {"y"}, "comm");
  n.domain = "wafer", n.op_version = 1;
  if (type != "Send") n.attrs["group"] = Attribute{int64_t(group)};
  g->opsets["wafer"] = 1;
  return g;
}

SimResult run(const Graph& g, const SystemDesc& s) {
  NpuCompileOptions o;
  o.precision = Precision::bf16;
  o.system = std::make_shared<const SystemDesc>(s);
  return simulate(compile_for_npu(g, s.chip, o), s.chip);
}

}  // namespace

TEST(NpuCollective, ALoneAllReduceCostsTheAlphaBetaTime) {
  const SystemDesc dgx = load_system("dgx-h100");
  for (int64_t rows : {8, 1024}) {
    const double n = double(rows) * 4096 * 2;  // bf16
    const CollectiveCost c = system_collective(dgx, Collective::AllReduce, 8, n);
    // NVSwitch: direct all-reduce, 2 alpha + 2 (p-1)/p n / B with B = 18 links x 25 GB/s (docs/SYSTEMS.md).
    EXPECT_NEAR(c.time_s, 2 * 2e-6 + 2.0 * 7 / 8 * n / 450e9, 1e-12);
    const SimResult r = run(*collective_graph(rows, 8), dgx);
    EXPECT_EQ(r.collectives, 1);
    EXPECT_EQ(r.comm_cycles, r.cycles);  // nothing else in the program
    EXPECT_EQ(r.comm_exposed_cycles, r.cycles);
    EXPECT_NEAR(r.latency_s, c.time_s, 1.0 / r.clock_hz);  // within the rounding to a whole cycle
    EXPECT_DOUBLE_EQ(r.comm_energy_j, c.energy_j / 8);     // this chip's share of the group's link energy
  }
}

TEST(NpuCollective, CopyEnginesOverlapIndependentWorkOtherwiseTheCoresWait) {
  SystemDesc dgx = load_system("dgx-h100");
  ASSERT_TRUE(dgx.comm_engines);
  const int64_t rows = 4096, urows = 65536;  // a 64 MiB all-reduce, 1 GiB of Relu: comparable times
  const double comm = run(*collective_graph(rows, 8), dgx).latency_s;
  const double relu = run(*relu_graph(urows), dgx).latency_s;
  ASSERT_GT(comm, 0.2 * relu);
  ASSERT_GT(relu, 0.2 * comm);
  // Overlapped: the longer of the two (a few cycles of issue aside), not the sum.
  const SimResult both = run(*collective_graph(rows, 8, urows), dgx);
  EXPECT_NEAR(both.latency_s, std::max(comm, relu), 1e-3 * std::max(comm, relu));
  EXPECT_EQ(both.comm_cycles, run(*collective_graph(rows, 8), dgx).comm_cycles);
  // Exposed: what the Relu did not cover.
  const double exposed = double(both.comm_exposed_cycles) / both.clock_hz;
  EXPECT_LE(exposed, std::max(0.0, comm - relu) + 1e-3 * comm);
  EXPECT_GE(exposed, comm - relu - 1e-3 * comm);
  // Without copy engines the collective's kernel holds the cores: the sum, all of it exposed.
  dgx.comm_engines = false;
  const SimResult serial = run(*collective_graph(rows, 8, urows), dgx);
  EXPECT_NEAR(serial.latency_s, comm + relu, 1e-3 * (comm + relu));
  EXPECT_EQ(serial.comm_exposed_cycles, serial.comm_cycles);
}

TEST(NpuCollective, OneChipIsFreeAndMoreNeedASystem) {
  const HardwareDesc h100 = load_hardware("h100");
  NpuCompileOptions o;
  // Over one chip the all-reduce is the identity: no instruction.
  EXPECT_EQ(simulate(compile_for_npu(*collective_graph(64, 1), h100, o), h100).collectives, 0);
  // Over eight, compiled for a lone chip: an error naming the node and what is missing.
  const std::string e = error_of([&] { compile_for_npu(*collective_graph(64, 8), h100, o); });
  EXPECT_THAT(e, HasSubstr("allreduce"));
  EXPECT_THAT(e, HasSubstr("needs a system of chips"));
}

TEST(NpuCollective, ReferenceKernelIsTheIdentityForOneChipAndRefusesMore) {
  std::mt19937 rng(7);
  Tensor x = test::random_tensor({64, 4096}, rng);
  auto one = collective_graph(64, 1);
  std::vector<Tensor> y = test::run_on("reference", *one, {x});
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(test::rel_l2(y[0], x), 0.0);
  auto eight = collective_graph(64, 8);
  const std::string e = error_of([&] { test::run_on("reference", *eight, {x}); });
  EXPECT_THAT(e, HasSubstr("other chips' shards"));
}

TEST(NpuCollective, DecoderShardHasMegatronsCollectives) {
  llm::LlmConfig c = llm::load_llm_config(std::string(WAFER_SOURCE_DIR) + "/models/llm/llama-3.1-70b.json");
  llm::DecoderShape s;
  s.batch = 2, s.seq = 1, s.past = 16, s.last_logits_only = true, s.tp = 8;
  c.layers = 2;
  const Model m = llm::build_decoder(c, s);
  int reduces = 0, gathers = 0;
  for (const auto& n : m.graph->nodes) {
    if (n->domain != "wafer") continue;
    reduces += n->op_type == "AllReduce", gathers += n->op_type == "AllGather";
    EXPECT_EQ(n->attr_int("group"), 8);
  }
  EXPECT_EQ(reduces, 2 * 2 + 1);  // after o_proj and down_proj in each layer, after the embedding
  EXPECT_EQ(gathers, 1);          // the logits
  const auto& logits = m.graph->types.at("logits").shape.dims;
  EXPECT_EQ(logits.back().value, c.vocab * 8);
}

// llama-3.1-70b at --tp 8 on dgx-h100: the decode program runs 2L + 1 all-reduces and the logits'
// all-gather; no layer is independent of them (each sum feeds the next norm), so all of their time is on
// the critical path and equals the alpha-beta formula per collective (what main added around the chip's
// simulation before the collectives were instructions).
TEST(NpuCollective, Llama70bTp8DecodeRunsItsCollectivesOnTheCriticalPath) {
  api::LlmSimOptions o;
  o.model = "llama-3.1-70b";
  o.hw.preset_or_path = "dgx-h100";
  o.tp = 8, o.batch = 8, o.prompt_len = 1024, o.gen_len = 128;
  const api::LlmSimReport r = api::simulate_llm(o);
  const int64_t L = 80;
  EXPECT_EQ(r.decode.sim.collectives, 2 * L + 2);
  EXPECT_EQ(r.prefill.sim.collectives, 2 * L + 2);
  const SystemDesc dgx = load_system("dgx-h100");
  const double ar = system_collective(dgx, Collective::AllReduce, 8, 8.0 * 8192 * 2).time_s;
  const double ag = system_collective(dgx, Collective::AllGather, 8, 8.0 * 128256 * 2).time_s;
  const double formula = double(2 * L + 1) * ar + ag;
  EXPECT_NEAR(double(r.decode.sim.comm_cycles) / r.decode.sim.clock_hz, formula, 1e-3 * formula);
  EXPECT_NEAR(r.decode.tp_comm_s, formula, 0.02 * formula);
  EXPECT_NEAR(r.decode.compute_s + r.decode.comm_s, r.tpot_s, 1e-9 * r.tpot_s);
  EXPECT_GT(r.comm_fraction, 0.02);
  EXPECT_LT(r.comm_fraction, 0.5);
}

TEST(NpuCollective, ALoneAllToAllAndSendCostTheirFormulas) {
  const SystemDesc dgx = load_system("dgx-h100");
  for (int64_t rows : {8, 1024}) {
    const double n = double(rows) * 4096 * 2;  // bf16
    // NVSwitch: a direct all-to-all, alpha + (p-1)/p n / B; a send, alpha + n / B (B = 450 GB/s).
    const CollectiveCost a2a = system_collective(dgx, Collective::AllToAll, 8, n);
    EXPECT_NEAR(a2a.time_s, 2e-6 + 7.0 / 8 * n / 450e9, 1e-12);
    const SimResult r = run(*comm_graph("AllToAll", rows, 8), dgx);
    EXPECT_EQ(r.collectives, 1);
    EXPECT_EQ(r.comm_exposed_by_kind.at("all-to-all"), r.cycles);
    EXPECT_NEAR(r.latency_s, a2a.time_s, 1.0 / r.clock_hz);  // within the rounding to a whole cycle
    EXPECT_DOUBLE_EQ(r.comm_energy_j, a2a.energy_j / 8);
    const CollectiveCost p2p = point_to_point(dgx, n);
    EXPECT_NEAR(p2p.time_s, 2e-6 + n / 450e9, 1e-12);
    const SimResult s = run(*comm_graph("Send", rows, 2), dgx);
    EXPECT_EQ(s.collectives, 1);
    EXPECT_EQ(s.comm_exposed_by_kind.at("send"), s.cycles);
    EXPECT_NEAR(s.latency_s, p2p.time_s, 1.0 / s.clock_hz);
    EXPECT_DOUBLE_EQ(s.comm_energy_j, p2p.energy_j);
  }
  // The reference backend has one chip: a send has nowhere to go.
  std::mt19937 rng(7);
  const std::string e = error_of([&] {
    test::run_on("reference", *comm_graph("Send", 4, 2), {test::random_tensor({4, 4096}, rng)});
  });
  EXPECT_THAT(e, HasSubstr("another chip"));
}

TEST(NpuCollective, ACollectiveIsTimedWithTheTrafficInFlight) {
  // DGX H100's chips and links wired as a ring (225 GB/s each way, 2 us a step): the all-reduce of
  // {0,2,4,6} while {1,3,5,7} all-to-all the same bytes (tests/contention_test.cpp: every directed link
  // carries 3/4 n + n/2), given to the compiler: its instruction is that long.
  const SystemDesc ring = load_system("dgx-h100", {{"topology", "ring"}});
  const double n = 1024.0 * 4096 * 2;
  NpuCompileOptions o;
  o.precision = Precision::bf16;
  o.system = std::make_shared<const SystemDesc>(ring);
  o.traffic = {{false, Collective::AllReduce, {{0, 2, 4, 6}}, n}, {false, Collective::AllToAll, {{1, 3, 5, 7}}, n}};
  const double alone = 6 * 2e-6 + 0.75 * n / 225e9, shared = 6 * 2e-6 + 1.25 * n / 225e9;
  // Kinds in turn (traffic_at_once false): the group alone.
  SimResult r = simulate(compile_for_npu(*collective_graph(1024, 4), ring.chip, o), ring.chip);
  EXPECT_NEAR(r.latency_s, alone, 1.0 / r.clock_hz);
  o.traffic_at_once = true;
  r = simulate(compile_for_npu(*collective_graph(1024, 4), ring.chip, o), ring.chip);
  EXPECT_NEAR(r.latency_s, shared, 1.0 / r.clock_hz);
}

TEST(NpuCollective, ExpertShardHasItsDispatchAndCombineAllToAlls) {
  // Mixtral at --ep 8: each chip holds one expert per layer; every MoE layer sends its tokens x top-2 slots
  // of 4,096 (8 tokens: 16 x 4,096 values, 131,072 bytes in bf16) to the experts' chips and back.
  llm::LlmConfig c = llm::load_llm_config(std::string(WAFER_SOURCE_DIR) + "/models/llm/mixtral-8x7b.json");
  c.layers = 2;
  c.experts /= 8;
  llm::DecoderShape s;
  s.batch = 8, s.seq = 1, s.past = 16, s.last_logits_only = true, s.ep = 8;
  const Model m = llm::build_decoder(c, s);
  int a2a = 0;
  for (const auto& n : m.graph->nodes) {
    if (n->domain != "wafer") continue;
    ASSERT_EQ(n->op_type, "AllToAll") << n->name;
    EXPECT_EQ(n->attr_int("group"), 8);
    EXPECT_EQ(known_numel(*m.graph, n->inputs.at(0)), 8 * 2 * 4096);
    ++a2a;
  }
  EXPECT_EQ(a2a, 2 * 2);
}
