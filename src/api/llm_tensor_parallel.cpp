#include "api/llm_tensor_parallel.h"

#include "core/error.h"
#include "npu/collectives.h"
#include "npu/contention.h"

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

TpComm tp_phase_comm(const npu::SystemDesc& s, const llm::LlmConfig& full, int64_t tp, int64_t batch, int64_t tokens,
                     int64_t eb, const std::vector<std::vector<int>>& groups) {
  TpComm t;
  if (tp <= 1) return t;
  const double activations = double(tokens) * double(full.hidden) * double(eb);
  const double logits = double(batch) * double((full.vocab + tp - 1) / tp * tp) * double(eb);
  try {
    npu::CollectiveCost ar, ag;
    if (groups.empty()) {
      ar = npu::system_collective(s, npu::Collective::AllReduce, int(tp), activations);
      ag = npu::system_collective(s, npu::Collective::AllGather, int(tp), logits);
    } else {
      const npu::ConcurrentCost all = npu::concurrent_collective(s, npu::Collective::AllReduce, groups, activations);
      ar = all.cost, t.contention = all.contention;
      ag = npu::concurrent_collective(s, npu::Collective::AllGather, groups, logits).cost;
    }
    const double n_ar = 2.0 * double(full.layers) + 1;
    t.time_s = n_ar * ar.time_s + ag.time_s;
    t.energy_j = n_ar * ar.energy_j + ag.energy_j;
    t.algorithm = std::string(npu::algorithm_name(ar.algorithm));
  } catch (const Error& e) {
    fail("--tp ", tp, " on ", s.name, ": ", e.what());
  }
  return t;
}

}  // namespace wafer::api
