#include "api/llm_parallel.h"

#include <algorithm>

#include "api/llm_tensor_parallel.h"
#include "core/error.h"
#include "npu/collectives.h"
#include "npu/contention.h"

namespace wafer::api {

std::string ParallelSplit::flags() const {
  std::string f;
  for (auto [name, v] : {std::pair{"--tp ", tp}, {"--pp ", pp}, {"--dp ", dp}, {"--ep ", ep}})
    if (v > 1) {
      if (!f.empty()) f += ' ';
      f += name;
      f += std::to_string(v);
    }
  return f.empty() ? "--tp 1" : f;
}

void check_split(const ParallelSplit& s, const llm::LlmConfig& full, const npu::SystemDesc* system) {
  for (auto [name, v] : {std::pair{"--tp", s.tp}, {"--pp", s.pp}, {"--dp", s.dp}, {"--ep", s.ep}})
    check(v >= 1, name, " must be at least 1, got ", v);
  check(s.pp <= full.layers, "--pp ", s.pp, " is more stages than the ", full.layers, " decoder layers of ",
        full.source);
  if (s.ep > 1) {
    check(full.moe(), "--ep ", s.ep, ": ", full.source, " is a dense model (no experts to spread)");
    check(full.experts % s.ep == 0, "--ep ", s.ep, " does not divide the ", full.experts, " experts of ", full.source);
  }
  shard_for_tp(full, s.tp);  // names the field tp does not divide
  if (s.chips() > 1) {
    check(system != nullptr, s.flags(), " needs a system of chips for --hw (e.g. dgx-h100: wafer hw --list)");
    check(s.chips() <= system->count, "tp x pp x dp x ep = ", s.tp, " x ", s.pp, " x ", s.dp, " x ", s.ep, " = ",
          s.chips(), " chips, more than the ", system->count, " chips of ", system->name);
  }
}

bool split_runs(const ParallelSplit& s, const llm::LlmConfig& full, const npu::SystemDesc& system) {
  try {
    check_split(s, full, &system);
    // The groups where they sit (a ring's part, a block of a torus) must be able to run their collectives.
    if (s.tp > 1) npu::concurrent_collective(system, npu::Collective::AllReduce, tp_groups(s, s.pp), 1.0);
    if (s.ep > 1) npu::concurrent_collective(system, npu::Collective::AllToAll, ep_groups(s, s.pp), 1.0);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::vector<std::vector<int>> tp_groups(const ParallelSplit& s, int64_t stages) {
  return npu::strided_groups(int(s.tp * s.ep * s.dp * stages), int(s.tp));
}

std::vector<std::vector<int>> ep_groups(const ParallelSplit& s, int64_t stages) {
  return npu::strided_groups(int(s.tp * s.ep * s.dp * stages), int(s.ep), int(s.tp));
}

ChipShare chip_share(const llm::LlmConfig& full, const ParallelSplit& s, int64_t eb) {
  const llm::LlmConfig c = shard_for_tp(full, s.tp);
  ChipShare share;
  share.layers = (c.layers + s.pp - 1) / s.pp;
  uint64_t layer = uint64_t(c.layer_parameter_count());
  if (c.moe() && s.ep > 1) {
    // Each expert's MLP (at the tp shard); the router stays whole on every chip.
    const uint64_t expert = uint64_t(c.mlp == llm::MlpKind::SwiGlu ? 3 : 2) * uint64_t(c.hidden * c.intermediate);
    layer -= expert * uint64_t(c.experts - c.experts / s.ep);
  }
  const uint64_t ends = uint64_t(c.parameter_count()) - uint64_t(c.layers) * uint64_t(c.layer_parameter_count());
  const uint64_t embedding = uint64_t(c.vocab * c.hidden);
  // One stage holds both ends; else the first the embedding, the last the rest (or the embedding again
  // when the lm_head shares it).
  const uint64_t end_share = s.pp == 1 ? ends : c.tied_embeddings ? ends : std::max(embedding, ends - embedding);
  share.weight_params = uint64_t(share.layers) * layer + end_share;
  share.kv_bytes_per_token = uint64_t(c.kv_bytes_per_token(eb)) / uint64_t(c.layers) * uint64_t(share.layers);
  return share;
}

llm::LlmConfig shard_for_ep(const llm::LlmConfig& c, int64_t ep) {
  if (ep <= 1 || !c.moe()) return c;
  check(c.experts % ep == 0, "--ep ", ep, " does not divide the ", c.experts, " experts of ", c.source);
  llm::LlmConfig s = c;
  s.experts = c.experts / ep;
  return s;
}

double pipeline_bubble(int64_t pp, int64_t m) {
  check(pp >= 1 && m >= 1, "pipeline of ", pp, " stages and ", m, " micro-batches: need at least 1 of each");
  return double(pp - 1) / double(m + pp - 1);
}

EpComm ep_phase_comm(const npu::SystemDesc& s, const llm::LlmConfig& full, int64_t ep, int64_t tokens, int64_t eb,
                     const std::vector<std::vector<int>>& groups) {
  EpComm e;
  if (ep <= 1 || !full.moe()) return e;
  e.bytes_per_all_to_all = double(tokens) * double(full.experts_per_token) * double(full.hidden) * double(eb);
  try {
    npu::CollectiveCost a2a;
    if (groups.empty()) {
      a2a = npu::system_collective(s, npu::Collective::AllToAll, int(ep), e.bytes_per_all_to_all);
    } else {
      const npu::ConcurrentCost all =
          npu::concurrent_collective(s, npu::Collective::AllToAll, groups, e.bytes_per_all_to_all);
      a2a = all.cost, e.contention = all.contention;
    }
    e.time_s = 2.0 * double(full.layers) * a2a.time_s;
    e.energy_j = 2.0 * double(full.layers) * a2a.energy_j / double(ep);  // one group's share
  } catch (const Error& err) {
    fail("--ep ", ep, " on ", s.name, ": ", err.what());
  }
  return e;
}

}  // namespace wafer::api
