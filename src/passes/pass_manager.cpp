#include "passes/pass_manager.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "passes/common_subexpression.h"
#include "passes/constant_folding.h"
#include "passes/dead_code_elimination.h"
#include "passes/identity_removal.h"
#include "passes/inline_if.h"
#include "passes/shape_propagation.h"

namespace wafer {

bool verify_passes_by_default() {
  const char* env = std::getenv("WAFER_VERIFY_PASSES");
  if (env && *env) return std::strcmp(env, "0") != 0;
#ifdef NDEBUG
  return false;
#else
  return true;
#endif
}

PassManager& PassManager::add(std::unique_ptr<Pass> pass) {
  stats_.push_back({pass->name()});
  passes_.push_back(std::move(pass));
  return *this;
}

bool PassManager::run(Graph& graph) {
  bool any = false;
  rounds_ = 0;
  for (int round = 0; round < max_iterations_; ++round) {
    ++rounds_;
    bool changed = false;
    for (size_t i = 0; i < passes_.size(); ++i) {
      auto start = std::chrono::steady_clock::now();
      bool c = false;
      try {
        c = passes_[i]->run(graph);
      } catch (const Error& e) {
        rethrow_with_context(e, "pass '" + passes_[i]->name() + "'");
      }
      PassStats& s = stats_[i];
      s.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      s.runs++;
      s.changed += c;
      changed |= c;
      if (verify_) {
        try {
          graph.verify();
        } catch (const Error& e) {
          rethrow_with_context(e, "pass '" + passes_[i]->name() + "' left an invalid graph");
        }
      }
    }
    any |= changed;
    if (!changed) break;
  }
  return any;
}

std::string PassManager::stats_report() const {
  std::ostringstream out;
  for (const auto& s : stats_)
    out << std::left << std::setw(28) << s.name << std::right << std::setw(4) << s.runs << " runs " << std::setw(4)
        << s.changed << " changed " << std::fixed << std::setprecision(3) << std::setw(10) << s.ms << " ms\n";
  return out.str();
}

PassManager standard_pipeline(const OptimizeOptions& options) {
  PassManager pm;
  pm.add(std::make_unique<ShapePropagation>(options.symbols));
  if (options.fold_constants) {
    pm.add(std::make_unique<ConstantFolding>(options.fold_max_elements));
    pm.add(std::make_unique<InlineIf>());  // an If whose condition folded to a constant
  }
  pm.add(std::make_unique<IdentityRemoval>());
  if (options.eliminate_common_subexpressions) pm.add(std::make_unique<CommonSubexpressionElimination>());
  pm.add(std::make_unique<DeadCodeElimination>());
  pm.set_max_iterations(options.max_iterations);
  if (options.verify >= 0) pm.set_verify(options.verify == 1);
  return pm;
}

void optimize(Graph& graph, const OptimizeOptions& options) {
  PassManager pm = standard_pipeline(options);
  pm.run(graph);
  // The last round changed nothing, so types are current unless the bound ran out.
  if (pm.rounds() == options.max_iterations) {
    ShapePropagation final_types(options.symbols);
    final_types.run(graph);
  }
  if (options.stats) *options.stats = pm.stats();
}

}  // namespace wafer
