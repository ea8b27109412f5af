// Backend "reference": the interpreter behind the Backend interface.
#include "backends/backend.h"
#include "backends/reference/interpreter.h"

namespace wafer {
namespace {

class ReferenceExecutable : public Executable {
 public:
  explicit ReferenceExecutable(std::unique_ptr<Graph> g) : graph_(std::move(g)) {}
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) override {
    check_inputs(*graph_, inputs);
    Interpreter interp;
    return interp.run(*graph_, inputs);
  }

 private:
  std::unique_ptr<Graph> graph_;
};

class ReferenceBackend : public Backend {
 public:
  std::string name() const override { return "reference"; }
  std::unique_ptr<Executable> compile(const Graph& graph, const CompileOptions& options) override {
    // The specification computes each op in its own types; a narrower precision is the other backends' job.
    check(options.precision == Precision::automatic || options.precision == Precision::fp32,
          "reference backend: computes in the model's own types; --precision ", precision_name(options.precision),
          " is for the cpu and npu backends");
    return std::make_unique<ReferenceExecutable>(graph.clone());
  }
};

const BackendRegistrar registrar("reference", [] { return std::make_unique<ReferenceBackend>(); });

}  // namespace
}  // namespace wafer
