// A decoder-only transformer built from its architecture (LlmConfig) with shapes only: weights are
// declared initializers without data (ir/weight_data.h), so any size of model can be compiled and
// simulated. The graph has the inputs and outputs of a Hugging Face Optimum / ONNX Runtime GenAI
// export with a KV cache (`text-generation-with-past`):
//   inputs  input_ids [batch, seq] int64, attention_mask [batch, past+seq] int64,
//           position_ids [batch, seq] int64, past_key_values.{i}.key|value [batch, kv_heads, past, head_dim]
//   outputs logits [batch, seq, vocab], present.{i}.key|value [batch, kv_heads, past+seq, head_dim]
// and the ops such an export has (opset 17): Gather embedding; RMSNorm as Pow/ReduceMean/Add/Sqrt/
// Reciprocal/Mul (or LayerNormalization); q/k/v/o projections as MatMul; RoPE from position_ids;
// KV append by Concat; Softmax attention; SwiGLU (Sigmoid/Mul) or GELU (tanh form) MLP; lm_head.
// Where production kernels avoid a copy that eager PyTorch makes, the graph follows the kernels (see
// build_decoder). Dims are concrete: one graph per phase (prefill: seq = prompt, past = 0; decode:
// seq = 1, past = context), which is what mixture-of-experts routing needs to size each expert's rows.
#pragma once

#include <cstdint>

#include "frontend/llm/llm_config.h"
#include "ir/graph.h"

namespace wafer::llm {

// The whole decoder, or one segment of it: the embedding (with the rotary angles and the attention
// mask every layer reads), one decoder layer, or the head (final norm and lm_head). Segments pass
// `hidden_states` [batch, seq, hidden], `rotary_cos`/`rotary_sin` [batch, 1, seq, rotary_dim] and
// `attention_bias` [batch, 1, past+seq, 1] between them; a layer segment also has its cache's
// past_key_values.{i}.* / present.{i}.* and outputs `hidden_states_out`. All decoder layers of a
// config have the same shapes, so one layer segment stands for each of them (the LLM simulation
// times each distinct segment once: api/llm_sim.cpp). `send`: a pipeline stage's boundary, its
// `hidden_states` sent to the next stage's chip (wafer.Send) as `hidden_states_out`.
enum class DecoderPart { whole, embedding, layer, head, send };

struct DecoderShape {
  int64_t batch = 1;
  int64_t seq = 1;   // new tokens per sequence in this call
  int64_t past = 0;  // tokens already in the KV cache
  // Serving engines compute the logits of the last position only (the next token); an export
  // computes them for every position. True: logits [batch, 1, vocab].
  bool last_logits_only = false;
  int64_t layers = -1;  // whole: build only the first N decoder layers (-1: all)
  DecoderPart part = DecoderPart::whole;
  int64_t layer_index = 0;  // part == layer: which layer (names its weights and cache)
  // Tensor parallelism: the config is one of tp chips' shard (api/llm_tensor_parallel.h) and the graph has
  // the collectives Megatron-LM puts there (wafer.AllReduce after the attention output and MLP down
  // projections and the vocabulary-split embedding, wafer.AllGather of the logits), for the npu compiler
  // to lower onto a system's links. 1: no collectives.
  int64_t tp = 1;
  // Expert parallelism: the config's experts are one of ep chips' share (api/llm_parallel.h) and each
  // mixture-of-experts layer has a wafer.AllToAll of its tokens x top-k slots where it dispatches them to the
  // experts and another where it combines their outputs (as DeepSpeed-MoE and Megatron-LM place them).
  int64_t ep = 1;
};

// The decoder graph (float32 value types; the npu compiler costs it at the precision asked for).
// Mixture-of-experts layers route each token to experts_per_token of the experts; for timing the
// routing is taken as balanced: min(experts, tokens x k) experts are active and each runs its MLP
// over ceil(tokens x k / active) rows, so a decode step with one token reads k experts' weights.
Model build_decoder(const LlmConfig& config, const DecoderShape& shape);

}  // namespace wafer::llm
