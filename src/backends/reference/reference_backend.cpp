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
  std::unique_ptr<Executable> compile(const Graph& graph, const CompileOptions&) override {
    return std::make_unique<ReferenceExecutable>(graph.clone());
  }
};

const BackendRegistrar registrar("reference", [] { return std::make_unique<ReferenceBackend>(); });

}  // namespace
}  // namespace wafer
