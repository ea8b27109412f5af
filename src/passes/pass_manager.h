// A small pass manager: passes are objects with a name and run(Graph&) that
// says whether anything changed. The manager runs a list once or to a fixed
// point (bounded), times each pass, and verifies the graph after every pass
// when verification is on, so a broken invariant names the pass that broke it.
//
//   PassManager pm;
//   pm.add(std::make_unique<ShapePropagation>(symbols));
//   pm.add(std::make_unique<DeadCodeElimination>());
//   pm.set_max_iterations(8);  // repeat the list until nothing changes
//   pm.run(graph);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace wafer {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  // Rewrites the graph (and, where it makes sense, its subgraphs) in place.
  // Returns true when anything changed.
  virtual bool run(Graph& graph) = 0;
};

struct PassStats {
  std::string name;
  int runs = 0;
  int changed = 0;  // runs that changed the graph
  double ms = 0;    // total wall time
};

// Verification default: on in debug builds, or when WAFER_VERIFY_PASSES=1.
bool verify_passes_by_default();

class PassManager {
 public:
  PassManager& add(std::unique_ptr<Pass> pass);
  // 1 = run the list once; n > 1 = repeat until a round changes nothing, at most n rounds.
  void set_max_iterations(int n) { max_iterations_ = n < 1 ? 1 : n; }
  void set_verify(bool on) { verify_ = on; }
  bool verify() const { return verify_; }

  // Runs the passes; returns true when any pass changed the graph.
  bool run(Graph& graph);
  int rounds() const { return rounds_; }  // rounds the last run() took
  const std::vector<PassStats>& stats() const { return stats_; }
  std::string stats_report() const;  // one line per pass, with times in ms

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassStats> stats_;
  int max_iterations_ = 1;
  int rounds_ = 0;
  bool verify_ = verify_passes_by_default();
};

struct OptimizeOptions {
  SymbolBindings symbols;  // e.g. {"batch": 8}: substituted before inference
  bool fold_constants = true;
  int64_t fold_max_elements = int64_t(16) << 20;  // larger folded results stay computed at run time
  bool eliminate_common_subexpressions = true;
  int max_iterations = 8;
  int verify = -1;                          // -1: verify_passes_by_default(); 0 off; 1 on
  std::vector<PassStats>* stats = nullptr;  // when set, receives per-pass timings
};

// The standard pipeline: shape propagation, constant folding, identity
// removal, CSE and dead-code elimination, repeated to a fixed point. Backends
// call this before compiling; it leaves every value's inferred type in
// Graph::types.
void optimize(Graph& graph, const OptimizeOptions& options = {});
PassManager standard_pipeline(const OptimizeOptions& options);

}  // namespace wafer
