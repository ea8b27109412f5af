// Megatron-style tensor parallelism for the LLM simulation (Shoeybi et al., Megatron-LM, 2019): each of
// tp chips holds 1/tp of the attention heads (q/k/v columns, o rows) and of the MLP's intermediate columns
// (gate/up columns, down rows), and 1/tp of the vocabulary (embedding and lm_head rows). One chip's share
// is itself a decoder (a config with fewer heads, a narrower MLP and a smaller vocabulary), built with the
// collectives of the split (llm::DecoderShape::tp), which the npu compiler lowers onto the system's links and
// the simulator runs with the chip's compute (docs/SYSTEMS.md).
#pragma once

#include "frontend/llm/llm_config.h"

namespace wafer::api {

// One chip's share of the model at tensor parallelism tp. KV heads are split when tp divides them and
// replicated (one per chip) when they divide tp, as Megatron does for grouped-query attention; heads and
// the intermediate size must divide by tp, else an Error names the field; the vocabulary is padded up.
llm::LlmConfig shard_for_tp(const llm::LlmConfig& c, int64_t tp);
// Whether shard_for_tp accepts tp (no error).
bool tp_divides(const llm::LlmConfig& c, int64_t tp);

}  // namespace wafer::api
