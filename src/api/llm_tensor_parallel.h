// Megatron-style tensor parallelism for the LLM simulation (Shoeybi et al., Megatron-LM, 2019): each of
// tp chips holds 1/tp of the attention heads (q/k/v columns, o rows) and of the MLP's intermediate columns
// (gate/up columns, down rows), and 1/tp of the vocabulary (embedding and lm_head rows). One chip's share
// is itself a decoder (a config with fewer heads, a narrower MLP and a smaller vocabulary), which the npu
// compiler and simulator time as any other; the communication is costed apart with npu/collectives.h.
#pragma once

#include <string>
#include <vector>

#include "frontend/llm/llm_config.h"
#include "npu/system.h"

namespace wafer::api {

// One chip's share of the model at tensor parallelism tp. KV heads are split when tp divides them and
// replicated (one per chip) when they divide tp, as Megatron does for grouped-query attention; heads and
// the intermediate size must divide by tp, else an Error names the field; the vocabulary is padded up.
llm::LlmConfig shard_for_tp(const llm::LlmConfig& c, int64_t tp);
// Whether shard_for_tp accepts tp (no error).
bool tp_divides(const llm::LlmConfig& c, int64_t tp);

struct TpComm {
  double time_s = 0, energy_j = 0;
  std::string algorithm;
  double contention = 1;  // busiest link a group uses, all groups / alone (npu/contention.h)
};

// The collectives of one phase over `tokens` = batch x new tokens: two all-reduces per decoder layer of
// tokens x hidden (after attention's o projection and the MLP's down projection), one for the
// vocabulary-parallel embedding, and an all-gather of the last position's logits (batch x vocab).
// Costed one after another, none overlapped with compute: each sits between a row-parallel GEMM and the
// norm that needs its sum. With `groups` (api/llm_parallel.h's tp_groups) every group's collectives at
// once, sharing links where they route over the same ones; without, one group on a topology of its own shape.
TpComm tp_phase_comm(const npu::SystemDesc& s, const llm::LlmConfig& full, int64_t tp, int64_t batch, int64_t tokens,
                     int64_t elem_bytes, const std::vector<std::vector<int>>& groups = {});

}  // namespace wafer::api
