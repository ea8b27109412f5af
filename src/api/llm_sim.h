// Simulating LLM inference on a described NPU: what `wafer sim MODEL --prompt-len P --gen-len G`
// does. The model is an architecture (a Hugging Face config.json, built with shapes only) or an
// exported ONNX decoder with past_key_values inputs. Prefill (seq = P, past = 0) and decode (seq = 1)
// are compiled and simulated separately with the existing npu path (npu::evaluate_design); the
// memory a deployment needs is checked against each level of the design before anything is timed.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/simulate.h"
#include "core/precision.h"
#include "npu/cost_model.h"

namespace wafer::api {

struct LlmSimOptions {
  std::string model;  // config .json, a folder with config.json, or an .onnx decoder (or a folder with model.onnx)
  HardwareSource hw;  // a chip, or a system of chips (docs/SYSTEMS.md) for --tp
  std::vector<std::string> sets;  // FIELD=VALUE overrides of the chip's (or the system's) description
  // Megatron-style tensor parallelism over this many chips of the system: attention heads, KV heads,
  // MLP columns and the vocabulary split N ways; two all-reduces per decoder layer (docs/SYSTEMS.md).
  int64_t tp = 1;
  // Pipeline, data and expert parallelism over the system (api/llm_parallel.h, docs/SYSTEMS.md): decoder
  // layers in pp stages, dp replicas (--batch is per replica), MoE experts over ep chips.
  int64_t pp = 1, dp = 1, ep = 1;
  int64_t micro_batches = 0;  // prefill micro-batches of a pipeline; 0: one per sequence (the batch)
  Precision precision = Precision::automatic;
  int64_t prompt_len = 128;
  int64_t gen_len = 128;
  int64_t batch = 1;
  int64_t layers = -1;  // config models: simulate only the first N decoder layers (quick looks, tests)
  // Config models are timed by segments (one decoder layer simulated for all); true simulates the
  // whole graph at once (slow for big models; for checking the segments against it).
  bool whole_graph = false;
};

// One level of the design's memory and what the deployment keeps there.
struct LlmMemoryLevel {
  std::string name;  // "HBM3 (off-chip)", "on-chip SRAM", ...
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  std::string holds;  // "weights + KV cache + activations", ...
};

struct LlmPhase {
  npu::SimResult sim;  // one chip's simulation; latency and energy include the communication below
  double comm_s = 0;   // communication on the critical path: all-reduces, all-to-alls, exposed pipeline sends
  double comm_energy_j = 0;
  double tp_comm_s = 0, ep_comm_s = 0, pp_send_s = 0;  // the parts (pp_send_s: exposed sends)
  // Link contention of the all-reduces and all-to-alls: the busiest link a group uses with every group's
  // collective at once over it alone (1: no shared links; npu/contention.h, docs/SYSTEMS.md)
  double tp_contention = 1, ep_contention = 1;
  double compute_s = 0;  // latency minus comm_s
  double wall_ms = 0;    // build + compile + simulate
  int segments = 0;      // programs simulated for the phase
};

struct LlmSimReport {
  std::string model, hw_name, kv_level;
  std::string system_name;  // the system --hw named, or empty for one chip
  int64_t tp = 1;           // chips the model is split over; memory figures below are per chip
  std::string collective;   // algorithm of the all-reduces (tp > 1)
  int64_t pp = 1, dp = 1, ep = 1, micro_batches = 1;  // micro_batches: of the prefill pipeline
  double pipeline_bubble = 0;  // (pp - 1) / (micro_batches + pp - 1): idle share of the prefill pipeline
  bool comm_overlap = false;   // the system's comm_engines: pipeline sends hide behind compute
  double comm_fraction = 0;    // of the whole request's time, communication on the critical path
  int64_t chips = 1;           // tp x pp x dp x ep
  DType precision = DType::BFloat16;
  int64_t batch = 1, prompt_len = 0, gen_len = 0, layers = 0;
  int64_t decode_context = 0;  // tokens in the cache at the decode step simulated (the middle one)
  int64_t parameters = 0;
  uint64_t weights_bytes = 0, kv_cache_bytes = 0, activation_bytes = 0;
  uint64_t kv_bytes_per_token = 0;  // per sequence, all layers
  int64_t max_batch = 0;            // sequences whose KV cache fits beside the weights at this context
  std::vector<LlmMemoryLevel> memory;
  LlmPhase prefill, decode;
  double ttft_s = 0, tpot_s = 0;
  double tokens_per_s = 0;             // all users of all replicas, generated tokens over the whole request
  double tokens_per_s_per_user = 0;    // 1 / TPOT
  double decode_tokens_per_s = 0;      // batch / TPOT x replicas (dp x ep)
  uint64_t decode_bytes_per_step = 0;  // weights + KV cache read per decode step
  double memory_bytes_per_s = 0;       // bandwidth of the level holding weights and KV
  double bandwidth_floor_s = 0;        // decode_bytes_per_step / memory_bytes_per_s
  double prefill_utilization = 0, decode_utilization = 0;  // MACs / (peak x time)
  double prefill_energy_per_token_j = 0;                   // per prompt token
  double decode_energy_per_token_j = 0;                    // per generated token (one decode step / batch)
  double energy_per_token_j = 0;                           // whole request / generated tokens
  double tokens_per_joule = 0;                             // 1 / energy_per_token_j
  std::optional<npu::DeploymentCost> cost;  // the chips' cost section, when the description has one (docs/COST.md)
  double usd_per_million_tokens = 0;        // capex over the lifetime + energy (npu::kCostAssumptions)
};

// Throws an Error saying `does not fit` (level, excess, chips needed, and the --tp that would fit)
// when one chip's weights + KV cache + activations exceed the level that must hold them.
LlmSimReport simulate_llm(const LlmSimOptions& options);

// `--parallel auto`: every split of the system's chips (tp x pp x dp x ep = its count) that runs and
// fits, simulated and ranked by total tokens/s; splits whose TPOT exceeds max_tpot_s (0: no bound) rank
// after those within it. options' tp/pp/dp/ep are ignored.
struct LlmParallelChoice {
  LlmSimReport report;
  std::string why;  // memory per chip, comm fraction, bubble
  bool within_bound = true;
};
std::vector<LlmParallelChoice> search_llm_parallel(const LlmSimOptions& options, double max_tpot_s = 0);
std::string llm_parallel_table(const std::vector<LlmParallelChoice>& choices, size_t top = 5);

// Single steps of a serving engine, timed by the same path as simulate_llm (the model and the
// hardware are loaded once): a prefill of `tokens` prompt tokens for `batch` sequences with an empty
// cache, or one decode step of `batch` sequences with `context` tokens cached each. The harness's
// continuous batching interpolates between such points (harness/llm_step_costs.h).
class LlmStepSimulator {
 public:
  explicit LlmStepSimulator(const LlmSimOptions& options);  // prompt_len / gen_len / batch unused
  ~LlmStepSimulator();
  double prefill_s(int64_t batch, int64_t tokens) const;
  double decode_s(int64_t batch, int64_t context) const;

  std::string model, hw_name, memory_level;  // memory_level: where weights and KV cache live
  uint64_t weights_bytes = 0, kv_bytes_per_token = 0, capacity_bytes = 0;
  int64_t max_positions = 0;  // config models: max_position_embeddings; 0: not known
  // KV tokens that fit beside the weights and the activations of a `prompt_tokens` prefill.
  int64_t kv_capacity_tokens(int64_t prompt_tokens) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

nlohmann::json llm_sim_json(const LlmSimReport& r);
std::string llm_sim_table(const LlmSimReport& r);

}  // namespace wafer::api
