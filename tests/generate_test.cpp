// wafer generate (api::generate) on the committed micro decoders (tests/data/decoders, written by
// scripts/export_models.py --models llama_micro,gpt2_micro): greedy tokens equal to PyTorch's greedy loop
// (generation.json, recorded at export), the same on the reference and cpu backends, and the KV-cache
// path's logits equal to a run over the whole sequence without cache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/generate.h"
#include "backends/backend.h"
#include "frontend/onnx/importer.h"

namespace wafer {
namespace {

const std::string kDecoders = std::string(WAFER_TEST_DATA_DIR) + "/decoders/";

struct TorchGeneration {
  std::vector<std::vector<int64_t>> prompts, tokens;
  int max_new_tokens = 0;
};

TorchGeneration torch_generation(const std::string& model) {
  std::ifstream f(kDecoders + model + "/generation.json");
  auto j = nlohmann::json::parse(f);
  return {j["prompt"].get<std::vector<std::vector<int64_t>>>(), j["tokens"].get<std::vector<std::vector<int64_t>>>(),
          j["max_new_tokens"].get<int>()};
}

api::GenerateOptions options_for(const std::string& model, const std::string& backend) {
  api::GenerateOptions o;
  o.model = kDecoders + model + "/model.onnx";
  o.backend = backend;
  o.threads = 2;
  o.warmup = 0;
  return o;
}

class GenerateTorch : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(GenerateTorch, GreedyTokensEqualPyTorchs) {
  auto [model, backend] = GetParam();
  TorchGeneration torch = torch_generation(model);
  auto o = options_for(model, backend);
  o.prompts = torch.prompts;
  o.max_new_tokens = torch.max_new_tokens;
  api::GenerateResult r = api::generate(o);
  EXPECT_EQ(r.tokens, torch.tokens);
  EXPECT_EQ(r.cache_positions, int64_t(torch.prompts[0].size()) + torch.max_new_tokens - 1);
  EXPECT_GT(r.ttft_ms, 0);
  EXPECT_GT(r.tpot_ms, 0);
  EXPECT_NEAR(r.tokens_per_s, 2.0 * torch.max_new_tokens / (r.total_ms / 1000), 1e-6 * r.tokens_per_s);
}

INSTANTIATE_TEST_SUITE_P(Decoders, GenerateTorch,
                         testing::Combine(testing::Values("llama_micro", "gpt2_micro"),
                                          testing::Values("reference", "cpu")));

// Runs the model over the whole sequence with an empty past: logits [batch, seq, vocab].
Tensor logits_without_cache(const std::string& path, const std::string& backend,
                            const std::vector<std::vector<int64_t>>& seqs) {
  Model model = import_onnx_file(path);
  const Graph& g = *model.graph;
  auto exe = make_backend(backend)->compile(g, {});
  int64_t b = int64_t(seqs.size()), s = int64_t(seqs[0].size());
  std::vector<Tensor> in;
  for (const auto& name : g.inputs) {
    if (name == "input_ids" || name == "position_ids" || name == "attention_mask") {
      Tensor t(DType::Int64, {b, s});
      for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < s; ++j)
          t.data<int64_t>()[i * s + j] = name == "input_ids"      ? seqs[size_t(i)][size_t(j)]
                                         : name == "position_ids" ? j
                                                                  : 1;
      in.push_back(t);
    } else {
      auto dims = g.type_of(name)->shape.dims;
      in.push_back(Tensor(DType::Float32, {b, dims[1].value, 0, dims[3].value}));
    }
  }
  return exe->run(in)[0];
}

class GenerateCache : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(GenerateCache, LogitsEqualAWholeSequenceRunWithoutCache) {
  auto [model, backend] = GetParam();
  auto o = options_for(model, backend);
  o.prompts = {{5, 17, 3}, {100, 2, 64}};
  o.max_new_tokens = 6;
  o.keep_logits = true;
  api::GenerateResult r = api::generate(o);
  ASSERT_EQ(r.logits.size(), 6u);
  // The sequence as fed: prompt + every generated token but the last.
  auto seqs = o.prompts;
  for (size_t b = 0; b < seqs.size(); ++b) seqs[b].insert(seqs[b].end(), r.tokens[b].begin(), r.tokens[b].end() - 1);
  Tensor full = logits_without_cache(o.model, "reference", seqs);
  int64_t s = full.dim(1), v = full.dim(2), p = 3;
  for (size_t step = 0; step < r.logits.size(); ++step) {
    double err = 0, norm = 0;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t k = 0; k < v; ++k) {
        double want = full.data<float>()[(b * s + p - 1 + int64_t(step)) * v + k];
        double got = r.logits[step].data<float>()[b * v + k];
        err += (want - got) * (want - got);
        norm += want * want;
      }
    EXPECT_LT(std::sqrt(err / norm), 1e-5) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Decoders, GenerateCache,
                         testing::Combine(testing::Values("llama_micro", "gpt2_micro"),
                                          testing::Values("reference", "cpu")));

TEST(Generate, ReferenceAndCpuChooseTheSameGreedyTokens) {
  auto o = options_for("llama_micro", "reference");
  o.prompts = {{42, 7, 99, 1, 0}};
  o.batch = 3;
  o.max_new_tokens = 20;
  auto ref = api::generate(o);
  o.backend = "cpu";
  auto cpu = api::generate(o);
  ASSERT_EQ(ref.tokens.size(), 3u);
  EXPECT_EQ(ref.tokens, cpu.tokens);
  EXPECT_EQ(ref.tokens[0], ref.tokens[2]);  // one prompt repeated: one answer
}

TEST(Generate, ProfileTimesThePrefillAndTheDecodeApart) {
  for (const char* backend : {"cpu", "reference"}) {
    auto o = options_for("llama_micro", backend);
    o.prompts = {{42, 7, 99, 1, 0}};
    o.max_new_tokens = 5;
    o.warmup = 1;  // runs both programs untimed first: they must not count
    o.profile = true;
    const auto r = api::generate(o);
    auto sum_ms = [](const Profile& p) {  // every step of every profiled run
      double ms = 0;
      for (const auto& s : p.steps)
        for (double t : s.run_ms) ms += t;
      return ms;
    };
    EXPECT_EQ(r.prefill_profile.runs, 1) << backend;
    EXPECT_EQ(r.profile.runs, 4) << backend;  // the tokens after the first
    ASSERT_FALSE(r.prefill_profile.steps.empty()) << backend;
    ASSERT_FALSE(r.profile.steps.empty()) << backend;
    // Step times are inside the measured phases.
    EXPECT_GT(sum_ms(r.prefill_profile), 0) << backend;
    EXPECT_LE(sum_ms(r.prefill_profile), r.ttft_ms) << backend;
    EXPECT_LE(sum_ms(r.profile), r.tpot_ms * 4) << backend;
  }
}

TEST(Generate, SamplingIsSeededAndTopKOneIsGreedy) {
  auto o = options_for("gpt2_micro", "cpu");
  o.prompts = {{1, 2, 3}};
  o.max_new_tokens = 10;
  auto greedy = api::generate(o);
  o.sampling = {.temperature = 1.5, .top_k = 1, .top_p = 1, .seed = 3};
  EXPECT_EQ(api::generate(o).tokens, greedy.tokens);
  o.sampling = {.temperature = 1.5, .top_k = 0, .top_p = 1e-6, .seed = 3};  // the nucleus is the top token
  EXPECT_EQ(api::generate(o).tokens, greedy.tokens);
  o.sampling = {.temperature = 2.0, .top_k = 50, .top_p = 0.95, .seed = 7};
  auto a = api::generate(o), b = api::generate(o);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_NE(a.tokens, greedy.tokens);  // 10 tokens at temperature 2 over 50 candidates: never all the argmax
}

TEST(Generate, SamplingFollowsTheDistribution) {
  // Logits log(0.5), log(0.3), log(0.2) at temperature 1: frequencies approach 0.5/0.3/0.2; top-p 0.6 keeps
  // {0, 1} renormalised to 0.625/0.375.
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  std::mt19937_64 rng(1);
  api::SamplingOptions s{.temperature = 1, .top_k = 0, .top_p = 1, .seed = 1};
  std::vector<int> n(3);
  for (int i = 0; i < 20000; ++i) ++n[size_t(api::choose_token(logits.data(), 3, s, rng))];
  EXPECT_NEAR(n[0] / 20000.0, 0.5, 0.015);
  EXPECT_NEAR(n[2] / 20000.0, 0.2, 0.015);
  s.top_p = 0.6;
  n = {0, 0, 0};
  for (int i = 0; i < 20000; ++i) ++n[size_t(api::choose_token(logits.data(), 3, s, rng))];
  EXPECT_EQ(n[2], 0);
  EXPECT_NEAR(n[0] / 20000.0, 0.625, 0.015);
}

TEST(Generate, BadInputIsAClearError) {
  auto o = options_for("llama_micro", "cpu");
  o.prompts = {{1, 128}};
  EXPECT_THAT([&] { api::generate(o); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("token 128 is out of the model's vocabulary [0, 128)")));
  o.prompts = {{1, 2}, {3}};
  EXPECT_THAT([&] { api::generate(o); }, testing::ThrowsMessage<Error>(testing::HasSubstr("one length")));
  o.prompts = {{1, 2}};
  o.max_new_tokens = 0;
  EXPECT_THAT([&] { api::generate(o); }, testing::ThrowsMessage<Error>(testing::HasSubstr("--max-new-tokens")));
  o.max_new_tokens = 2;
  o.sampling.top_p = 0;
  EXPECT_THAT([&] { api::generate(o); }, testing::ThrowsMessage<Error>(testing::HasSubstr("--top-p")));
  o.sampling.top_p = 1;
  o.model = std::string(WAFER_SOURCE_DIR) + "/models/resnet20/model.onnx";
  EXPECT_THAT([&] { api::generate(o); }, testing::ThrowsMessage<Error>(testing::HasSubstr(
                                             "not a decoder with a KV cache (text-generation-with-past): "
                                             "no input 'input_ids'")));
  EXPECT_THAT([] { api::parse_token_list("1,x,3"); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("'x' is not a token id")));
}

}  // namespace
}  // namespace wafer
