// The interface of a decoder-only transformer exported with a KV cache in the Hugging Face Optimum
// `text-generation-with-past` convention: which graph input and output is which, and the cache geometry.
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
#include "ir/graph.h"

namespace wafer::api {

struct DecoderInterface {
  // Graph-input positions.
  int input_ids = -1, attention_mask = -1, position_ids = -1;
  std::vector<int> past;  // past_key_values.{i}.key, .value, layer by layer: 2 per layer
  // Graph-output positions.
  int logits = -1;
  std::vector<int> present;  // present.{i}.key, .value, parallel to `past`
  // From the declared types of the past inputs (the same for every layer).
  int64_t kv_heads = 0, head_dim = 0;
  DType cache_dtype = DType::Float32;
  int64_t vocab = 0;  // the logits' last dim, 0 when the model leaves it symbolic

  int layers() const { return int(past.size() / 2); }
};

// Finds the convention's inputs and outputs by name. A model without them (or with a past input whose
// heads/head_dim are not static) is an error naming the model file and what is missing.
DecoderInterface decoder_interface(const Graph& graph, const std::string& model_path);

}  // namespace wafer::api
