#include "backends/reference/node_profiler.h"

#include "ir/cost.h"
#include "passes/shape_propagation.h"

namespace wafer {

void NodeProfiler::attach(Interpreter& interp) {
  interp.on_node = [this](const Node& node, const std::vector<Tensor>&) {
    auto now = std::chrono::steady_clock::now();
    StepProfile& s = entry(node);
    s.run_ms.resize(size_t(runs_) + 1, 0.0);  // a node first seen in this run: 0 in the earlier ones
    s.run_ms.back() += std::chrono::duration<double, std::milli>(now - last_).count();
    // The bookkeeping above (a new row's cost model, map look-ups) is not the next node's time.
    last_ = std::chrono::steady_clock::now();
  };
}

void NodeProfiler::begin_run(const Graph& graph, const std::vector<Tensor>& inputs) {
  if (!typed_) {
    // The imported graph may not type its intermediates: the cost model needs them.
    typed_ = graph.clone();
    for (size_t i = 0; i < typed_->inputs.size() && i < inputs.size(); ++i) {
      ValueType vt;
      vt.dtype = inputs[i].dtype();
      vt.shape = Shape::from(inputs[i].dims());
      typed_->types[typed_->inputs[i]] = vt;
    }
    try {
      ShapePropagation().run(*typed_);
    } catch (const Error&) {
      // Costs stay unknown where types do; the times do not depend on them.
    }
    for (size_t i = 0; i < graph.nodes.size() && i < typed_->nodes.size(); ++i)
      typed_node_[graph.nodes[i].get()] = typed_->nodes[i].get();
  }
  // Every row gets this run's slot: nodes that do not run this time (an untaken If branch) show 0.
  for (auto& s : steps_) s.run_ms.resize(size_t(runs_) + 1, 0.0);
  last_ = std::chrono::steady_clock::now();
}

void NodeProfiler::clear() {
  index_.clear();
  steps_.clear();
  runs_ = 0;
}

StepProfile& NodeProfiler::entry(const Node& node) {
  auto [it, fresh] = index_.emplace(&node, steps_.size());
  if (!fresh) return steps_[it->second];
  StepProfile s;
  s.label = node.label();
  s.op = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
  s.library = "reference";
  s.kernel = "reference";
  if (auto t = typed_node_.find(&node); t != typed_node_.end()) {
    NodeCost c = node_cost(*typed_, *t->second);
    s.flops = c.flops;
    if (c.bytes_read && c.bytes_written) s.bytes = *c.bytes_read + c.param_bytes + *c.bytes_written;
    s.compute = c.macs.value_or(0) > 0;
  }
  steps_.push_back(std::move(s));
  return steps_.back();
}

Profile NodeProfiler::profile() const {
  return Profile{runs_, steps_};
}

}  // namespace wafer
