// Cost counting: MACs, FLOPs, parameter bytes and activation traffic per node,
// from the inferred types in Graph::types (run shape propagation first).
//
// Conventions: one multiply-accumulate is one MAC and two FLOPs; other
// arithmetic counts one FLOP per output (or input, for reductions) element,
// with fixed per-element counts for composite ops (Softmax, normalizations),
// as each op declares in its registration (OpSchema::cost, ir/op_cost.h). Data movement (Reshape, Transpose, Gather,
// ...) is zero FLOPs but still reads and writes bytes. What cannot be counted (an unknown shape, an op without a cost
// model, control flow) is "unknown" (nullopt), never a silent zero.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace wafer {

struct NodeCost {
  std::optional<int64_t> macs;
  std::optional<int64_t> flops;
  int64_t param_bytes = 0;               // bytes of the node's constant inputs (initializers)
  std::optional<int64_t> bytes_read;     // non-constant inputs
  std::optional<int64_t> bytes_written;  // outputs
};

NodeCost node_cost(const Graph& graph, const Node& node);

struct GraphCost {
  struct Entry {
    const Node* node;
    NodeCost cost;
  };
  std::vector<Entry> nodes;                   // in graph order (top-level graph only; control flow is unknown)
  int64_t macs = 0, flops = 0;                // sums over nodes whose cost is known
  int64_t bytes_read = 0, bytes_written = 0;  // likewise
  int64_t unknown_macs = 0;                   // nodes whose MACs are unknown
  int64_t unknown_flops = 0;                  // nodes whose FLOPs are unknown
  int64_t param_count = 0;                    // elements of all initializers (subgraphs included)
  int64_t param_bytes = 0;
};

GraphCost graph_cost(const Graph& graph);

}  // namespace wafer
