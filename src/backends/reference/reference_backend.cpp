// Backend "reference": the interpreter behind the Backend interface.
#include "backends/backend.h"
#include "backends/reference/interpreter.h"
#include "backends/reference/node_profiler.h"
#include "ir/weight_data.h"

namespace wafer {
namespace {

class ReferenceExecutable : public Executable {
 public:
  explicit ReferenceExecutable(std::unique_ptr<Graph> g) : graph_(std::move(g)) {}
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) override {
    check_inputs(*graph_, inputs);
    Interpreter interp;
    if (!profiler_) return interp.run(*graph_, inputs);
    profiler_->attach(interp);
    profiler_->begin_run(*graph_, inputs);
    auto outs = interp.run(*graph_, inputs);
    profiler_->end_run();
    return outs;
  }
  bool can_profile() const override { return true; }
  void set_profiling(bool on) override { profiler_ = on ? std::make_unique<NodeProfiler>() : nullptr; }
  Profile profile() const override { return profiler_ ? profiler_->profile() : Profile{}; }

 private:
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<NodeProfiler> profiler_;  // while profiling: per-node times
};

class ReferenceBackend : public Backend {
 public:
  std::string name() const override { return "reference"; }
  std::unique_ptr<Executable> compile(const Graph& graph, const CompileOptions& options) override {
    // The specification computes each op in its own types; a narrower precision is the other backends' job.
    check(options.precision == Precision::automatic || options.precision == Precision::fp32,
          "reference backend: computes in the model's own types; --precision ", precision_name(options.precision),
          " is for the cpu and npu backends");
    require_weight_data(graph, name());
    return std::make_unique<ReferenceExecutable>(graph.clone());
  }
};

const BackendRegistrar registrar("reference", [] { return std::make_unique<ReferenceBackend>(); });

}  // namespace
}  // namespace wafer
