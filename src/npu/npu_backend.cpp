// Backend "npu:PRESET": compiles the graph for the described accelerator and
// runs the compiled program functionally (npu/functional.h), so every
// conformance case and model also checks the NPU compiler. The program is
// compiled for the concrete input shapes of each run (cached per shape).
#include <map>

#include "backends/backend.h"
#include "core/error.h"
#include "ir/weight_data.h"
#include "npu/compiler.h"
#include "npu/functional.h"
#include "npu/system.h"
#include "npu/target.h"

namespace wafer {
namespace {

class NpuExecutable : public Executable {
 public:
  NpuExecutable(std::unique_ptr<Graph> g, npu::HardwareDesc hw, npu::NpuCompileOptions o)
      : graph_(std::move(g)), hw_(std::move(hw)), options_(std::move(o)) {}

  // Compiles for the graph's declared shapes now, so ops the backend cannot
  // cost are reported at compile time.
  void precompile() {
    Dims key;
    for (const auto& in : graph_->inputs) {
      auto t = graph_->type_of(in);
      if (!t || !t->shape.rank_known) return;
      for (const Dim& d : t->shape.dims) {
        if (!d.known() && d.symbol != batch_symbol(*graph_) && d.symbol != "batch") return;  // known at run time
        key.push_back(d.known() ? d.value : options_.batch);
      }
      key.push_back(-1);
    }
    auto g = npu::prepare_for_npu(*graph_, options_);
    auto p = npu::lower_for_npu(*g, hw_, options_);
    cache_[key] = {std::move(g), std::move(p)};
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) override {
    check_inputs(*graph_, inputs);
    Dims key;
    for (const auto& t : inputs) {
      key.insert(key.end(), t.dims().begin(), t.dims().end());
      key.push_back(-1);
    }
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      auto g = graph_->clone();
      for (size_t i = 0; i < inputs.size(); ++i)
        g->types[g->inputs[i]] = ValueType{inputs[i].dtype(), Shape::from(inputs[i].dims())};
      auto opt = npu::prepare_for_npu(*g, options_);
      auto p = npu::lower_for_npu(*opt, hw_, options_);
      it = cache_.emplace(key, Compiled{std::move(opt), std::move(p)}).first;
    }
    return npu::run_functional(*it->second.graph, it->second.program, inputs);
  }

 private:
  struct Compiled {
    std::unique_ptr<Graph> graph;
    npu::Program program;
  };
  std::unique_ptr<Graph> graph_;
  npu::HardwareDesc hw_;
  npu::NpuCompileOptions options_;
  std::map<Dims, Compiled> cache_;
};

class NpuBackend : public Backend {
 public:
  std::string name() const override { return "npu"; }
  std::unique_ptr<Executable> compile(const Graph& graph, const CompileOptions& options) override {
    require_weight_data(graph, name());  // the functional executor runs the reference kernels
    // "npu:PRESET[:PRECISION]" (wafer check --backend npu:tpu-v4:bf16); plain "npu" is tpu-v4.
    npu::NpuTarget target =
        npu::parse_npu_target(options.hardware.empty() ? "tpu-v4" : options.hardware, options.precision);
    // On a system of chips every chip computes the same function (data parallel): one of its chips runs it.
    npu::HardwareDesc hw =
        npu::is_system(target.hardware) ? npu::load_system(target.hardware).chip : npu::load_hardware(target.hardware);
    // A functional run: fp32 where the chip has it, else the float type it has (tpu-v4: bf16), so
    // `--backend npu:tpu-v4` checks what that chip computes; int8-only chips run fp32 functionally.
    DType precision =
        resolve_precision(target.precision, PrecisionUse::execute, [&](DType t) { return hw.supports(t); });
    check(precision != DType::Int8, "npu:", options.hardware,
          ": the functional executor computes in fp32, bf16 or fp16; int8 is for timing (wafer sim)");
    npu::NpuCompileOptions o;
    o.precision = precision_of(precision);
    o.for_execution = true;
    o.symbols = options.symbols;
    if (auto it = options.symbols.find("batch"); it != options.symbols.end()) o.batch = int(it->second);
    auto exe = std::make_unique<NpuExecutable>(graph.clone(), std::move(hw), o);
    exe->precompile();
    return exe;
  }
};

const BackendRegistrar registrar("npu", [] { return std::make_unique<NpuBackend>(); });

}  // namespace
}  // namespace wafer
