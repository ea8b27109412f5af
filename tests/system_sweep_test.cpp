// Sweeps over systems of chips (api/system_sweep.h): count and link axes on a ring, each point an LLM
// simulation at tp = its chips; bad axes are errors naming the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "api/system_sweep.h"
#include "core/error.h"
#include "graph_test_util.h"
#include "llm_test_util.h"
#include "npu/sweep.h"

using wafer::test::error_of;

using namespace wafer;
using ::testing::HasSubstr;

namespace {

// ctest runs tests in processes of their own at once: each writes files of its own.
std::string test_name() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// Llama-shaped, 2 layers of 8 heads (tp up to 8), hidden 512.
std::string eight_head_llama() {
  const std::string p = ::testing::TempDir() + "/wafer_sweep_llama_" + test_name() + ".json";
  std::ofstream(p) << R"({"model_type": "llama", "hidden_size": 512, "num_hidden_layers": 2,
    "num_attention_heads": 8, "num_key_value_heads": 8, "intermediate_size": 1024,
    "vocab_size": 1024, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5})";
  return p;
}

api::SystemSweepOptions options(std::vector<std::string> sets) {
  api::SystemSweepOptions o;
  o.llm.model = eight_head_llama();
  o.llm.hw.preset_or_path = test::h100_ring_file(2);
  o.llm.batch = 2, o.llm.prompt_len = 64, o.llm.gen_len = 5;
  o.sets = std::move(sets);
  return o;
}

}  // namespace

TEST(SystemSweep, CountOnARingUsesEveryChip) {
  const api::SystemSweepRun run = api::sweep_system(options({"count=2,4,8"}));
  ASSERT_EQ(run.points.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& p = run.points[i];
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.tp, int64_t(2) << i);  // tp = the point's chips
    EXPECT_THAT(p.system, HasSubstr(std::to_string(2 << i) + " x h100 on a ring"));
  }
  for (size_t i = 1; i < 3; ++i) {
    const auto &a = run.points[i - 1], &b = run.points[i];
    // The chips' cost doubles with the count (no network cost); a ring all-reduce takes 2 (p - 1) steps,
    // so the share of communication grows with p.
    EXPECT_DOUBLE_EQ(b.cost_usd, 2 * a.cost_usd);
    EXPECT_GT(b.comm_fraction, a.comm_fraction);
    EXPECT_GT(b.power_w, 0);
    EXPECT_DOUBLE_EQ(b.perf_per_usd(), b.tokens_per_s / b.cost_usd);
    EXPECT_EQ(b.contention, 1);  // one group: nothing to share links with
  }
  EXPECT_TRUE(std::any_of(run.points.begin(), run.points.end(), [](const auto& p) { return p.pareto; }));
  EXPECT_THAT(api::system_sweep_table(run), HasSubstr("3 system(s), 3 valid"));
}

TEST(SystemSweep, FasterLinksNeverSlowAPoint) {
  // Bandwidth and latency of the links: TTFT falls as the links speed up (4 chips, tp 4).
  const api::SystemSweepRun run =
      api::sweep_system(options({"count=4", "links.bandwidth=10GB/s,50GB/s,200GB/s", "links.latency=5us,1us"}));
  ASSERT_EQ(run.points.size(), 6u);
  for (const auto& p : run.points) ASSERT_TRUE(p.ok) << p.error;
  // Odometer order: latency fastest. Same latency, faster links: lower TTFT; same links, lower latency: lower TPOT.
  for (size_t i = 2; i < 6; ++i) EXPECT_LT(run.points[i].ttft_s, run.points[i - 2].ttft_s);
  for (size_t i = 0; i < 6; i += 2) EXPECT_LT(run.points[i + 1].tpot_s, run.points[i].tpot_s);
}

TEST(SystemSweep, SplitAxesAndTopology) {
  // tp as an axis on a 4x2 torus and a switch of 8: dims given as a list value.
  const api::SystemSweepRun run =
      api::sweep_system(options({"count=8", "topology=torus", "links.per_chip=4", "dims=[4,2],[2,4]", "tp=2,4"}));
  ASSERT_EQ(run.points.size(), 4u);
  for (const auto& p : run.points) {
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.dp, 1);
  }
  EXPECT_EQ(run.points[0].tp, 2);
  EXPECT_EQ(run.points[1].tp, 4);
  // links.per_chip 2 cannot be split over a torus's 4 directions: that point's error names the field.
  const api::SystemSweepRun bad = api::sweep_system(options({"topology=ring,torus", "dims=[2,1]"}));
  EXPECT_FALSE(bad.points[0].ok);  // dims on a ring
  EXPECT_THAT(bad.points[0].error, HasSubstr("dims: only a torus has dims"));
  EXPECT_THAT(bad.points[1].error, HasSubstr("links.per_chip"));
}

TEST(SystemSweep, BadAxesAreErrorsNamingTheField) {
  EXPECT_THAT(error_of([] { api::sweep_system(options({"links.bandwith=1GB/s"})); }),
              HasSubstr("--set links.bandwith: not a field of the system"));
  EXPECT_THAT(error_of([] { api::sweep_system(options({"tp=0,2"})); }),
              HasSubstr("--set tp=0: tp takes whole numbers of at least 1"));
  // A bad value is its point's error, naming the field.
  const api::SystemSweepRun run = api::sweep_system(options({"count=2,many"}));
  EXPECT_TRUE(run.points[0].ok);
  EXPECT_FALSE(run.points[1].ok);
  EXPECT_THAT(run.points[1].error, HasSubstr("count"));
  // Chips' ONNX models are not for system sweeps.
  api::SystemSweepOptions o = options({"count=2"});
  o.llm.model = "model.onnx";
  EXPECT_THAT(error_of([&] { api::sweep_system(o); }), HasSubstr("simulates an LLM architecture"));
}

TEST(SystemSweep, ListValuesKeepTheirCommas) {
  const auto axes = npu::parse_sweep_axes({"dims=[4,4],[2,8]", "count=16"});
  ASSERT_EQ(axes.size(), 2u);
  EXPECT_EQ(axes[0].values, (std::vector<std::string>{"[4,4]", "[2,8]"}));
}
