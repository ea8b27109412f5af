#include "passes/identity_removal.h"

#include "passes/pass_util.h"

namespace wafer {

bool is_removable_identity(const Graph& g, const Node& node, const std::unordered_map<std::string, int>& uses) {
  if (!node.domain.empty() || node.inputs.empty() || node.inputs[0].empty() || node.outputs.empty() ||
      node.outputs[0].empty() || has_subgraph(node))
    return false;
  if (node.op_type == "Identity") return node.outputs.size() == 1;
  if (node.op_type != "Dropout") return false;
  // The mask must be absent or unread.
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
    auto it = uses.find(node.outputs[1]);
    if (it != uses.end() && it->second > 0) return false;
  }
  if (node.op_version < 7 && node.attr_int("is_test", 0) == 0) return false;  // old Dropout trained by default
  if (node.op_version >= 12 && node.has_input(2)) {
    // training_mode must be a constant false.
    const Tensor* t = find_constant(g, node.inputs[2]);
    if (!t || t->numel() != 1 || t->get_int(0) != 0) return false;
  }
  return true;
}

namespace {

bool remove_in(Graph& g) {
  bool changed = false;
  for (auto& n : g.nodes)
    for (Graph* sub : subgraphs_of(*n)) changed |= remove_in(*sub);
  auto uses = g.use_counts();
  auto producers = g.producers();
  for (size_t i = 0; i < g.nodes.size();) {
    Node& node = *g.nodes[i];
    if (!is_removable_identity(g, node, uses)) {
      ++i;
      continue;
    }
    const std::string x = node.inputs[0];
    const std::string y = node.outputs[0];
    if (!is_graph_output(g, y)) {
      replace_uses(g, y, x);
    } else {
      // y must keep its name: make x's producer write y directly.
      auto p = producers.find(x);
      if (p == producers.end() || is_graph_output(g, x)) {
        ++i;
        continue;
      }
      Node* producer = p->second;
      for (auto& o : producer->outputs)
        if (o == x) o = y;
      replace_uses(g, x, y);
      if (!g.types.count(y))
        if (auto it = g.types.find(x); it != g.types.end()) g.types[y] = it->second;
      g.types.erase(x);
      producers.erase(x);
      producers[y] = producer;
    }
    // Use counts of masks, the only thing `uses` decides, are not affected.
    g.nodes.erase(g.nodes.begin() + std::ptrdiff_t(i));
    changed = true;
  }
  return changed;
}

}  // namespace

bool IdentityRemoval::run(Graph& graph) {
  return remove_in(graph);
}

}  // namespace wafer
