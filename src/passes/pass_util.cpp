#include "passes/pass_util.h"

#include <algorithm>

namespace wafer {

std::vector<Graph*> subgraphs_of(Node& node) {
  std::vector<Graph*> out;
  for (auto& [_, a] : node.attrs)
    if (auto* g = std::get_if<std::shared_ptr<Graph>>(&a.value)) out.push_back(g->get());
  return out;
}

bool has_subgraph(const Node& node) {
  for (const auto& [_, a] : node.attrs)
    if (a.type() == AttrType::Graph) return true;
  return false;
}

bool defines(const Graph& g, const std::string& name) {
  if (g.is_initializer(name)) return true;
  if (std::find(g.inputs.begin(), g.inputs.end(), name) != g.inputs.end()) return true;
  for (const auto& n : g.nodes)
    for (const auto& o : n->outputs)
      if (o == name) return true;
  return false;
}

const Tensor* find_constant(const Graph& g, const std::string& name) {
  if (name.empty()) return nullptr;
  for (const Graph* s = &g; s; s = s->parent) {
    if (const Tensor* t = s->initializer(name)) return t;
    // A value defined in a subgraph (input or node output) hides outer
    // initializers of the same name. Subgraphs are small, so the scan is cheap.
    if (!s->parent || defines(*s, name)) return nullptr;
  }
  return nullptr;
}

bool is_graph_output(const Graph& g, const std::string& name) {
  return std::find(g.outputs.begin(), g.outputs.end(), name) != g.outputs.end();
}

namespace {
void replace_in_subgraph(Graph& g, const std::string& from, const std::string& to) {
  if (defines(g, from)) return;  // shadowed: reads of `from` in here mean the local value
  replace_uses(g, from, to);
  for (auto& o : g.outputs)
    if (o == from) o = to;
}
}  // namespace

void replace_uses(Graph& g, const std::string& from, const std::string& to) {
  for (auto& n : g.nodes) {
    for (auto& in : n->inputs)
      if (in == from) in = to;
    for (Graph* sub : subgraphs_of(*n)) replace_in_subgraph(*sub, from, to);
  }
}

}  // namespace wafer
