// Tensor parallelism in the LLM simulation (api/llm_tensor_parallel.h): one chip's share of the
// weights and KV cache by hand, the all-reduces by the alpha-beta formula, and the `does not fit`
// advice naming the split that fits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "api/llm_sim.h"
#include "api/llm_tensor_parallel.h"
#include "core/error.h"
#include "graph_test_util.h"
#include "llm_test_util.h"

using wafer::test::error_of;

using namespace wafer;
using ::testing::HasSubstr;

namespace {

std::string tiny_file() {
  static const std::string path = test::tiny_llama_file(2);
  return path;
}

api::LlmSimOptions tiny(const std::string& hw, int64_t tp, int64_t batch = 2) {
  api::LlmSimOptions o;
  o.model = tiny_file();
  o.hw.preset_or_path = hw;
  o.tp = tp;
  o.batch = batch, o.prompt_len = 32, o.gen_len = 9;
  return o;
}

std::string model(const std::string& name) {
  return std::string(WAFER_SOURCE_DIR) + "/models/llm/" + name + ".json";
}

}  // namespace

TEST(LlmTensorParallel, OneChipHoldsItsShareOfWeightsAndKv) {
  api::LlmSimReport one = api::simulate_llm(tiny("dgx-h100", 1));
  api::LlmSimReport two = api::simulate_llm(tiny("dgx-h100", 2));
  // Whole model by hand: per layer q, k, v, o = 65,536 + 2 x 32,768 + 65,536, two norms 512, MLP
  // 3 x 256 x 512 = 393,216 -> 590,336; x 2 layers + embedding 256,000 + lm_head 256,000 + final norm 256.
  EXPECT_EQ(one.parameters, 1'692'928);
  EXPECT_EQ(two.parameters, 1'692'928);
  EXPECT_EQ(one.weights_bytes, 1'692'928u * 2);  // bf16
  // At --tp 2: 2 heads, 1 KV head, MLP 256, vocabulary 500; norms whole on every chip:
  // per layer 32,768 x 3 + 32,768 (k and v) ... = 295,424; x 2 + 128,000 x 2 + 256 = 847,104.
  EXPECT_EQ(two.weights_bytes, 847'104u * 2);
  // KV per token: 2 x layers x kv_heads x head_dim x 2 bytes = 1,024 B whole, 512 B per chip at --tp 2.
  EXPECT_EQ(one.kv_bytes_per_token, 1024u);
  EXPECT_EQ(two.kv_bytes_per_token, 512u);
  EXPECT_EQ(two.system_name, "dgx-h100");
  EXPECT_EQ(two.collective, "direct");
  EXPECT_EQ(one.decode.comm_s, 0);
}

TEST(LlmTensorParallel, AllReducesCostTheAlphaBetaFormula) {
  api::LlmSimReport r = api::simulate_llm(tiny("dgx-h100", 2));
  // dgx-h100: 2 us per step, 450 GB/s per chip. Direct all-reduce of n over p = 2: 2 a + 2 (p-1)/p n/B
  // = 4 us + n/B; all-gather of the logits: a + (p-1)/p n/B. Decode: batch 2 x 1 token x hidden 256 x 2 B
  // = 1,024 B per all-reduce, 2 per layer + 1 for the embedding; logits 2 x 1,000 x 2 B = 4,000 B.
  const double a = 2e-6, B = 450e9;
  // Each collective is an instruction of the chip's program, rounded up to a whole cycle.
  const double decode = 5 * (2 * a + 1024 / B) + (a + 0.5 * 4000 / B), cycle = 1 / r.decode.sim.clock_hz;
  EXPECT_EQ(r.decode.sim.collectives, 6);
  EXPECT_NEAR(double(r.decode.sim.comm_cycles) * cycle, decode, 6 * cycle);
  // Prefill: 2 x 32 tokens -> 32,768 B per all-reduce.
  const double prefill = 5 * (2 * a + 32768 / B) + (a + 0.5 * 4000 / B);
  EXPECT_NEAR(double(r.prefill.sim.comm_cycles) * cycle, prefill, 6 * cycle);
  // dgx-h100 has copy engines: what the phase's communication counts is the part no other work hid (here
  // the KV-cache stores run beside some of it); the rest of every sum waits on the critical path.
  EXPECT_LE(r.decode.comm_s, decode + 6 * cycle);
  EXPECT_GT(r.decode.comm_s, 0.8 * decode);
  EXPECT_GT(r.tpot_s, r.decode.comm_s);
  EXPECT_DOUBLE_EQ(r.tpot_s, r.decode.sim.latency_s);
  // Link energy: direct all-reduce sends 2 (p-1)/p n per chip over one link at 10 pJ/B, both chips.
  EXPECT_NEAR(r.decode.comm_energy_j, (5 * 2 * 2 * 0.5 * 1024 + 2 * 0.5 * 4000) * 10e-12, 1e-18);
}

TEST(LlmTensorParallel, BadSplitsAreErrors) {
  EXPECT_THAT(error_of([] { api::simulate_llm(tiny("h100", 2)); }),
              HasSubstr("--tp 2 needs a system of chips for --hw (e.g. dgx-h100"));
  EXPECT_THAT(error_of([] { api::simulate_llm(tiny("dgx-h100", 16)); }),
              HasSubstr("tp x pp x dp x ep = 16 x 1 x 1 x 1 = 16 chips, more than the 8 chips of dgx-h100"));
  EXPECT_THAT(error_of([] { api::simulate_llm(tiny("dgx-h100", 3)); }),
              HasSubstr("num_attention_heads (4) is not divisible by --tp 3"));
  EXPECT_THAT(error_of([] { api::simulate_llm(tiny("dgx-h100", 0)); }), HasSubstr("--tp must be at least 1, got 0"));
  api::HardwareSource sys;
  sys.preset_or_path = "dgx-h100";
  EXPECT_THAT(error_of([&] { sys.load(); }), HasSubstr("--hw dgx-h100 is a system of chips"));
}

TEST(LlmTensorParallel, DoesNotFitNamesTheSplitThatFits) {
  // Llama-3.1-70B in bf16 (141 GB) on one 80 GiB H100: half of it fits one H100 at --tp 2.
  api::LlmSimOptions o;
  o.model = model("llama-3.1-70b");
  o.prompt_len = 128, o.gen_len = 128;
  o.hw.preset_or_path = "h100";
  EXPECT_THAT(error_of([&] { api::simulate_llm(o); }), HasSubstr("; it fits with --hw dgx-h100 --tp 2"));
  o.hw.preset_or_path = "dgx-h100";
  EXPECT_THAT(error_of([&] { api::simulate_llm(o); }), HasSubstr("; it fits with --tp 2 on dgx-h100"));
  o.tp = 2;
  api::LlmSimReport r = api::simulate_llm(o);
  EXPECT_LT(r.weights_bytes, 80ull << 30);
  EXPECT_GT(r.decode.comm_s, 0);
  // Llama-3.1-405B (812 GB): the fewest chips that hold it are 10, --tp 2 over 5 pipeline stages of 26 of its
  // 126 layers (26 x 3.2 B / 2 + the 1 B embedding share = 42.6 B parameters, 85.2 GB of the 85.9); 9 chips
  // (--pp 9, 14 layers whole: 90 GB) do not. Either is more than a DGX has.
  o.model = model("llama-3.1-405b");
  o.tp = 1;
  EXPECT_THAT(error_of([&] { api::simulate_llm(o); }),
              HasSubstr("; it needs --tp 2 --pp 5, more than the 8 chips of dgx-h100"));
  o.tp = 8;  // 812 GB / 8 = 101.5 GB per chip: twice an H100's 85.9 GB, so 16 chips in all
  EXPECT_THAT(error_of([&] { api::simulate_llm(o); }), HasSubstr("does not fit on one h100 at --tp 8"));
  EXPECT_THAT(error_of([&] { api::simulate_llm(o); }), HasSubstr("need at least 16 such chips in all"));
  o.tp = 1;
  // Llama-3.1-70B on 32 GiB TPU v4 chips: a 4x4x4 torus all-reduces over 4, 16 or 64 chips (its leading
  // dims), and 141 GB / 4 does not fit 34.4 GB; 5 pipeline stages of 16 layers (28 GB each) do.
  o.model = model("llama-3.1-70b");
  o.hw.preset_or_path = "tpu-v4-slice";
  EXPECT_THAT(error_of([&] { api::simulate_llm(o); }), HasSubstr("; it fits with --pp 5 on tpu-v4-slice"));
}
