#include "ir/cost.h"

#include "ir/op_registry.h"

namespace wafer {

namespace {

std::optional<int64_t> bytes_of(const Graph& g, const std::string& v) {
  auto n = known_elements(g, v);
  auto t = g.type_of(v);
  if (!n || !t || t->dtype == DType::Undefined || t->dtype == DType::String) return std::nullopt;
  return *n * int64_t(dtype_size(t->dtype));
}

// MACs and FLOPs from what the op declares (OpSchema::cost): its own count, or FLOPs per element.
OpCounts arithmetic(const Graph& g, const Node& n) {
  const OpCost* cost = OpRegistry::global().cost_of(n);
  if (!cost) return {};
  if (cost->count) return cost->count(g, n);
  if (!cost->flops_per_element) return {};  // no cost model: unknown, never zero
  if (*cost->flops_per_element == 0) return {int64_t(0), int64_t(0)};
  const std::string& basis = cost->basis == OpCost::Basis::Input ? (n.inputs.empty() ? std::string() : n.inputs[0])
                                                                 : (n.outputs.empty() ? std::string() : n.outputs[0]);
  return flops_only(known_elements(g, basis), *cost->flops_per_element);
}

}  // namespace

NodeCost node_cost(const Graph& graph, const Node& node) {
  NodeCost c;
  OpCounts k = arithmetic(graph, node);
  c.macs = k.macs;
  c.flops = k.flops;
  int64_t read = 0;
  bool read_known = true;
  for (const auto& in : node.inputs) {
    if (in.empty()) continue;
    if (const Tensor* t = graph.initializer(in)) {
      c.param_bytes += int64_t(t->nbytes());
      continue;
    }
    auto b = bytes_of(graph, in);
    if (b)
      read += *b;
    else
      read_known = false;
  }
  if (read_known) c.bytes_read = read;
  int64_t written = 0;
  bool written_known = true;
  for (const auto& out : node.outputs) {
    if (out.empty()) continue;
    auto b = bytes_of(graph, out);
    if (b)
      written += *b;
    else
      written_known = false;
  }
  if (written_known) c.bytes_written = written;
  return c;
}

namespace {
void count_params(const Graph& g, GraphCost& cost) {
  for (const auto& [_, t] : g.initializers) {
    cost.param_count += t.numel();
    cost.param_bytes += int64_t(t.nbytes());
  }
  for (const auto& n : g.nodes)
    for (const auto& [_, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) count_params(**sub, cost);
}
}  // namespace

GraphCost graph_cost(const Graph& graph) {
  GraphCost cost;
  for (const auto& n : graph.nodes) {
    NodeCost c = node_cost(graph, *n);
    if (c.macs)
      cost.macs += *c.macs;
    else
      cost.unknown_macs++;
    if (c.flops)
      cost.flops += *c.flops;
    else
      cost.unknown_flops++;
    if (c.bytes_read) cost.bytes_read += *c.bytes_read;
    if (c.bytes_written) cost.bytes_written += *c.bytes_written;
    cost.nodes.push_back({n.get(), c});
  }
  count_params(graph, cost);
  return cost;
}

}  // namespace wafer
