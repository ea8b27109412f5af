// Shape propagation: fills Graph::types for every value from the op
// registry's infer functions, subgraphs included.
//
// Bound symbols are substituted first (an input declared [batch,3,224,224]
// becomes [8,3,224,224] with batch=8). Ops without inference leave their
// outputs unknown (or as declared by the model's value_info); inference that
// contradicts what is known (an infer function throwing, or a declared dim or
// dtype disagreeing) is an Error naming the node.
#pragma once

#include "passes/pass_manager.h"

namespace wafer {

class ShapePropagation : public Pass {
 public:
  explicit ShapePropagation(SymbolBindings symbols = {}) : symbols_(std::move(symbols)) {}
  std::string name() const override { return "shape-propagation"; }
  bool run(Graph& graph) override;

 private:
  SymbolBindings symbols_;
};

// Replaces bound symbolic dims in `t`; returns true when anything changed.
bool bind_symbols(ValueType& t, const SymbolBindings& symbols);

// Infers the output types of one node from its inputs' current types and
// stores them in g.types (subgraphs not included). Returns true when a type
// changed; throws naming the node on an inconsistency.
bool infer_node_types(Graph& g, const Node& node, const SymbolBindings& symbols = {});

// The more precise of a known (declared or earlier) type and a freshly
// inferred one; throws naming `node` when they contradict each other.
ValueType merge_types(const ValueType& known, const ValueType& inferred, const Node& node, const std::string& value);

}  // namespace wafer
