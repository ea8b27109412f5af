#include "api/llm_tensor_parallel.h"

#include "core/error.h"

namespace wafer::api {

llm::LlmConfig shard_for_tp(const llm::LlmConfig& c, int64_t tp) {
  check(tp >= 1, "--tp must be at least 1, got ", tp);
  if (tp == 1) return c;
  check(c.heads % tp == 0, c.source, ": num_attention_heads (", c.heads, ") is not divisible by --tp ", tp);
  check(c.kv_heads % tp == 0 || tp % c.kv_heads == 0, c.source, ": num_key_value_heads (", c.kv_heads,
        ") neither divides nor is divisible by --tp ", tp);
  check(c.intermediate % tp == 0, c.source, ": intermediate_size (", c.intermediate, ") is not divisible by --tp ", tp);
  llm::LlmConfig s = c;
  s.heads = c.heads / tp;
  s.kv_heads = c.kv_heads % tp == 0 ? c.kv_heads / tp : 1;
  s.intermediate = c.intermediate / tp;
  s.vocab = (c.vocab + tp - 1) / tp;
  return s;
}

bool tp_divides(const llm::LlmConfig& c, int64_t tp) {
  return tp >= 1 && c.heads % tp == 0 && (c.kv_heads % tp == 0 || tp % c.kv_heads == 0) && c.intermediate % tp == 0;
}

}  // namespace wafer::api
