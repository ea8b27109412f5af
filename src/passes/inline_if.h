// If inlining: an If whose condition is a constant is replaced by the nodes of the branch it takes,
// so the rest of the pipeline (fusions, a backend's fast kernels) sees them as ordinary nodes.
//
// The branch's initializers move to the graph and an Identity from each branch output to the If's
// output keeps the If's output names (identity removal then drops it where it can). A branch that
// defines a name the graph already defines is left alone (the If stays): inlining would merge two
// values under one name. Conditions become constants by constant folding, e.g. once a backend binds
// a small input such as a sample rate to its value (src/backends/cpu/cpu_backend.cpp).
#pragma once

#include "passes/pass_manager.h"

namespace wafer {

class InlineIf : public Pass {
 public:
  std::string name() const override { return "inline-if"; }
  bool run(Graph& graph) override;
};

}  // namespace wafer
