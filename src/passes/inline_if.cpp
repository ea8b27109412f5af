#include "passes/inline_if.h"

#include <unordered_set>

#include "passes/pass_util.h"

namespace wafer {
namespace {

// Names g defines at its own level: inputs, initializers, node outputs.
std::unordered_set<std::string> defined_names(const Graph& g) {
  std::unordered_set<std::string> names(g.inputs.begin(), g.inputs.end());
  for (const auto& [name, _] : g.initializers) names.insert(name);
  for (const auto& n : g.nodes)
    for (const auto& o : n->outputs)
      if (!o.empty()) names.insert(o);
  return names;
}

// The branch an If with a constant condition takes, or nullptr.
const Graph* taken_branch(const Graph& g, const Node& node) {
  if (!node.domain.empty() || node.op_type != "If" || node.inputs.empty()) return nullptr;
  const Tensor* cond = find_constant(g, node.inputs[0]);
  if (!cond || cond->numel() != 1) return nullptr;
  const char* branch = cond->get_int(0) != 0 ? "then_branch" : "else_branch";
  if (!node.has_attr(branch)) return nullptr;
  const Graph& body = node.attr_graph(branch);
  return body.outputs.size() == node.outputs.size() ? &body : nullptr;
}

}  // namespace

bool InlineIf::run(Graph& graph) {
  bool changed = false;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Graph* taken = taken_branch(graph, *graph.nodes[i]);
    if (!taken) continue;
    auto outer = defined_names(graph);
    auto body = taken->clone();
    bool clash = false;
    for (const auto& name : defined_names(*body)) clash |= outer.count(name) != 0;
    if (clash) continue;
    std::unique_ptr<Node> node = std::move(graph.nodes[i]);
    graph.nodes.erase(graph.nodes.begin() + std::ptrdiff_t(i));
    std::vector<std::unique_ptr<Node>> inlined;
    for (auto& n : body->nodes) {
      // Subgraphs of the inlined nodes (a nested If's branches) are enclosed by `graph` now, not by `body`.
      for (auto& [_, a] : n->attrs)
        if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) (*sub)->parent = &graph;
      inlined.push_back(std::move(n));
    }
    for (size_t k = 0; k < node->outputs.size(); ++k) {
      if (node->outputs[k].empty()) continue;
      auto id = std::make_unique<Node>();
      id->op_type = "Identity";
      id->op_version = 16;
      id->name = graph.unique_name(node->name + "_out");
      id->inputs = {body->outputs[k]};
      id->outputs = {node->outputs[k]};
      inlined.push_back(std::move(id));
    }
    for (auto& [name, t] : body->initializers) graph.initializers[name] = std::move(t);
    for (auto& [name, t] : body->types) graph.types.emplace(name, t);
    size_t count = inlined.size();
    graph.nodes.insert(graph.nodes.begin() + std::ptrdiff_t(i), std::make_move_iterator(inlined.begin()),
                       std::make_move_iterator(inlined.end()));
    i += count - 1;  // the inlined nodes may hold Ifs of their own: the pass manager's next round sees them
    changed = true;
  }
  return changed;
}

}  // namespace wafer
