#include "passes/common_subexpression.h"

#include <cstring>
#include <functional>
#include <unordered_map>

#include "passes/constant_folding.h"
#include "passes/pass_util.h"

namespace wafer {

namespace {

void mix(size_t& h, size_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.dims() != b.dims()) return false;
  if (!a.defined()) return true;
  return a.same_buffer(b) || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Floats compare by bit pattern: NaN attributes are equal to themselves and
// -0.0 differs from 0.0, which is what "same computation" needs.
bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

bool same_attr(const Attribute& a, const Attribute& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case AttrType::Float: {
      float x = std::get<float>(a.value), y = std::get<float>(b.value);
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    case AttrType::Floats:
      return same_floats(std::get<std::vector<float>>(a.value), std::get<std::vector<float>>(b.value));
    case AttrType::Tensor:
      return same_tensor(std::get<Tensor>(a.value), std::get<Tensor>(b.value));
    case AttrType::Graph:
      return false;
    case AttrType::Int:
      return std::get<int64_t>(a.value) == std::get<int64_t>(b.value);
    case AttrType::String:
      return std::get<std::string>(a.value) == std::get<std::string>(b.value);
    case AttrType::Ints:
      return std::get<std::vector<int64_t>>(a.value) == std::get<std::vector<int64_t>>(b.value);
    case AttrType::Strings:
      return std::get<std::vector<std::string>>(a.value) == std::get<std::vector<std::string>>(b.value);
  }
  return false;
}

size_t node_hash(const Node& n) {
  std::hash<std::string> hs;
  size_t h = hs(n.op_type);
  mix(h, hs(n.domain));
  mix(h, size_t(n.op_version));
  for (const auto& i : n.inputs) mix(h, hs(i));
  mix(h, n.outputs.size());
  for (const auto& [k, a] : n.attrs) {
    mix(h, hs(k));
    mix(h, size_t(a.type()));
    if (a.type() == AttrType::Int) mix(h, size_t(std::get<int64_t>(a.value)));
    if (a.type() == AttrType::Ints)
      for (int64_t v : std::get<std::vector<int64_t>>(a.value)) mix(h, size_t(v));
    if (a.type() == AttrType::String) mix(h, hs(std::get<std::string>(a.value)));
  }
  return h;
}

bool can_merge(const Node& n) {
  return !is_nondeterministic_op(n) && !has_subgraph(n) && !n.outputs.empty();
}

bool cse_in(Graph& g) {
  bool changed = false;
  for (auto& n : g.nodes)
    for (Graph* sub : subgraphs_of(*n)) changed |= cse_in(*sub);
  std::unordered_multimap<size_t, Node*> seen;
  std::unordered_map<std::string, std::string> renamed;  // removed output -> kept output
  std::vector<bool> removed(g.nodes.size(), false);
  // Nodes are in topological order, so a kept node precedes its duplicates;
  // renaming inputs as we go lets whole duplicated chains collapse in one pass.
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node* node = g.nodes[i].get();
    for (auto& in : node->inputs)
      if (auto it = renamed.find(in); it != renamed.end()) in = it->second;
    if (!can_merge(*node)) continue;
    size_t h = node_hash(*node);
    Node* original = nullptr;
    auto [lo, hi] = seen.equal_range(h);
    for (auto it = lo; it != hi && !original; ++it)
      if (same_computation(*it->second, *node)) original = it->second;
    for (size_t o = 0; original && o < node->outputs.size(); ++o) {
      const std::string& out = node->outputs[o];
      if (!out.empty() && (original->outputs[o].empty() || is_graph_output(g, out))) original = nullptr;
    }
    if (!original) {
      seen.emplace(h, node);
      continue;
    }
    for (size_t o = 0; o < node->outputs.size(); ++o)
      if (!node->outputs[o].empty()) {
        renamed[node->outputs[o]] = original->outputs[o];
        g.types.erase(node->outputs[o]);
      }
    removed[i] = true;
    changed = true;
  }
  if (!changed) return false;
  std::vector<std::unique_ptr<Node>> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  // Reads from subgraphs (their outputs are positional, so renaming is safe there too).
  bool any_subgraph = false;
  for (const auto& n : g.nodes) any_subgraph |= has_subgraph(*n);
  if (any_subgraph)
    for (const auto& [from, to] : renamed) replace_uses(g, from, to);
  return true;
}

}  // namespace

bool same_computation(const Node& a, const Node& b) {
  if (a.op_type != b.op_type || a.domain != b.domain || a.op_version != b.op_version || a.inputs != b.inputs ||
      a.outputs.size() != b.outputs.size() || a.attrs.size() != b.attrs.size())
    return false;
  for (auto ia = a.attrs.begin(), ib = b.attrs.begin(); ia != a.attrs.end(); ++ia, ++ib)
    if (ia->first != ib->first || !same_attr(ia->second, ib->second)) return false;
  return true;
}

bool CommonSubexpressionElimination::run(Graph& graph) {
  return cse_in(graph);
}

}  // namespace wafer
