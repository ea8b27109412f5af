// Pipeline, data and expert parallelism in the LLM simulation (api/llm_parallel.h): the bubble against
// (pp - 1) / (m + pp - 1), data parallelism scaling total throughput exactly, the tensor-parallel
// all-reduces and the expert all-to-alls against the alpha-beta formulas by hand, the split checks, the
// `does not fit` advice and the --parallel auto search.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "api/llm_parallel.h"
#include "api/llm_sim.h"
#include "core/error.h"
#include "frontend/llm/llm_config.h"
#include "graph_test_util.h"
#include "llm_test_util.h"
#include "npu/collectives.h"
#include "npu/contention.h"
#include "npu/system.h"

using wafer::test::error_of;

using namespace wafer;
using ::testing::HasSubstr;

namespace {

std::string tiny_file() {
  static const std::string path = test::tiny_llama_file(4);
  return path;
}

api::LlmSimOptions tiny(int64_t tp, int64_t pp, int64_t dp, int64_t batch = 4) {
  api::LlmSimOptions o;
  o.model = tiny_file();
  o.hw.preset_or_path = "dgx-h100";
  o.tp = tp, o.pp = pp, o.dp = dp;
  o.batch = batch, o.prompt_len = 32, o.gen_len = 9;
  return o;
}

std::string model(const std::string& name) {
  return std::string(WAFER_SOURCE_DIR) + "/models/llm/" + name + ".json";
}

}  // namespace

TEST(LlmParallel, BubbleIsTheGpipeFormula) {
  EXPECT_DOUBLE_EQ(api::pipeline_bubble(1, 8), 0.0);
  EXPECT_DOUBLE_EQ(api::pipeline_bubble(4, 12), 3.0 / 15.0);
  EXPECT_DOUBLE_EQ(api::pipeline_bubble(8, 1), 7.0 / 8.0);
  EXPECT_THROW(api::pipeline_bubble(2, 0), Error);
}

TEST(LlmParallel, PipelinePrefillPaysTheBubble) {
  api::LlmSimReport one = api::simulate_llm(tiny(1, 1, 1));
  api::LlmSimReport two = api::simulate_llm(tiny(1, 2, 1));  // 4 layers in 2 stages, 4 micro-batches
  EXPECT_EQ(two.pp, 2);
  EXPECT_EQ(two.micro_batches, 4);
  EXPECT_DOUBLE_EQ(two.pipeline_bubble, 1.0 / 5.0);
  // Each stage does half the layers; the pipeline's compute is the ideal half stretched by the bubble:
  // compute x (1 - bubble) x pp = the one-chip compute.
  EXPECT_NEAR(two.prefill.compute_s * (1 - two.pipeline_bubble) * 2, one.prefill.compute_s,
              1e-9 * one.prefill.compute_s);
  // A decode step passes both stages one after the other: its compute is the one chip's.
  EXPECT_NEAR(two.decode.compute_s, one.decode.compute_s, 1e-9 * one.decode.compute_s);
  // dgx-h100 has copy engines: only the first micro-batch's send down the pipeline shows; each is one
  // micro-batch's activations (1 x 32 tokens x 256 x 2 bytes) at 450 GB/s after 2 us.
  // The send is a wafer.Send instruction of a stage boundary's program, simulated: the formula within the
  // rounding to a whole cycle.
  EXPECT_TRUE(two.comm_overlap);
  const double send = 2e-6 + 32.0 * 256 * 2 / 450e9, cycle = 1 / two.prefill.sim.clock_hz;
  EXPECT_NEAR(two.prefill.pp_send_s, send, cycle);
  EXPECT_NEAR(two.decode.pp_send_s, 2e-6 + 4.0 * 256 * 2 / 450e9, cycle);
  EXPECT_NEAR(npu::point_to_point(npu::load_system("dgx-h100"), 32.0 * 256 * 2).time_s, send, 1e-15);
  EXPECT_GT(two.comm_fraction, 0);
  EXPECT_LT(two.comm_fraction, 1);
  // One chip holds two of the four layers' KV cache.
  EXPECT_EQ(two.kv_bytes_per_token * 2, one.kv_bytes_per_token);
}

TEST(LlmParallel, DataParallelScalesTotalThroughputExactly) {
  api::LlmSimReport one = api::simulate_llm(tiny(2, 1, 1));
  api::LlmSimReport four = api::simulate_llm(tiny(2, 1, 4));
  EXPECT_EQ(four.chips, 8);
  EXPECT_DOUBLE_EQ(four.tokens_per_s, 4 * one.tokens_per_s);
  EXPECT_DOUBLE_EQ(four.decode_tokens_per_s, 4 * one.decode_tokens_per_s);
  EXPECT_DOUBLE_EQ(four.tokens_per_s_per_user, one.tokens_per_s_per_user);
  EXPECT_DOUBLE_EQ(four.ttft_s, one.ttft_s);
  // Each replica holds the whole model (at its tp shard): capacity is per replica.
  EXPECT_EQ(four.weights_bytes, one.weights_bytes);
  EXPECT_EQ(four.kv_cache_bytes, one.kv_cache_bytes);
}

TEST(LlmParallel, TensorParallelOnATwoChipRingIsTheAlphaBetaFormula) {
  const std::string path = test::h100_ring_file(2);
  api::LlmSimOptions o = tiny(2, 1, 1, 2);
  o.hw.preset_or_path = path;
  const api::LlmSimReport r = api::simulate_llm(o);
  // Prefill of 2 x 32 tokens: 2 x 4 + 1 all-reduces of 64 x 256 x 2 = 32,768 bytes; a ring of 2 does
  // 2 (p-1) alpha + 2 (p-1)/p n / B = 2 us + n / 100 GB/s each (both directions of the ring carry half);
  // the logits' all-gather of 2 x 1,000 x 2 = 4,000 bytes is alpha + n / 2 / B. Each is an instruction of
  // the chip's program, rounded up to a whole cycle; without comm_engines every one holds the cores.
  const double ar = 2e-6 + 32768.0 / 100e9, ag = 1e-6 + 2000.0 / 100e9, cycle = 1 / r.prefill.sim.clock_hz;
  EXPECT_EQ(r.prefill.sim.collectives, 10);
  EXPECT_FALSE(r.comm_overlap);
  EXPECT_NEAR(r.prefill.tp_comm_s, 9 * ar + ag, 10 * cycle);
  EXPECT_EQ(r.prefill.sim.comm_exposed_cycles, r.prefill.sim.comm_cycles);
  EXPECT_EQ(r.collective, "ring");
  // Bytes over the links: each all-reduce sends 2 (p-1)/p n from each of 2 chips = 2n, the all-gather n/2
  // from each: energy at 10 pJ/byte.
  EXPECT_NEAR(r.prefill.comm_energy_j, (9 * 2 * 32768.0 + 4000.0) * 10e-12, 1e-18);
  EXPECT_NEAR(r.prefill.compute_s + r.prefill.tp_comm_s, r.ttft_s, 1e-12);
}

TEST(LlmParallel, ExpertAllToAllForMixtralByHand) {
  const npu::SystemDesc dgx = npu::load_system("dgx-h100");
  llm::LlmConfig c = llm::load_llm_config(model("mixtral-8x7b"));
  ASSERT_EQ(c.experts, 8);
  ASSERT_EQ(c.experts_per_token, 2);
  // A decode step of 8 sequences: each chip sends 8 tokens x top-2 x 4,096 x 2 bytes = 131,072 bytes, twice
  // (dispatch and combine) per layer, 32 layers; 2 chips through NVSwitch: alpha + (p-1)/p n / 450 GB/s.
  api::EpComm e = api::ep_phase_comm(dgx, c, 2, 8, 2);
  EXPECT_DOUBLE_EQ(e.bytes_per_all_to_all, 131072.0);
  EXPECT_NEAR(e.time_s, 64 * (2e-6 + 65536.0 / 450e9), 1e-12);
  // One chip holds half of each layer's experts: 4 x 3 x 4,096 x 14,336 parameters fewer per layer.
  api::ChipShare whole = api::chip_share(c, {1, 1, 1, 1}, 2), half = api::chip_share(c, {1, 1, 1, 2}, 2);
  EXPECT_EQ(whole.weight_params, uint64_t(c.parameter_count()));
  EXPECT_EQ(whole.weight_params - half.weight_params, 32ull * 4 * 3 * 4096 * 14336);
  EXPECT_EQ(half.kv_bytes_per_token, whole.kv_bytes_per_token);  // attention is data-parallel over ep
}

TEST(LlmParallel, MixtralsSimulatedAllToAllsAreTheFormula) {
  // The expert all-to-alls are wafer.AllToAll instructions of the chip's program (two per MoE layer): their
  // simulated time is ep_phase_comm's formula (the oracle), each within the rounding to a whole cycle, and
  // dispatch carries the hand count of bytes (8 tokens x top-2 x 4,096 x 2 = 131,072 a chip).
  api::LlmSimOptions o;
  o.model = model("mixtral-8x7b");
  o.hw.preset_or_path = "dgx-h100";
  o.layers = 2, o.batch = 8, o.prompt_len = 16, o.gen_len = 3, o.ep = 2;
  const api::LlmSimReport r = api::simulate_llm(o);
  llm::LlmConfig c = llm::load_llm_config(model("mixtral-8x7b"));
  c.layers = 2;
  const npu::SystemDesc dgx = npu::load_system("dgx-h100");
  const api::EpComm e = api::ep_phase_comm(dgx, c, 2, 8, 2, api::ep_groups({1, 1, 1, 2}, 1));
  EXPECT_DOUBLE_EQ(e.bytes_per_all_to_all, 131072.0);
  EXPECT_NEAR(e.time_s, 4 * (2e-6 + 65536.0 / 450e9), 1e-15);
  const double cycle = 1 / r.decode.sim.clock_hz;
  EXPECT_EQ(r.decode.sim.collectives, 4);
  EXPECT_NEAR(double(r.decode.sim.comm_cycles) * cycle, e.time_s, 4 * cycle);
  // Nothing in a MoE layer is independent of its dispatch or combine: all of it is exposed.
  EXPECT_NEAR(r.decode.ep_comm_s, e.time_s, 4 * cycle);
  EXPECT_EQ(r.decode.tp_comm_s, 0);
  EXPECT_NEAR(r.decode.compute_s + r.decode.comm_s, r.tpot_s, 1e-9 * r.tpot_s);
  // Prefill: 8 x 16 tokens, 16 times the bytes.
  const api::EpComm pe = api::ep_phase_comm(dgx, c, 2, 8 * 16, 2, api::ep_groups({1, 1, 1, 2}, 1));
  EXPECT_NEAR(double(r.prefill.sim.comm_cycles) * cycle, pe.time_s, 4 * cycle);
  // Link energy: each chip sends (p-1)/p n per all-to-all at 10 pJ/byte (dgx-h100), a replica's share.
  EXPECT_NEAR(r.decode.comm_energy_j, e.energy_j, 1e-12 * e.energy_j);
}

TEST(LlmParallel, InvalidSplitsSayWhy) {
  EXPECT_THAT(error_of([] { api::simulate_llm(tiny(4, 4, 1)); }),
              HasSubstr("16 chips, more than the 8 chips of dgx-h100"));
  EXPECT_THAT(error_of([] { api::simulate_llm(tiny(2, 2, 4)); }), HasSubstr("more than the 8 chips"));
  EXPECT_THAT(error_of([] { api::simulate_llm(tiny(1, 8, 1)); }), HasSubstr("--pp 8 is more stages than the 4"));
  EXPECT_THAT(error_of([] {
                api::LlmSimOptions o = tiny(1, 1, 1);
                o.ep = 2;
                api::simulate_llm(o);
              }),
              HasSubstr("dense model"));
  EXPECT_THAT(error_of([] {
                api::LlmSimOptions o = tiny(1, 2, 1);
                o.hw.preset_or_path = "h100";
                api::simulate_llm(o);
              }),
              HasSubstr("needs a system of chips"));
}

TEST(LlmParallel, DoesNotFitNamesASplitThatFits) {
  api::LlmSimOptions o;
  o.model = model("llama-3.1-70b");
  o.hw.preset_or_path = "dgx-h100";
  o.prompt_len = 128, o.gen_len = 16;
  const std::string e = error_of([&] { api::simulate_llm(o); });
  EXPECT_THAT(e, HasSubstr("does not fit"));
  EXPECT_THAT(e, HasSubstr("it fits with --tp 2 on dgx-h100"));
}

TEST(LlmParallel, AutoPicksOnlySplitsThatFitAndBeatsTp8) {
  api::LlmSimOptions o;
  o.model = model("llama-3.1-70b");
  o.hw.preset_or_path = "dgx-h100";
  o.prompt_len = 128, o.gen_len = 32, o.batch = 8;
  std::vector<api::LlmParallelChoice> choices = api::search_llm_parallel(o);
  ASSERT_FALSE(choices.empty());
  for (const auto& c : choices) {
    EXPECT_LE(c.report.chips, 8);
    EXPECT_GT(c.report.tp * c.report.pp * c.report.ep, 1) << "70B in bf16 does not fit one H100";
    for (const auto& m : c.report.memory) EXPECT_LE(m.used_bytes, m.capacity_bytes) << m.name;
  }
  o.tp = 8;
  api::LlmSimReport tp8 = api::simulate_llm(o);
  EXPECT_GE(choices.front().report.tokens_per_s, tp8.tokens_per_s * (1 - 1e-12));
  // Ranked by total tokens/s.
  for (size_t i = 1; i < choices.size(); ++i) {
    if (choices[i].within_bound == choices[i - 1].within_bound) {
      EXPECT_GE(choices[i - 1].report.tokens_per_s, choices[i].report.tokens_per_s);
    }
  }
}

TEST(LlmParallel, OneChipGroupOnATorusCostsNothing) {
  // The does-not-fit advice and --parallel auto ask for tp = 1 groups; a torus has no dim to cross then.
  const npu::SystemDesc trn2 = npu::load_system("trn2-server");
  for (auto c : {npu::Collective::AllReduce, npu::Collective::AllGather, npu::Collective::AllToAll})
    EXPECT_EQ(npu::system_collective(trn2, c, 1, 1e6).time_s, 0.0);
  api::LlmSimOptions o;
  o.model = model("llama-3.1-405b");
  o.hw.preset_or_path = "trn2-server";
  o.tp = 4, o.prompt_len = 128, o.gen_len = 16;
  EXPECT_THAT(error_of([&] { api::simulate_llm(o); }), HasSubstr("does not fit"));
}

TEST(LlmParallel, ExpertParallelChipReadsOnlyItsExperts) {
  // Mixtral's first 2 layers, batch 8 (16 expert slots a token step: every expert is active). At --ep 2 a chip
  // holds 4 of the 8 experts and takes their tokens from both chips: the same expert rows (8 x 2 x 2 / 8 = 4
  // per expert, 16 in all) as one chip with all 8 experts (2 rows each), but half the expert weights read.
  api::LlmSimOptions o;
  o.model = model("mixtral-8x7b");
  o.hw.preset_or_path = "dgx-h100";
  o.layers = 2, o.batch = 8, o.prompt_len = 16, o.gen_len = 3;
  const api::LlmSimReport one = api::simulate_llm(o);
  o.ep = 2;
  const api::LlmSimReport two = api::simulate_llm(o);
  // Per layer 4 experts of 3 x 4,096 x 14,336 and 4 router columns of 4,096, in bf16, over 2 layers.
  const uint64_t expert = 3ull * 4096 * 14336;
  EXPECT_EQ(one.decode_bytes_per_step - two.decode_bytes_per_step, (4 * expert + 4 * 4096) * 2 * 2);
  // MACs: only the router's 8 tokens x 4,096 x 4 columns fewer per layer.
  EXPECT_EQ(one.decode.sim.macs - two.decode.sim.macs, 2ull * 8 * 4096 * 4);
  // Capacity counts the whole router on every chip (each routes its own tokens to all experts); the simulated
  // graph's router has the chip's 4 columns (above), 32 KB a layer less: negligible.
  EXPECT_EQ(two.weights_bytes, one.weights_bytes - 4 * expert * 2 * 2);
  // Attention runs data-parallel over the 2 chips: twice the total tokens/s of one chip at the same TPOT.
  EXPECT_NEAR(two.decode_tokens_per_s, 2 * 8 / two.tpot_s, 1e-9 * two.decode_tokens_per_s);
}

TEST(LlmParallel, GroupsSitTensorParallelInnermost) {
  using G = std::vector<std::vector<int>>;
  EXPECT_EQ(api::tp_groups({2, 1, 4, 1}, 1), (G{{0, 1}, {2, 3}, {4, 5}, {6, 7}}));
  EXPECT_EQ(api::ep_groups({2, 1, 1, 4}, 1), (G{{0, 2, 4, 6}, {1, 3, 5, 7}}));
  EXPECT_EQ(api::tp_groups({2, 2, 1, 1}, 1), (G{{0, 1}}));  // decode: one stage at a time
  EXPECT_EQ(api::tp_groups({2, 2, 1, 1}, 2), (G{{0, 1}, {2, 3}}));
}

TEST(LlmParallel, ExpertAllToAllsOfInterleavedGroupsShareTheRing) {
  // tp 2 x ep 4 on an 8-ring: the expert groups {0,2,4,6} and {1,3,5,7} interleave, so every link carries
  // both groups' all-to-alls: each takes its ring-of-4 time (2 hops of latency + n x 4 / 4 / B) plus the
  // bandwidth term once more. Mixtral decode, 8 sequences: n = 8 x 2 x 4,096 x 2 bytes, 32 layers x 2.
  const npu::SystemDesc ring = npu::load_system(test::h100_ring_file(8));
  const llm::LlmConfig c = llm::load_llm_config(model("mixtral-8x7b"));
  const api::EpComm e = api::ep_phase_comm(ring, c, 4, 8, 2, api::ep_groups({2, 1, 1, 4}, 1));
  EXPECT_EQ(e.contention, 2);
  EXPECT_NEAR(e.time_s, 64 * (2 * 1e-6 + 2 * 131072.0 / 100e9), 1e-12);
  // Simulated (Mixtral's first 2 layers): the instructions take the contended time, 4 all-to-alls.
  api::LlmSimOptions o;
  o.model = model("mixtral-8x7b");
  o.hw.preset_or_path = test::h100_ring_file(8);
  o.layers = 2, o.batch = 8, o.prompt_len = 16, o.gen_len = 3, o.tp = 2, o.ep = 4;
  const api::LlmSimReport r = api::simulate_llm(o);
  EXPECT_EQ(r.decode.ep_contention, 2);
  EXPECT_NEAR(r.decode.ep_comm_s, 4 * (2 * 1e-6 + 2 * 131072.0 / 100e9), 4 / r.decode.sim.clock_hz);
  // The same groups on a switch: no shared links.
  EXPECT_EQ(api::ep_phase_comm(npu::load_system("dgx-h100"), c, 4, 8, 2, api::ep_groups({2, 1, 1, 4}, 1)).contention,
            1);
}

TEST(LlmParallel, TensorParallelPairsOnPartOfARingOrTorus) {
  // Before the flow model a ring's group had to be the whole ring and a torus's its leading dims; now
  // --tp 2 --dp 4 on an 8-ring runs: each pair is joined by one direction's links (a ring of 2 of its own
  // would have both), so its all-reduces' bandwidth term doubles (dilation 2), and the pairs share no link.
  api::LlmSimOptions o = tiny(2, 1, 4);
  o.hw.preset_or_path = test::h100_ring_file(8);
  const api::LlmSimReport r = api::simulate_llm(o);
  EXPECT_EQ(r.decode.tp_contention, 1);
  const npu::SystemDesc ring = npu::load_system(test::h100_ring_file(8));
  const auto groups = api::tp_groups({2, 1, 4, 1}, 1);
  // Decode: 4 sequences x hidden 256 x 2 bytes per all-reduce, 2 x 4 layers + 1; logits 4 x 1,000 x 2.
  const npu::ConcurrentCost ar = npu::concurrent_collective(ring, npu::Collective::AllReduce, groups, 2048);
  EXPECT_EQ(ar.dilation, 2);
  EXPECT_DOUBLE_EQ(ar.cost.time_s, 2 * 1e-6 + 2 * 2 * 0.5 * 2048 / 100e9);
  const double ag = npu::concurrent_collective(ring, npu::Collective::AllGather, groups, 8000).cost.time_s;
  // The collectives are instructions of the chip's program, each rounded up to whole cycles.
  EXPECT_NEAR(r.decode.tp_comm_s, 9 * ar.cost.time_s + ag, 1e-4 * (9 * ar.cost.time_s + ag));
  // A pair on a line of the 4x4x4 torus likewise.
  o.hw.preset_or_path = "tpu-v4-slice";
  o.dp = 1;
  EXPECT_GT(api::simulate_llm(o).decode.tp_comm_s, 0);
}
