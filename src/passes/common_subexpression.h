// Common-subexpression elimination: of two nodes with the same op, domain,
// version, inputs and attributes (tensor attributes compared by value), the
// later one is removed and its consumers read the earlier one's outputs.
// Random ops and nodes with subgraphs are never merged; a node whose output
// is a graph output keeps its name and is left alone.
#pragma once

#include "passes/pass_manager.h"

namespace wafer {

class CommonSubexpressionElimination : public Pass {
 public:
  std::string name() const override { return "cse"; }
  bool run(Graph& graph) override;
};

// Whether a and b compute the same values (ignoring their names and outputs).
bool same_computation(const Node& a, const Node& b);

}  // namespace wafer
