// A compiled cpu program: the graph (shapes bound, optimized) lowered to a flat
// list of steps. Each graph value lives either as a plain Tensor (row-major,
// what reference kernels read) or in a oneDNN buffer with the layout and
// element type oneDNN chose (blocked, bf16); reorders are inserted only where a
// consumer needs another form.
//
// Memory: every intermediate a fast step writes, oneDNN buffer or plain tensor,
// lives in a static plan (liveness-based reuse of blocks, allocated once at
// compile time); Reshape-like ops are views sharing their source's storage. A
// run after the first allocates only its outputs (fresh tensors handed to the
// caller, never planned blocks the next run overwrites) and whatever the
// reference-kernel fallback steps allocate for their results.
// Weights packed into oneDNN layouts are not kept in plain form as well: once
// every reader of an initializer is lowered and none reads it plain at run
// time, the program frees it (recover_weight() rebuilds it from the packed copy).
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
#include "backends/profile.h"
#include "ir/op_registry.h"
#include "ir/view_chain.h"

namespace wafer {
class NodeProfiler;
}

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
  // Who runs the step, for the profile (profile.h). Builders set `node` on the step that
  // computes a node (conversions have none) and `kernel` on steps that run a function;
  // add_step() fills the rest: oneDNN's implementation name, the op, the cost.
  const Node* node = nullptr;
  std::string op;        // conversions: "reorder", "to plain", "residual copy"; else the node's op
  std::string kernel;    // own kernel's name ("elementwise"); "reference"; oneDNN steps: filled in
  bool per_isa = false;  // own kernel compiled per ISA level (isa_dispatch.h): ran at cpu_isa()
  StepProfile info;      // filled by add_step(), extended by absorb()
  // oneDNN primitive with its arguments, or
  std::optional<dnnl::primitive> prim;
  std::vector<std::pair<int, MemRef>> args;
  std::vector<dnnl::memory> mems;  // built by finalize(), parallel to args
  // a function (reference fallback, vectorized kernels).
  std::function<void()> fn;
  std::unordered_map<int, dnnl::memory> exec_args;  // built by finalize(): what execute() gets
  std::vector<size_t> dynamic_args;                 // args over per-run tensors: data handle set each run
  std::vector<int> alloc_tensors;  // per-run plain tensors this step writes (graph outputs; allocated before it runs)
  std::vector<int> uses;           // plain tensors the step reads or writes (for release)
  std::vector<int> release;        // plain tensors dead after this step
};

// Operands a node's lowering reads and writes through views (see view_chain.h):
// the layout nodes in the chains are absorbed, their values never materialized.
struct OperandViews {
  std::vector<ViewChain> inputs;  // one per input (an empty chain: the input itself)
  ViewChain output;               // output 0 as a view of the value the step defines
};

struct TensorInfo {
  DType dtype = DType::Float32;
  Dims dims;
  bool persistent = false;  // initializer: never released
  bool planned = false;     // lives in a planned block (never released)
  int alias_of = -1;        // a view: the tensor whose storage it shares
};

class Program {
 public:
  // `lender`: initializers also held by the caller (the executable's graph); the program
  // erases from it each weight whose plain form it frees (same buffer only), and if
  // construction fails it puts them back, rebuilt from their packed form.
  // `ablation`: optimizations turned off (WAFER_CPU_DISABLE, read by the cpu backend).
  Program(std::unique_ptr<Graph> graph, const CompileOptions& options, std::map<std::string, Tensor>* lender = nullptr,
          Ablation ablation = {});
  ~Program();
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);

  // Names of the nodes that run on the reference kernel (for reports).
  const std::vector<std::string>& fallback_nodes() const { return fallback_; }
  size_t planned_bytes() const { return planned_bytes_; }
  // Labels of the lowered steps in run order (conversions read "reorder V" / "to plain V").
  std::vector<std::string> step_labels() const;
  // Initializers whose plain form the program freed after packing them.
  std::vector<std::string> released_weights() const;
  // A released initializer rebuilt from its packed form (exact for f32 packing; bf16-rounded otherwise).
  Tensor recover_weight(const std::string& name);
  // Steps per kind (the profile's keys: op type, "reorder", "residual", "ref Op"), for tests and reports.
  std::map<std::string, int> step_counts() const;
  // Hash of the lowered program (steps, their layouts, the planned bytes): equal
  // fingerprints mean an ablation switch changed nothing for this model.
  uint64_t fingerprint() const;
  // Per-step timing (wafer run --profile): off by default, when a run pays one branch per
  // step for it; turning it on clears the times recorded so far.
  void set_profiling(bool on);
  // Every step in run order with its kernel, cost and time summed over the profiled runs.
  Profile profile() const;

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
  // --- bf16 activations (precision bf16; see precision.cpp) ---
  // Element types the readers of v want it in: a bf16 GEMM's A operand wants bf16,
  // reference kernels and graph outputs fp32; our elementwise and norm kernels and
  // oneDNN reorders take either (neither flag set: no reader cares).
  struct Wanted {
    bool bf16 = false;
    bool f32 = false;
    bool tensor = false;  // a reader needs the plain fp32 tensor (reference kernels, graph outputs)
  };
  Wanted wanted_types(const std::string& v) const;
  // Element type of the dst of a GEMM (MatMul, Gemm, FusedMatMul) producing `out`:
  // fp32 when its readers want only fp32 or when it accumulates a residual kept in
  // fp32 (bf16_residual_f32()), else bf16; always fp32 without bf16.
  dnnl::memory::data_type gemm_dst_type(const std::string& out, bool has_sum) const;
  // Residual stream precision in bf16 mode: fp32 (default) keeps GEMM+residual outputs
  // and the layer-norm outputs they add in fp32; WAFER_CPU_BF16_RESIDUAL=bf16 rounds them.
  bool bf16_residual_f32() const { return bf16_residual_f32_; }
  // Where one of our kernels writes v in plain layout: fp32 (a tensor, or in bf16 mode
  // a planned buffer when no reader needs the tensor) and/or a bf16 buffer (both when
  // readers want both, e.g. a LayerNorm feeding a bf16 GEMM and an fp32 residual).
  // `inputs_bf16`: the kernel reads bf16, the default when no reader cares.
  struct PlainOut {
    std::optional<MemRef> f32, bf16;
  };
  PlainOut define_plain_out(const std::string& v, bool inputs_bf16);
  // The value in plain layout in whichever element type it has (bf16 buffer or fp32
  // tensor; an fp32 tensor when it exists and `prefer_f32`), converting only from a
  // blocked oneDNN layout.
  MemRef plain_any(const std::string& v, bool prefer_f32 = false);
  // Marks nodes a fused step has taken over: they are not lowered on their own.
  // Their arithmetic is counted in the profile of the step computing the node being lowered.
  void absorb(const std::vector<const Node*>& nodes);
  bool absorbed(const Node* n) const { return absorbed_.count(n) != 0; }
  // Views planned for a node before lowering (nullptr when it has none).
  void set_views(const Node* n, OperandViews v) {
    for (const auto& c : v.inputs) {
      view_sources_.insert(c.source);
      for (const Node* m : c.nodes) view_owner_[m] = n;
    }
    views_[n] = std::move(v);
  }
  const OperandViews* views(const Node* n) const {
    auto it = views_.find(n);
    return it == views_.end() ? nullptr : &it->second;
  }
  // The value where it is now (oneDNN form, else the plain tensor), without conversion;
  // `prefer_f32`: its plain fp32 tensor when it has one besides a bf16 form.
  MemRef current(const std::string& v, bool prefer_f32 = false);
  // Plain tensor id of a value (adding a reorder to plain when it only exists in oneDNN form).
  int plain(const std::string& v);
  // Defines value v as produced in layout md by the step about to be added:
  // returns where the step writes it (a plain tensor when md is the plain layout).
  MemRef define(const std::string& v, const dnnl::memory::desc& md);
  int new_buffer(size_t bytes);
  int new_tensor(DType dtype, Dims dims);
  // Defines `out` as a view of `in` (same bytes, out's dims): no copy, the storage is shared and
  // kept alive as long as the view is used. A graph output gets a copy instead (outputs are fresh).
  void define_view(const std::string& label, const std::string& in, const std::string& out);
  void add_step(Step step);
  // A oneDNN reorder step from one buffer (layout) into another.
  // `op` names the conversion in the profile ("residual copy").
  void add_copy(const std::string& label, const MemRef& from, const MemRef& to, const std::string& op = "copy");
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
  // Run-time address of an operand (planned buffer or plain tensor).
  void* data(const MemRef& r) { return r.buffer >= 0 ? buffer_data(r.buffer) : tensor_data(r.tensor); }

 private:
  void lower_node(const Node& node);
  void describe(Step& step) const;
  void fallback(const Node& node);
  void build();
  void release_weight_if_packed_only(const std::string& name);
  int root_of(int t) const;
  void plan_memory();
  void finalize();

  std::unique_ptr<Graph> graph_;
  Ablation ablation_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  bool bf16_ = false;
  bool bf16_residual_f32_ = false;
  int threads_ = 0;

  std::vector<Step> steps_;
  std::vector<Tensor> tensors_;
  std::vector<TensorInfo> tensor_info_;
  std::unordered_map<std::string, int> plain_;        // value -> plain tensor id
  std::unordered_map<std::string, MemRef> dnnl_;      // value -> oneDNN form
  std::unordered_map<std::string, MemRef> f32_twin_;  // value -> fp32 planned buffer beside a bf16 form
  std::vector<int> input_ids_, output_ids_;
  std::vector<int> pending_alloc_;  // plain tensors define() handed out, allocated by the next step

  // Planned buffers: size, live range in steps, and the block each maps to.
  std::vector<size_t> buffer_bytes_;
  std::vector<int> buffer_first_, buffer_last_;
  std::vector<void*> buffer_ptr_;
  std::vector<std::shared_ptr<std::byte[]>> blocks_;
  std::vector<std::shared_ptr<std::byte[]>> constants_;
  // Packed constants by source address (weights released after packing are rebuilt from them).
  struct Packed {
    dnnl::memory::desc md, src_md;
    int buffer = -1;
  };
  std::vector<Packed> packed_;
  std::unordered_map<const void*, size_t> packed_from_;
  struct Released {
    DType dtype;
    Dims dims;
    size_t packed;
  };
  std::map<std::string, Released> released_;
  std::map<std::string, Tensor>* lender_ = nullptr;
  std::vector<char> runtime_read_;  // per tensor: some step reads or writes it at run time
  size_t planned_bytes_ = 0;
  std::vector<std::string> fallback_;
  bool interpret_whole_graph_ = false;
  std::unordered_map<std::string, std::vector<const Node*>> consumers_;
  std::unordered_map<std::string, int> use_counts_;
  std::unordered_set<const Node*> absorbed_;
  std::unordered_map<const Node*, OperandViews> views_;
  // Values a fused step reads through absorbed view chains (it takes fp32 or bf16 as they are).
  std::unordered_set<std::string> view_sources_;
  // Chain nodes absorbed before lowering -> the fused node that reads through them (they have
  // run only once it is lowered: define_in_place must not overwrite what they still read).
  std::unordered_map<const Node*, const Node*> view_owner_;
  std::unordered_set<const Node*> lowered_;  // nodes whose steps exist (for define_in_place)
  const Node* lowering_ = nullptr;           // the node being lowered
  // Per-step profile (set_profiling): milliseconds per step in each profiled run.
  bool profiling_ = false;
  int profiled_runs_ = 0;
  std::vector<std::vector<double>> step_ms_;  // per step, its time in each profiled run
  // Control flow interpreted whole: the interpreter's per-node times instead of steps.
  std::unique_ptr<NodeProfiler> node_profiler_;
};

// Plain (row-major) oneDNN descriptor of dims.
dnnl::memory::desc plain_md(const Dims& dims, dnnl::memory::data_type dt = dnnl::memory::data_type::f32);
// The same layout (blocked or plain) with another element type.
dnnl::memory::desc with_type(const dnnl::memory::desc& md, dnnl::memory::data_type dt);
// Whether md is the row-major layout of dims, in any element type.
bool is_plain(const dnnl::memory::desc& md, const Dims& dims);

// Whether the fp32 2-D convolution `conv` of `graph` asks for nChw16c (conv_kernel.cpp): on AVX-512,
// unless switched off, when the CPU is an AMD family 19h one, the graph has a grouped convolution or
// `conv` is 1x1; else oneDNN picks the layout.
bool prefer_nchw16c(const Graph& graph, const Node& conv, const Ablation& off);
bool has_grouped_conv(const Graph& graph);

// Kernel builders: each lowers one node into steps and returns true, or returns
// false (adding nothing) when the node is outside what it handles.
bool lower_conv(Program& p, const Node& node);
bool lower_matmul(Program& p, const Node& node);
bool lower_pool(Program& p, const Node& node);
bool lower_elementwise(Program& p, const Node& node);
bool lower_norm(Program& p, const Node& node);
bool lower_transpose(Program& p, const Node& node);
bool lower_slice(Program& p, const Node& node);
bool lower_attention(Program& p, const Node& node);
bool lower_rotary(Program& p, const Node& node);

// Pre-scan before lowering (producers are lowered before their readers, so a
// node that reads its inputs through views must claim the chains first):
// plans wafer.Attention's operand views and absorbs the chain nodes. Returns
// true when it planned the node, which lower_attention() then always lowers.
bool plan_attention(Program& p, const Node& node);
bool lower_view(Program& p, const Node& node);
bool lower_copy(Program& p, const Node& node);
// The ops between convolutions and matmuls in real models (common_ops.cpp): these on oneDNN.
bool lower_common_ops(Program& p, const Node& node);
bool lower_activation(Program& p, const Node& node);
bool lower_binary(Program& p, const Node& node);
bool lower_deconv(Program& p, const Node& node);
bool lower_resize(Program& p, const Node& node);
bool lower_reduce(Program& p, const Node& node);

}  // namespace wafer::cpu
