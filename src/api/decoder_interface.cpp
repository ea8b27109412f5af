#include "api/decoder_interface.h"

#include <algorithm>

namespace wafer::api {
namespace {

int position_of(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : int(it - names.begin());
}

}  // namespace

DecoderInterface decoder_interface(const Graph& graph, const std::string& model_path) {
  DecoderInterface d;
  auto need = [&](const std::vector<std::string>& names, const std::string& name, const char* what) {
    int i = position_of(names, name);
    check(i >= 0, model_path, ": not a decoder with a KV cache (text-generation-with-past): no ", what, " '", name,
          "'");
    return i;
  };
  d.input_ids = need(graph.inputs, "input_ids", "input");
  d.attention_mask = need(graph.inputs, "attention_mask", "input");
  // Positions are given explicitly: the cache is a fixed-capacity buffer whose unused slots are masked, so a
  // model that derived positions from the past length would number the new tokens wrongly.
  d.position_ids = need(graph.inputs, "position_ids", "input");
  d.logits = need(graph.outputs, "logits", "output");
  for (int layer = 0;; ++layer) {
    std::string prefix = "past_key_values." + std::to_string(layer) + ".";
    if (position_of(graph.inputs, prefix + "key") < 0) break;
    for (const char* kv : {"key", "value"}) {
      d.past.push_back(need(graph.inputs, prefix + kv, "input"));
      d.present.push_back(need(graph.outputs, "present." + std::to_string(layer) + "." + kv, "output"));
    }
  }
  check(!d.past.empty(), model_path, ": not a decoder with a KV cache (text-generation-with-past): no input ",
        "'past_key_values.0.key'");
  for (int p : d.past) {
    const std::string& name = graph.inputs[size_t(p)];
    auto type = graph.type_of(name);
    check(type && type->shape.rank_known && type->shape.dims.size() == 4, model_path, ": input '", name,
          "' must be 4-d [batch, kv_heads, past, head_dim]");
    const auto& dims = type->shape.dims;
    check(dims[1].known() && dims[3].known(), model_path, ": input '", name,
          "' needs static kv_heads and head_dim (dims 1 and 3)");
    if (p == d.past.front()) {
      d.kv_heads = dims[1].value;
      d.head_dim = dims[3].value;
      d.cache_dtype = type->dtype;
    }
    check(dims[1].value == d.kv_heads && dims[3].value == d.head_dim && type->dtype == d.cache_dtype, model_path,
          ": input '", name, "' differs from past_key_values.0.key in kv_heads, head_dim or dtype");
  }
  for (int i : {d.input_ids, d.attention_mask, d.position_ids}) {
    const std::string& name = graph.inputs[size_t(i)];
    auto type = graph.type_of(name);
    check(type && type->dtype == DType::Int64, model_path, ": input '", name, "' must be int64");
  }
  if (auto type = graph.type_of(graph.outputs[size_t(d.logits)]);
      type && type->shape.rank_known && type->shape.dims.size() == 3 && type->shape.dims[2].known())
    d.vocab = type->shape.dims[2].value;
  return d;
}

}  // namespace wafer::api
