// Identity removal: Identity nodes, and Dropout in inference mode whose mask
// nobody reads, are removed and their consumers read the input directly.
//
// Graph output names are part of the model's interface: when the removed
// node's output is a graph output, the producer of its input is renamed to
// write the output instead (possible when that producer is a node of the same
// graph and its value is not itself a graph output); otherwise the node stays.
#pragma once

#include "passes/pass_manager.h"

namespace wafer {

class IdentityRemoval : public Pass {
 public:
  std::string name() const override { return "identity-removal"; }
  bool run(Graph& graph) override;
};

// Identity, or Dropout that is the identity (inference mode, mask unused).
bool is_removable_identity(const Graph& g, const Node& node, const std::unordered_map<std::string, int>& uses);

}  // namespace wafer
