// A compiled cpu program: the graph (shapes bound, optimized) lowered to a flat
// list of steps. Each graph value lives either as a plain Tensor (row-major,
// what reference kernels read) or in a oneDNN buffer with the layout and
// element type oneDNN chose (blocked, bf16); reorders are inserted only where a
// consumer needs another form. oneDNN buffers come from a static memory plan
// (liveness-based reuse), allocated once at compile time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/backend.h"
#include "backends/cpu/ablation.h"
#include "ir/op_registry.h"

namespace wafer::cpu {

// Where a step's operand lives: a planned buffer or a plain tensor.
struct MemRef {
  dnnl::memory::desc md;
  int buffer = -1;  // planned buffer id, or
  int tensor = -1;  // plain tensor id
};

struct Step {
  std::string label;       // node label, for errors and profiling
  bool reference = false;  // runs the reference kernel
  // oneDNN primitive with its arguments, or
  std::optional<dnnl::primitive> prim;
  std::vector<std::pair<int, MemRef>> args;
  std::vector<dnnl::memory> mems;  // built by finalize(), parallel to args
  // a function (reference fallback, vectorized kernels).
  std::function<void()> fn;
  std::vector<int> alloc_tensors;  // plain tensors this step writes (allocated before it runs)
  std::vector<int> uses;           // plain tensors the step reads or writes (for release)
  std::vector<int> release;        // plain tensors dead after this step
};

struct TensorInfo {
  DType dtype = DType::Float32;
  Dims dims;
  bool persistent = false;  // initializer: never released
};

class Program {
 public:
  // `ablation`: optimizations turned off (WAFER_CPU_DISABLE, read by the cpu backend).
  Program(std::unique_ptr<Graph> graph, const CompileOptions& options, Ablation ablation = {});
  ~Program();
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);

  // Names of the nodes that run on the reference kernel (for reports).
  const std::vector<std::string>& fallback_nodes() const { return fallback_; }
  size_t planned_bytes() const { return planned_bytes_; }
  // Steps per kind (the profile's keys: op type, "reorder", "residual", "ref Op"), for tests and reports.
  std::map<std::string, int> step_counts() const;
  // Hash of the lowered program (steps, their layouts, the planned bytes): equal
  // fingerprints mean an ablation switch changed nothing for this model.
  uint64_t fingerprint() const;

  // --- used by the kernel builders ---
  const Graph& graph() const { return *graph_; }
  dnnl::engine& engine() { return engine_; }
  bool bf16() const { return bf16_; }
  const Ablation& ablation() const { return ablation_; }
  // Static dims of a value, if known.
  std::optional<Dims> dims_of(const std::string& v) const;
  DType dtype_of_value(const std::string& v) const;
  // The value's current oneDNN form (md + buffer), if it lives in a planned buffer.
  std::optional<MemRef> dnnl_form(const std::string& v) const;
  // The value in exactly the layout `md`: the existing form when it matches,
  // else a reorder step into a new planned buffer.
  MemRef operand(const std::string& v, const dnnl::memory::desc& md);
  // The node reading v, when exactly one node reads it once and it is no graph output.
  const Node* sole_consumer(const std::string& v) const;
  // Whether v has been produced by the steps so far (or is an input/initializer).
  bool available(const std::string& v) const { return plain_.count(v) || dnnl_.count(v); }
  // Marks nodes a fused step has taken over: they are not lowered on their own.
  void absorb(const std::vector<const Node*>& nodes) { absorbed_.insert(nodes.begin(), nodes.end()); }
  // The value where it is now (oneDNN form, else the plain tensor), without conversion.
  MemRef current(const std::string& v);
  // Plain tensor id of a value (adding a reorder to plain when it only exists in oneDNN form).
  int plain(const std::string& v);
  // Defines value v as produced in layout md by the step about to be added:
  // returns where the step writes it (a plain tensor when md is the plain layout).
  MemRef define(const std::string& v, const dnnl::memory::desc& md);
  int new_buffer(size_t bytes);
  int new_tensor(DType dtype, Dims dims);
  void add_step(Step step);
  // A oneDNN reorder step from one buffer (layout) into another.
  void add_copy(const std::string& label, const MemRef& from, const MemRef& to);
  // Defines `out` (layout md) over the buffer of the residual `sum`, so a sum
  // post-op accumulates in place instead of into a copy. Legal when `sum` lives
  // in a planned buffer of exactly layout md, none of `reads` (the step's other
  // operands) is that buffer, and nothing after the node being lowered (and the
  // nodes it absorbs) reads `sum` or another value in that buffer, nor is one a
  // graph output. Returns nullopt (defining nothing) otherwise.
  std::optional<MemRef> define_in_place(const std::string& out, const std::string& sum, const dnnl::memory::desc& md,
                                        const std::vector<MemRef>& reads, const std::vector<const Node*>& absorbed);
  // A constant kept alive for the program (pre-packed weights).
  MemRef constant(const dnnl::memory::desc& md, const void* src, const dnnl::memory::desc& src_md);
  void* tensor_data(int id) { return tensors_[size_t(id)].raw(); }
  Tensor& tensor(int id) { return tensors_[size_t(id)]; }
  void* buffer_data(int id) { return buffer_ptr_[size_t(id)]; }

 private:
  void lower_node(const Node& node);
  void fallback(const Node& node);
  void plan_memory();
  void finalize();

  std::unique_ptr<Graph> graph_;
  Ablation ablation_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  bool bf16_ = false;
  int threads_ = 0;

  std::vector<Step> steps_;
  std::vector<Tensor> tensors_;
  std::vector<TensorInfo> tensor_info_;
  std::unordered_map<std::string, int> plain_;    // value -> plain tensor id
  std::unordered_map<std::string, MemRef> dnnl_;  // value -> oneDNN form
  std::vector<int> input_ids_, output_ids_;
  std::vector<int> pending_alloc_;  // plain tensors define() handed out, allocated by the next step

  // Planned buffers: size, live range in steps, and the block each maps to.
  std::vector<size_t> buffer_bytes_;
  std::vector<int> buffer_first_, buffer_last_;
  std::vector<void*> buffer_ptr_;
  std::vector<std::shared_ptr<std::byte[]>> blocks_;
  std::vector<std::shared_ptr<std::byte[]>> constants_;
  size_t planned_bytes_ = 0;
  std::vector<std::string> fallback_;
  bool interpret_whole_graph_ = false;
  std::unordered_map<std::string, std::vector<const Node*>> consumers_;
  std::unordered_map<std::string, int> use_counts_;
  std::unordered_set<const Node*> absorbed_;
  std::unordered_set<const Node*> lowered_;  // nodes whose steps exist (for define_in_place)
  const Node* lowering_ = nullptr;           // the node being lowered
  // WAFER_CPU_PROFILE=1: time per step kind, printed when the program is destroyed.
  bool profile_ = false;
  std::map<std::string, std::pair<double, int>> profile_ms_;
};

// Plain (row-major) oneDNN descriptor of dims.
dnnl::memory::desc plain_md(const Dims& dims, dnnl::memory::data_type dt = dnnl::memory::data_type::f32);

// Kernel builders: each lowers one node into steps and returns true, or returns
// false (adding nothing) when the node is outside what it handles.
bool lower_conv(Program& p, const Node& node);
bool lower_matmul(Program& p, const Node& node);
bool lower_pool(Program& p, const Node& node);
bool lower_elementwise(Program& p, const Node& node);
bool lower_norm(Program& p, const Node& node);
bool lower_transpose(Program& p, const Node& node);

}  // namespace wafer::cpu
