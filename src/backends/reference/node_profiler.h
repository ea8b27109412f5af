// Per-node profile of graphs the reference interpreter runs: the reference
// backend's `--profile`, and the cpu backend's for graphs it interprets whole
// (control flow). Each node is charged, per run, the time since the previous
// node ended (less the profiler's own bookkeeping), so a run's rows add up to
// the run; nodes inside If/Loop/Scan bodies get rows of their own (the
// control-flow node keeps what its body's nodes did not take).
#pragma once

#include <chrono>
#include <map>
#include <memory>

#include "backends/profile.h"
#include "backends/reference/interpreter.h"

namespace wafer {

class NodeProfiler {
 public:
  // Hooks `interp` (its on_node) for every later run; the profiler must outlive the runs.
  void attach(Interpreter& interp);
  // Brackets one run of `graph` with `inputs`: costs come from a copy of the graph
  // whose types are propagated from the first profiled run's input shapes.
  void begin_run(const Graph& graph, const std::vector<Tensor>& inputs);
  void end_run() { ++runs_; }
  void clear();
  Profile profile() const;

 private:
  StepProfile& entry(const Node& node);
  std::chrono::steady_clock::time_point last_;
  std::map<const Node*, size_t> index_;
  std::vector<StepProfile> steps_;
  int runs_ = 0;
  // Top-level nodes of the typed copy, by the position of the node in the graph run.
  std::unique_ptr<Graph> typed_;
  std::map<const Node*, const Node*> typed_node_;
};

}  // namespace wafer
