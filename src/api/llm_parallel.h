// Splitting an LLM over a system of chips beyond tensor parallelism (docs/SYSTEMS.md, "Parallelism"):
// pipeline parallelism (decoder layers in pp stages, prefill pipelined over micro-batches), data
// parallelism (dp replicas) and expert parallelism for mixture-of-experts (ep chips hold a share of the
// experts each; attention runs data-parallel over them, tokens reach their experts by all-to-all).
// One chip's share is timed by the npu simulator at its tensor-parallel shard (llm_tensor_parallel.h);
// what this file adds is the per-chip memory of a split and the timing of the stages and the
// communication around that simulation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/llm/llm_config.h"
#include "npu/system.h"

namespace wafer::api {

struct ParallelSplit {
  int64_t tp = 1, pp = 1, dp = 1, ep = 1;
  int64_t chips() const { return tp * pp * dp * ep; }
  std::string flags() const;  // "--tp 4 --pp 2" (factors above 1; "--tp 1" when none)
};

// Errors (naming the flag and the reason) when the split cannot run this model on this system: a factor
// below 1, pp above the layers, ep on a dense model or not dividing the experts, tp not dividing the
// heads, or tp x pp x dp x ep above the system's chips.
void check_split(const ParallelSplit& s, const llm::LlmConfig& full, const npu::SystemDesc* system);
// The same checks as a yes/no (and the tensor-parallel group must be one the topology can all-reduce).
bool split_runs(const ParallelSplit& s, const llm::LlmConfig& full, const npu::SystemDesc& system);

// Where a split's chips sit (docs/SYSTEMS.md, "Contention"): tensor parallelism innermost and contiguous,
// then expert, data and pipeline: chip = tp rank + tp x (ep rank + ep x (dp rank + dp x stage)). The
// groups whose collectives run at the same moment, over the first `stages` pipeline stages (all of them in
// a pipelined prefill, one in decode, where the stages take turns): every tensor-parallel group (they
// all-reduce together), or every expert-parallel group (chips tp apart, all-to-all together).
std::vector<std::vector<int>> tp_groups(const ParallelSplit& s, int64_t stages);
std::vector<std::vector<int>> ep_groups(const ParallelSplit& s, int64_t stages);

// What one chip holds: its stage's decoder layers (ceil(layers / pp)), at its tensor-parallel shard, with
// 1/ep of each MoE layer's experts; the first stage holds the embedding, the last the final norm and the
// lm_head (both when the embeddings are tied); the busiest stage is the one counted.
struct ChipShare {
  int64_t layers = 0;               // decoder layers on the chip
  uint64_t weight_params = 0;       // parameters on the chip
  uint64_t kv_bytes_per_token = 0;  // per sequence, the chip's layers and KV heads
};
ChipShare chip_share(const llm::LlmConfig& full, const ParallelSplit& s, int64_t elem_bytes);

// One chip's experts under expert parallelism: experts / ep per MoE layer (ep = 1: c unchanged). With the
// same batch and top-k, the builder's balanced routing then gives each local expert tokens x top-k x ep /
// experts rows: the tokens of all ep chips that the all-to-all brings it.
llm::LlmConfig shard_for_ep(const llm::LlmConfig& c, int64_t ep);

// Fraction of a pipeline's time its stages sit idle: (pp - 1) / (m + pp - 1) for m micro-batches.
double pipeline_bubble(int64_t pp, int64_t micro_batches);

// Expert parallelism: the all-to-all dispatch and combine of one phase. Per MoE layer each chip sends
// its tokens' hidden vectors to the chips of their top-k experts and gets the results back: two
// all-to-alls of tokens x top-k x hidden x bytes (each chip's send buffer) over ep chips. With `groups`
// (ep_groups) the all-to-alls of all of them at once, sharing links (npu/contention.h); without, one
// group alone on a topology of its own shape.
struct EpComm {
  double time_s = 0, energy_j = 0;
  double bytes_per_all_to_all = 0;  // one chip's send buffer
  double contention = 1;            // busiest link the group uses, all groups / alone
};
EpComm ep_phase_comm(const npu::SystemDesc& s, const llm::LlmConfig& full, int64_t ep, int64_t tokens,
                     int64_t elem_bytes, const std::vector<std::vector<int>>& groups = {});

}  // namespace wafer::api
