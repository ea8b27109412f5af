#include "passes/dead_code_elimination.h"

#include <unordered_set>

#include "passes/pass_util.h"

namespace wafer {

namespace {

bool dce_in(Graph& g) {
  bool changed = false;
  // Bodies first: what they stop reading may free values out here.
  for (auto& n : g.nodes)
    for (Graph* sub : subgraphs_of(*n)) changed |= dce_in(*sub);

  auto uses = g.use_counts();
  std::vector<bool> dead(g.nodes.size(), false);
  // Reverse topological order: a node's consumers are decided before it.
  for (size_t i = g.nodes.size(); i-- > 0;) {
    Node& n = *g.nodes[i];
    bool used = false;
    for (const auto& o : n.outputs)
      if (!o.empty() && uses[o] > 0) used = true;
    if (used) continue;
    dead[i] = true;
    changed = true;
    for (const auto& in : n.inputs)
      if (!in.empty()) uses[in]--;
    for (Graph* sub : subgraphs_of(n))
      for (const auto& v : sub->outer_references()) uses[v]--;
  }
  if (changed) {
    std::vector<std::unique_ptr<Node>> kept;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (!dead[i]) kept.push_back(std::move(g.nodes[i]));
    g.nodes = std::move(kept);
  }

  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    auto u = uses.find(it->first);
    if (u == uses.end() || u->second <= 0) {
      it = g.initializers.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }

  // Types of values that are gone (not reported as a change: nothing observable moved).
  std::unordered_set<std::string> live(g.inputs.begin(), g.inputs.end());
  live.insert(g.outputs.begin(), g.outputs.end());
  for (const auto& [k, _] : g.initializers) live.insert(k);
  for (const auto& n : g.nodes) live.insert(n->outputs.begin(), n->outputs.end());
  for (auto it = g.types.begin(); it != g.types.end();) it = live.count(it->first) ? std::next(it) : g.types.erase(it);
  return changed;
}

}  // namespace

bool DeadCodeElimination::run(Graph& graph) {
  return dce_in(graph);
}

}  // namespace wafer
