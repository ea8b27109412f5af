// The backend interface. A backend is small to write: a name, which ops it can
// run, and how to compile a graph into an executable. Everything else (model
// loading, input handling, timing, checking) is shared.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/profile.h"
#include "core/precision.h"
#include "ir/graph.h"

namespace wafer {

struct CompileOptions {
  int threads = 0;                             // 0 = all cores
  Precision precision = Precision::automatic;  // resolved by each backend (resolve_precision, execute)
  SymbolBindings symbols;                      // values for symbolic dims, e.g. batch=8
  std::string hardware;                        // backend argument, e.g. the NPU preset after "npu:"
};

class Executable {
 public:
  virtual ~Executable() = default;
  // Inputs in graph-input order; outputs in graph-output order.
  virtual std::vector<Tensor> run(const std::vector<Tensor>& inputs) = 0;

  // Per-step profiling (`wafer run --profile`). While on, a backend that can
  // records each step's time; turning it on clears what was recorded, so the
  // caller turns it on after its warm-up runs. Off, a run pays nothing for it.
  virtual bool can_profile() const { return false; }
  virtual void set_profiling(bool on) { (void)on; }
  // The steps of the program the last run used, with their times summed over
  // the runs since profiling was turned on.
  virtual Profile profile() const { return {}; }
  // The compiled program's size and fingerprint, where the backend has one (cpu).
  virtual std::optional<ProgramSummary> program_summary() const { return std::nullopt; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Whether this backend can execute the node (default: the reference kernel exists).
  virtual bool supports(const Node& node) const;
  virtual std::unique_ptr<Executable> compile(const Graph& graph, const CompileOptions& options) = 0;
  // Compiles a graph the caller hands over and no longer needs (`wafer run`): with no other
  // owner of its weights, a backend may free the plain ones it has repacked. Default: compile().
  virtual std::unique_ptr<Executable> compile_owned(std::unique_ptr<Graph> graph, const CompileOptions& options) {
    return compile(*graph, options);
  }
  // Nodes (labels, after the backend's own rewrites) that this backend runs on
  // the reference kernels because it has no fast kernel for them. The graph's
  // input shapes must be static. Default: none (a backend with no such notion).
  virtual std::vector<std::string> fallback_nodes(const Graph& graph, const CompileOptions& options) {
    (void)graph;
    (void)options;
    return {};
  }
};

// Backend by spec: "reference", "cpu", "npu:tpu-v1" (the part after ':' goes
// to CompileOptions::hardware). Throws listing the known backends.
std::unique_ptr<Backend> make_backend(const std::string& spec, CompileOptions* options = nullptr);
std::vector<std::string> backend_names();

using BackendFactory = std::function<std::unique_ptr<Backend>()>;
struct BackendRegistrar {
  BackendRegistrar(const std::string& name, BackendFactory factory);
};

// Checks inputs against the graph's declared input types (count, dtype, rank,
// static dims, consistent symbolic dims). Throws naming the input.
void check_inputs(const Graph& graph, const std::vector<Tensor>& inputs);

}  // namespace wafer
