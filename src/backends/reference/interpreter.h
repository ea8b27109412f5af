// The reference interpreter: runs a graph node by node with the op registry's
// reference kernels. Plain and obviously right; the executable specification
// every other backend is tested against.
#pragma once

#include <unordered_map>

#include "ir/op_registry.h"

namespace wafer {

class Interpreter : public SubgraphRunner {
 public:
  // Runs `graph` with `inputs` in graph-input order; returns graph outputs.
  std::vector<Tensor> run(const Graph& graph, const std::vector<Tensor>& inputs);
  std::vector<Tensor> run_subgraph(const Graph& body, const std::vector<Tensor>& inputs) override;

  // Called after each node with its outputs (for debugging and per-node checks).
  std::function<void(const Node&, const std::vector<Tensor>&)> on_node;

 private:
  using Scope = std::unordered_map<std::string, Tensor>;
  std::vector<Tensor> run_in_scope(const Graph& graph, const std::vector<Tensor>& inputs);
  const Tensor* lookup(const std::string& name) const;
  const std::unordered_map<std::string, int>& last_uses(const Graph& graph);

  std::vector<Scope*> scopes_;  // innermost last
  std::unordered_map<const Graph*, std::unordered_map<std::string, int>> last_use_cache_;
};

}  // namespace wafer
