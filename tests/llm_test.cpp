// LLMs from their architecture: config.json parsing (published parameter counts), the decoder built
// with shapes only (the export's I/O convention), backends that execute refusing it, and LLM
// inference on the simulated NPU (memory against hand formulas, capacity errors, timing invariants).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>

#include "api/llm_report.h"
#include "api/llm_sim.h"
#include "backends/backend.h"
#include "core/error.h"
#include "frontend/llm/decoder_builder.h"
#include "frontend/llm/llm_config.h"
#include "graph_test_util.h"
#include "npu/compiler.h"
#include "npu/evaluate.h"

using wafer::test::error_of;

using namespace wafer;
using ::testing::HasSubstr;

namespace {

std::string config_path(const std::string& name) {
  return std::string(WAFER_SOURCE_DIR) + "/models/llm/" + name + ".json";
}

// A Llama-shaped model small enough to simulate in milliseconds: GQA 4 heads over 2 KV heads.
const char* kTinyLlama = R"({"model_type": "llama", "hidden_size": 256, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
  "max_position_embeddings": 4096, "rms_norm_eps": 1e-5})";

std::string tiny_file() {
  static const std::string path = [] {
    std::string p = ::testing::TempDir() + "/wafer_tiny_llama_" + std::to_string(::getpid()) + ".json";
    std::ofstream(p) << kTinyLlama;
    return p;
  }();
  return path;
}

api::LlmSimOptions tiny_sim(const std::string& hw, int64_t batch, int64_t prompt, int64_t gen) {
  api::LlmSimOptions o;
  o.model = tiny_file();
  o.hw.preset_or_path = hw;
  o.batch = batch, o.prompt_len = prompt, o.gen_len = gen;
  return o;
}

}  // namespace

// Published totals: Llama 2 paper / model cards (7B: 6,738,415,616 in the HF checkpoint's metadata;
// 70B: 69 B), Llama 3.1 model card (8.03 B, 70.6 B, 405.9 B, "Model size" on the HF model pages),
// Mixtral of Experts (Jiang et al., 2024: 46.7 B total), GPT-J model card (6,053,381,344, counted by
// Mesh Transformer JAX; transformers' module has 6,050,882,784: 0.04 % apart).
TEST(LlmConfig, ParameterCountsMatchPublishedTotals) {
  const std::map<std::string, double> published = {
      {"llama-2-7b", 6.74e9},      {"llama-2-70b", 69.0e9},  {"llama-3.1-8b", 8.03e9},   {"llama-3.1-70b", 70.6e9},
      {"llama-3.1-405b", 405.9e9}, {"mixtral-8x7b", 46.7e9}, {"gpt-j-6b", 6.053381344e9}};
  for (const auto& [name, want] : published) {
    llm::LlmConfig c = llm::load_llm_config(config_path(name));
    EXPECT_NEAR(double(c.parameter_count()) / want, 1.0, 1e-3) << name << ": " << c.parameter_count();
  }
  // Hand count, Llama-2-7B: embed + lm_head 2 x 32000 x 4096, 32 x (4 x 4096^2 + 3 x 4096 x 11008 + 2 x 4096),
  // final norm 4096.
  EXPECT_EQ(llm::load_llm_config(config_path("llama-2-7b")).parameter_count(), int64_t(6738415616));
}

TEST(LlmConfig, ReadsEachFamilysNames) {
  llm::LlmConfig j = llm::load_llm_config(config_path("gpt-j-6b"));
  EXPECT_EQ(j.hidden, 4096);
  EXPECT_EQ(j.layers, 28);
  EXPECT_EQ(j.head_dim, 256);
  EXPECT_EQ(j.rotary_dim, 64);
  EXPECT_EQ(j.intermediate, 16384);  // n_inner null: 4 x n_embd
  EXPECT_TRUE(j.parallel_residual);
  llm::LlmConfig m = llm::load_llm_config(config_path("mixtral-8x7b"));
  EXPECT_EQ(m.experts, 8);
  EXPECT_EQ(m.experts_per_token, 2);
  EXPECT_EQ(m.kv_heads, 8);
  // Llama-3.1-8B in bf16: 2 (K, V) x 32 layers x 8 KV heads x 128 x 2 bytes = 131,072 bytes per token.
  EXPECT_EQ(llm::load_llm_config(config_path("llama-3.1-8b")).kv_bytes_per_token(2), 131072);
}

TEST(LlmConfig, BadFieldsNameFileAndField) {
  auto parse = [](const std::string& text) { return error_of([&] { llm::parse_llm_config(text, "cfg.json"); }); };
  EXPECT_THAT(parse(R"({"model_type": "llama", "num_hidden_layers": 2})"),
              HasSubstr("cfg.json: field 'hidden_size' is missing"));
  EXPECT_THAT(parse(R"({"model_type": "llama", "hidden_size": -4, "num_hidden_layers": 2})"),
              HasSubstr("cfg.json: field 'hidden_size': must be between 1 and"));
  EXPECT_THAT(parse(R"({"model_type": "llama", "hidden_size": "big"})"),
              HasSubstr("field 'hidden_size': expected an integer"));
  std::string gqa = kTinyLlama;
  gqa.replace(gqa.find("\"num_key_value_heads\": 2"), 24, "\"num_key_value_heads\": 3");
  EXPECT_THAT(parse(gqa), HasSubstr("num_key_value_heads (3) must divide num_attention_heads (4)"));
  std::string moe = kTinyLlama;
  moe.replace(moe.find("\"rms_norm_eps\""), 0, "\"num_local_experts\": 2, \"num_experts_per_tok\": 3, ");
  EXPECT_THAT(parse(moe), HasSubstr("num_experts_per_tok (3) exceeds num_local_experts (2)"));
  EXPECT_THAT(parse(R"({"model_type": "bert"})"), HasSubstr("'bert' is not a supported architecture"));
  EXPECT_THAT(parse(R"({"model_type": "llama", "hidden_size": 16000000, "num_hidden_layers": 16000000,
      "num_attention_heads": 1, "intermediate_size": 16000000, "vocab_size": 1, "max_position_embeddings": 1})"),
              HasSubstr("not a plausible architecture"));
  EXPECT_THAT(parse("{not json"), HasSubstr("cfg.json: not valid JSON"));
  EXPECT_THAT(error_of([] { llm::load_llm_config("/nonexistent/config.json"); }),
              HasSubstr("/nonexistent/config.json: cannot open"));
}

// The export convention: names, shapes and dtypes of inputs and outputs; weights declared by shape only.
TEST(LlmBuilder, ExportConventionAndShapeOnlyWeights) {
  llm::LlmConfig c = llm::parse_llm_config(kTinyLlama, "tiny");
  llm::DecoderShape s;
  s.batch = 3, s.seq = 5, s.past = 7;
  Model m = llm::build_decoder(c, s);
  const Graph& g = *m.graph;
  auto shape = [&](const std::string& v) { return g.type_of(v)->shape.str(); };
  EXPECT_EQ(g.inputs.size(), 3u + 2u * 2u);
  EXPECT_EQ(shape("input_ids"), "[3,5]");
  EXPECT_EQ(g.type_of("input_ids")->dtype, DType::Int64);
  EXPECT_EQ(shape("attention_mask"), "[3,12]");
  EXPECT_EQ(shape("position_ids"), "[3,5]");
  EXPECT_EQ(shape("past_key_values.1.value"), "[3,2,7,64]");  // [batch, kv_heads, past, head_dim]
  EXPECT_EQ(g.outputs.at(0), "logits");
  EXPECT_EQ(shape("logits"), "[3,5,1000]");
  EXPECT_EQ(shape("present.1.key"), "[3,2,12,64]");
  // Every declared weight element is a parameter of the config's count (the rotary frequencies are a buffer).
  int64_t weights = 0;
  for (const auto& [name, t] : g.initializers)
    if (t.dtype() == DType::Float32 && t.rank() > 0 && name != "model.rotary_emb.inv_freq") {
      weights += t.numel();
      EXPECT_EQ(t.raw(), nullptr) << name;  // declared, never allocated
    }
  EXPECT_EQ(weights, c.parameter_count());
  // Backends that execute refuse it, naming the weight.
  auto refuse = [&](const std::string& backend) { return error_of([&] { make_backend(backend)->compile(g, {}); }); };
  EXPECT_THAT(refuse("reference"), HasSubstr("declared by shape only"));
  EXPECT_THAT(refuse("cpu"), HasSubstr("cpu backend: weight '"));
}

// Mixture-of-experts: each token visits k experts; one decode token reads k experts' weights.
TEST(LlmBuilder, MixtureOfExpertsActivatesTopK) {
  std::string text = kTinyLlama;
  text.replace(text.find("\"rms_norm_eps\""), 0, "\"num_local_experts\": 8, \"num_experts_per_tok\": 2, ");
  llm::LlmConfig c = llm::parse_llm_config(text, "tiny-moe");
  auto expert_matmuls = [&](int64_t batch, int64_t seq) {
    llm::DecoderShape s;
    s.batch = batch, s.seq = seq;
    Model m = llm::build_decoder(c, s);
    int n = 0;
    for (const auto& node : m.graph->nodes)
      n += node->op_type == "MatMul" && node->name.find(".experts.") != std::string::npos;
    return n;
  };
  EXPECT_EQ(expert_matmuls(1, 1), 2 * 2 * 3);   // 2 layers x k = 2 experts x gate/up/down
  EXPECT_EQ(expert_matmuls(1, 64), 2 * 8 * 3);  // 128 slots over all 8 experts
}

TEST(LlmSim, MemoryMatchesHandFormulas) {
  api::LlmSimReport r = api::simulate_llm(tiny_sim("h100", 4, 32, 16));
  // h100 computes bf16: 2 bytes. KV = 2 x layers 2 x kv_heads 2 x head_dim 64 x context 48 x batch 4 x 2 B.
  EXPECT_EQ(r.kv_cache_bytes, uint64_t(2 * 2 * 2 * 64 * 48 * 4 * 2));
  // Parameters: embed + lm_head 2 x 1000 x 256; per layer q, o 256^2 each, k, v 256 x 128 each, MLP
  // 3 x 256 x 512, two norms 256; final norm 256.
  const int64_t params = 2 * 1000 * 256 + 2 * (2 * 256 * 256 + 2 * 256 * 128 + 3 * 256 * 512 + 2 * 256) + 256;
  EXPECT_EQ(r.parameters, params);
  EXPECT_EQ(r.weights_bytes, uint64_t(params) * 2);
  EXPECT_EQ(r.kv_level, "HBM3 (off-chip)");
  EXPECT_EQ(r.decode_context, 32 + 7);
}

// Decode cannot beat streaming its weights and KV cache; prefill grows with the prompt.
TEST(LlmSim, TimingInvariants) {
  api::LlmSimReport a = api::simulate_llm(tiny_sim("h100", 1, 16, 8));
  EXPECT_GT(a.bandwidth_floor_s, 0);
  EXPECT_GE(a.tpot_s, a.bandwidth_floor_s);
  EXPECT_GT(a.ttft_s, 0);
  api::LlmSimReport b = api::simulate_llm(tiny_sim("h100", 1, 128, 8));
  EXPECT_GT(b.ttft_s, a.ttft_s);
  EXPECT_GE(b.tpot_s, b.bandwidth_floor_s);
  // Decode throughput (all users) does not fall as the batch grows while weights, not capacity, bound it.
  double last = 0;
  for (int64_t batch : {1, 2, 4, 8}) {
    api::LlmSimReport r = api::simulate_llm(tiny_sim("h100", batch, 16, 8));
    EXPECT_GE(r.decode_tokens_per_s, last * 0.999) << "batch " << batch;
    EXPECT_GE(r.tpot_s, r.bandwidth_floor_s) << "batch " << batch;
    last = r.decode_tokens_per_s;
  }
}

// Capacity: a 70B model in 16-bit (141 GB) does not fit one 80 GB H100, nor a 44 GB wafer.
TEST(LlmSim, DoesNotFitSaysWhereAndHowManyChips) {
  api::LlmSimOptions o;
  o.model = config_path("llama-3.1-70b");
  o.hw.preset_or_path = "h100";
  o.prompt_len = 128, o.gen_len = 128;
  std::string e = error_of([&] { api::simulate_llm(o); });
  EXPECT_THAT(e, HasSubstr("does not fit"));
  EXPECT_THAT(e, HasSubstr("HBM3 (off-chip)"));
  EXPECT_THAT(e, HasSubstr("at least 2 such chips"));
  o.hw.preset_or_path = "wse-3";
  e = error_of([&] { api::simulate_llm(o); });
  EXPECT_THAT(e, HasSubstr("of on-chip SRAM"));
  EXPECT_THAT(e, HasSubstr("at least 4 such chips"));  // 141 GB / 44.2 GB
}

// KV-cache placement follows the design: SRAM where there is no off-chip memory, and it costs capacity.
TEST(LlmSim, KvCacheOnChipOnSramDesigns) {
  api::LlmSimReport r = api::simulate_llm(tiny_sim("wse-3", 2, 16, 8));
  EXPECT_EQ(r.kv_level, "on-chip SRAM");
  ASSERT_EQ(r.memory.size(), 1u);
  EXPECT_EQ(r.memory[0].capacity_bytes, uint64_t(900000) * 48 * 1024);
  // Sequences that fit = (SRAM - weights) / (KV per sequence + activations per sequence).
  const double per_seq = double(r.kv_bytes_per_token) * 24 + double(r.activation_bytes) / 2;
  EXPECT_EQ(r.max_batch, int64_t(double(r.memory[0].capacity_bytes - r.weights_bytes) / per_seq));
}

// A config's decoder is timed by segments (embedding, one layer counted per layer, head): identical
// layers compile to the same program and take the same time, whichever layer it is. Against the whole
// graph simulated at once (which may overlap work across layer boundaries) the segments agree closely
// on a model whose layers, not the boundaries, take the time.
TEST(LlmSim, SegmentsAgreeWithWholeGraph) {
  const char* mid = R"({"model_type": "llama", "hidden_size": 1024, "num_hidden_layers": 4,
    "num_attention_heads": 8, "num_key_value_heads": 2, "intermediate_size": 4096, "vocab_size": 4096,
    "max_position_embeddings": 4096})";
  llm::LlmConfig c = llm::parse_llm_config(mid, "mid");
  for (const char* name : {"h100", "wse-3"}) {
    npu::HardwareDesc hw = npu::load_hardware(name);
    auto layer_cycles = [&](int64_t index) {
      llm::DecoderShape s;
      s.batch = 2, s.seq = 1, s.past = 40, s.part = llm::DecoderPart::layer, s.layer_index = index;
      Model m = llm::build_decoder(c, s);
      npu::NpuCompileOptions co;
      co.batch = 2;
      return npu::evaluate_design(*npu::prepare_for_npu(*m.graph, co), hw, co, false).cycles;
    };
    EXPECT_EQ(layer_cycles(0), layer_cycles(3)) << name;
  }
  std::string path = ::testing::TempDir() + "/wafer_mid_llama_" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << mid;
  api::LlmSimOptions o;
  o.model = path;
  o.hw.preset_or_path = "h100";
  o.batch = 2, o.prompt_len = 64, o.gen_len = 16;
  api::LlmSimReport seg = api::simulate_llm(o);
  o.whole_graph = true;
  api::LlmSimReport whole = api::simulate_llm(o);
  EXPECT_EQ(seg.prefill.sim.macs, whole.prefill.sim.macs);
  EXPECT_EQ(seg.decode.sim.macs, whole.decode.sim.macs);
  EXPECT_NEAR(seg.ttft_s / whole.ttft_s, 1.0, 0.1);
  EXPECT_NEAR(seg.tpot_s / whole.tpot_s, 1.0, 0.15);
}

// hw/wse-3.yaml against Cerebras' published WSE-3 figures: 900,000 cores, 44 GB SRAM, 21 PB/s,
// 46,225 mm2, no off-chip memory; dense fp16 is Wafer's derivation (the preset's header): 31.7 PFLOPS.
TEST(LlmSim, Wse3PresetMatchesPublishedFigures) {
  npu::HardwareDesc hw = npu::load_hardware("wse-3");
  EXPECT_EQ(hw.cores, 900000);
  EXPECT_FALSE(hw.offchip.has_value());
  EXPECT_NEAR(double(hw.on_chip_bytes()) / 1e9, 44, 0.5);
  EXPECT_NEAR(double(hw.cores) * hw.scratchpad.bytes_per_cycle * hw.clock_hz / 1e15, 21, 0.5);
  EXPECT_NEAR(hw.area_mm2(), 46225, 1000);
  EXPECT_NEAR(2 * hw.peak_macs_per_s(DType::Float16) / 1e15, 31.7, 0.1);
}

// The batch grows until the KV cache no longer fits beside the weights: the report's max_batch runs,
// one more is the named capacity error (the limit is the memory, said as such, not a silent spill).
TEST(LlmSim, BatchIsLimitedByNamedCapacity) {
  api::LlmSimOptions o = tiny_sim("h100", 1, 64, 64);
  o.sets = {"offchip.capacity=16 MiB"};
  api::LlmSimReport one = api::simulate_llm(o);
  ASSERT_GT(one.max_batch, 1);
  o.batch = one.max_batch;
  api::LlmSimReport full = api::simulate_llm(o);
  EXPECT_LE(full.weights_bytes + full.kv_cache_bytes + full.activation_bytes, uint64_t(16) << 20);
  EXPECT_GE(full.decode_tokens_per_s, one.decode_tokens_per_s);
  o.batch = one.max_batch + 1;
  std::string e = error_of([&] { api::simulate_llm(o); });
  EXPECT_THAT(e, HasSubstr("does not fit on one h100"));
  EXPECT_THAT(e, HasSubstr("of HBM3 (off-chip)"));
}

// The latency-throughput curve: each point is simulate_llm at that batch, batches double up to the
// capacity limit and stop there; the page carries the phases, the op breakdown and the plot.
TEST(LlmReport, CurveFollowsTheBatchToTheCapacityLimit) {
  api::LlmSimOptions o = tiny_sim("h100", 1, 64, 64);
  o.sets = {"offchip.capacity=16 MiB"};
  const api::LlmSimReport one = api::simulate_llm(o);
  ASSERT_GT(one.max_batch, 4);
  auto curve = api::llm_latency_throughput(o, one.max_batch + 8);  // past what fits: the curve stops
  ASSERT_GE(curve.size(), 3u);
  EXPECT_EQ(curve[0].batch, 1);
  EXPECT_DOUBLE_EQ(curve[0].tpot_s, one.tpot_s);
  EXPECT_LE(curve.back().batch, one.max_batch);
  for (size_t i = 1; i < curve.size(); ++i) {
    EXPECT_GT(curve[i].batch, curve[i - 1].batch);
    EXPECT_GE(curve[i].tpot_s, curve[i - 1].tpot_s * 0.999) << "batch " << curve[i].batch;  // more work per step
    EXPECT_DOUBLE_EQ(curve[i].decode_tokens_per_s, double(curve[i].batch) / curve[i].tpot_s);
  }
  o.batch = curve[2].batch;
  const api::LlmSimReport r = api::simulate_llm(o);
  EXPECT_DOUBLE_EQ(curve[2].ttft_s, r.ttft_s);
  const std::string html = api::llm_sim_html(r, curve);
  EXPECT_THAT(html, HasSubstr("<svg id=\"latency-throughput\""));
  size_t points = 0;
  for (size_t at = html.find("class=\"point\""); at != std::string::npos; at = html.find("class=\"point\"", at + 1))
    ++points;
  EXPECT_EQ(points, curve.size());
  EXPECT_THAT(html, HasSubstr("<td>prefill</td>"));
  EXPECT_THAT(html, HasSubstr("<td>MatMul</td>"));  // where the time goes: the GEMMs, by op type
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

// The KV append of a decode step writes only the new token's keys and values: past and present share
// the cache's buffer (Plan::append_in_place), so the Concat layers move B x kv_heads x head_dim x 2 bytes
// per token and layer, not the whole cache.
TEST(LlmSim, KvAppendMovesOnlyTheNewEntries) {
  llm::LlmConfig c = llm::parse_llm_config(kTinyLlama, "tiny");
  llm::DecoderShape s;
  s.batch = 2, s.seq = 1, s.past = 500;
  Model m = llm::build_decoder(c, s);
  npu::NpuCompileOptions co;
  co.batch = 2;
  co.precision = Precision::bf16;
  npu::HardwareDesc hw = npu::load_hardware("h100");
  npu::SimResult r = npu::evaluate_design(*npu::prepare_for_npu(*m.graph, co), hw, co, false);
  int appends = 0;
  for (const auto& l : r.layers) {
    if (l.op_type != "Concat" || l.name.find("Concat_k") == std::string::npos) continue;
    ++appends;
    auto it = l.bytes.find(npu::MemLevel::OffChip);
    ASSERT_NE(it, l.bytes.end()) << l.name;
    const uint64_t new_entries = 2 * 2 * 1 * 64 * 2;  // batch x kv_heads x 1 token x head_dim x bf16
    // The new keys are read (from wherever the projection left them) and written into the cache: never the
    // 500 cached tokens.
    EXPECT_LE(it->second, 2 * new_entries) << l.name;
    EXPECT_GE(it->second, new_entries) << l.name;
  }
  EXPECT_EQ(appends, 2);  // one per layer
}
