// Constant folding: evaluates nodes whose inputs are all constants with the
// op's reference kernel and replaces them by initializers.
//
// Never folded: random ops, Dropout (identity removal handles inference
// Dropout), control flow and nodes with subgraphs, ops without a kernel, and
// results over `max_elements` (so folding cannot blow up memory or the model).
// A kernel that throws leaves the node in place: the error then surfaces at
// run time, where it belongs.
//
// Shape folding: Shape of a value whose shape is fully known becomes a
// constant, and Gather/Slice of a Shape output fold when the dims they pick
// are known, even when other dims are symbolic. With these, the
// Shape->Gather->Unsqueeze->Concat->Reshape chains that PyTorch exports for a
// dynamic batch fold completely once the batch is bound.
#pragma once

#include "passes/pass_manager.h"

namespace wafer {

class ConstantFolding : public Pass {
 public:
  explicit ConstantFolding(int64_t max_elements = int64_t(16) << 20) : max_elements_(max_elements) {}
  std::string name() const override { return "constant-folding"; }
  bool run(Graph& graph) override;

 private:
  int64_t max_elements_;
};

// Ops whose result is not a function of their inputs alone.
bool is_nondeterministic_op(const Node& node);

}  // namespace wafer
