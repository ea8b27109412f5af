// Dead-code elimination: removes nodes whose outputs nobody reads (graph
// outputs and reads from subgraphs count), then initializers nobody reads,
// then types of values that no longer exist. Graph inputs are the model's
// interface and stay even when unused.
#pragma once

#include "passes/pass_manager.h"

namespace wafer {

class DeadCodeElimination : public Pass {
 public:
  std::string name() const override { return "dead-code-elimination"; }
  bool run(Graph& graph) override;
};

}  // namespace wafer
