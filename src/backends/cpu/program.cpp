// The cpu backend's Program, building: one step per node (oneDNN primitive, own kernel or reference
// kernel), absorbed nodes, and the memory objects and argument maps finalize() makes once. Its other jobs:
// program_values.cpp (values, views, constants), program_memory.cpp (buffer planning), program_profile.cpp
// (what each step is and costs), program_run.cpp (running).
#include "backends/cpu/program.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backends/cpu/isa.h"
#include "backends/cpu/lstm_kernel.h"
#include "backends/cpu/threading.h"
#include "backends/reference/interpreter.h"
#include "backends/reference/node_profiler.h"
#include "ir/cost.h"

namespace wafer::cpu {

using dnnl::memory;

memory::desc plain_md(const Dims& dims, memory::data_type dt) {
  memory::dims d(dims.begin(), dims.end());
  memory::dims strides(d.size(), 1);
  for (int i = int(d.size()) - 2; i >= 0; --i) strides[size_t(i)] = strides[size_t(i) + 1] * d[size_t(i) + 1];
  return memory::desc(d, dt, strides);
}

memory::desc with_type(const memory::desc& md, memory::data_type dt) {
  dnnl_memory_desc_t d = md.data;  // strides and blocking count elements: only the type changes
  d.data_type = memory::convert_to_c(dt);
  return memory::desc(d);
}

bool is_plain(const memory::desc& md, const Dims& dims) {
  return md == plain_md(dims, md.data_type());
}

namespace {

// oneDNN's engine, made after WAFER_CPU_ISA has capped oneDNN's instruction set.
dnnl::engine capped_engine() {
  cap_onednn_isa();
  return dnnl::engine(dnnl::engine::kind::cpu, 0);
}
bool has_subgraphs(const Graph& g) {
  for (const auto& n : g.nodes)
    for (const auto& [_, a] : n->attrs)
      if (a.type() == AttrType::Graph) return true;
  return false;
}
}  // namespace

Program::Program(std::unique_ptr<Graph> graph, const CompileOptions& options, std::map<std::string, Tensor>* lender,
                 Ablation ablation)
    : graph_(std::move(graph)), ablation_(ablation), engine_(capped_engine()), stream_(engine_), lender_(lender) {
  threads_ = options.threads;
  set_threads(threads_);
  // fp32, or bf16 where asked and the CPU has AVX512_BF16 (else the fp32 program: isa.h).
  DType precision = resolve_precision(options.precision, PrecisionUse::execute, [](DType t) {
    return t == DType::Float32 || (t == DType::BFloat16 && has_avx512_bf16());
  });
  check(precision == DType::Float32 || precision == DType::BFloat16, "cpu backend: computes in fp32 or bf16, not ",
        precision_name(options.precision));
  bf16_ = precision == DType::BFloat16 && has_avx512_bf16();
  const char* residual = std::getenv("WAFER_CPU_BF16_RESIDUAL");
  bf16_residual_f32_ = !(residual && std::string(residual) == "bf16");  // fp32 unless asked: 2x more accurate
  // Control flow bodies read enclosing values by name: the interpreter runs those graphs whole.
  if (has_subgraphs(*graph_)) {
    interpret_whole_graph_ = true;
    for (const auto& n : graph_->nodes) fallback_.push_back(n->label());
    return;
  }
  try {
    build();
  } catch (...) {
    // Nothing the caller lent is lost: released weights go back, rebuilt from their packed form.
    if (lender_)
      for (const auto& [name, _] : released_) (*lender_)[name] = recover_weight(name);
    throw;
  }
  lender_ = nullptr;
}

void Program::build() {
  for (const auto& [name, t] : graph_->initializers) {
    int id = new_tensor(t.dtype(), t.dims());
    tensors_[size_t(id)] = t;
    tensor_info_[size_t(id)].persistent = true;
    plain_[name] = id;
  }
  for (const auto& in : graph_->inputs) {
    int id = new_tensor(DType::Undefined, {});
    plain_[in] = id;
    input_ids_.push_back(id);
  }
  use_counts_ = graph_->use_counts();
  for (const auto& n : graph_->nodes)
    for (const auto& in : n->inputs)
      if (!in.empty()) consumers_[in].push_back(n.get());
  for (const auto& n : graph_->nodes) plan_attention(*this, *n);
  // After the last node reading a weight is lowered, a weight that was only packed is freed.
  std::unordered_map<std::string, size_t> last_reader;
  for (size_t i = 0; i < graph_->nodes.size(); ++i)
    for (const auto& in : graph_->nodes[i]->inputs)
      if (graph_->is_initializer(in)) last_reader[in] = i;
  // (A node absorbed before lowering started belongs to a later fused step: its weights wait for the end.)
  const auto pre_absorbed = absorbed_;
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    const Node& n = *graph_->nodes[i];
    if (!absorbed_.count(&n)) {
      lowering_ = &n;
      lower_node(n);
      lowered_.insert(&n);
    }
    if (pre_absorbed.count(&n)) continue;
    for (const auto& in : n.inputs)
      if (auto it = last_reader.find(in); it != last_reader.end() && it->second == i) release_weight_if_packed_only(in);
  }
  lowering_ = nullptr;
  for (const auto& [name, _] : last_reader) release_weight_if_packed_only(name);
  for (const auto& o : graph_->outputs) output_ids_.push_back(plain(o));
  plan_memory();
  finalize();
}

Program::~Program() = default;

std::vector<std::string> Program::step_labels() const {
  std::vector<std::string> labels;
  for (const auto& s : steps_) labels.push_back(s.label);
  return labels;
}

void Program::lower_node(const Node& node) {
  // Scalars and empty tensors are the reference kernels' business.
  bool fast_ok = true;
  // (An empty constant is a parameter, not data: Resize's unused roi.)
  for (const auto& v : node.inputs)
    if (auto d = v.empty() || graph_->is_initializer(v) ? std::nullopt : dims_of(v); d && element_count(*d) == 0)
      fast_ok = false;
  for (const auto& v : node.outputs)
    if (auto d = v.empty() ? std::nullopt : dims_of(v); d && (d->empty() || element_count(*d) == 0)) fast_ok = false;
  if (views(&node)) {
    // Planned: its operands exist only as views, so the reference kernel cannot take it.
    check(lower_attention(*this, node), node.label(), ": planned views but no kernel lowered it");
    return;
  }
  if (!fast_ok) return fallback(node);
  try {
    bool own = !ablation_.vectorized;  // the switch sends elementwise and norm ops to the reference kernels
    if (lower_conv(*this, node) || lower_matmul(*this, node) || lower_pool(*this, node) ||
        (own && (lower_elementwise(*this, node) || lower_norm(*this, node))) || lower_transpose(*this, node) ||
        lower_view(*this, node) || lower_slice(*this, node) || lower_copy(*this, node) ||
        (own && (lower_rotary(*this, node) || lower_lstm(*this, node))) || lower_common_ops(*this, node))
      return;
  } catch (const dnnl::error&) {
    // oneDNN has no implementation for this configuration: the reference kernel runs it.
  }
  fallback(node);
}

void Program::fallback(const Node& node) {
  const OpSchema* schema = OpRegistry::global().find(node);
  if (!schema || !schema->kernel)
    throw UnsupportedError(node.label() + ": op " + node.op_type + " (version " + std::to_string(node.op_version) +
                           ") has no reference kernel");
  fallback_.push_back(node.label());
  std::vector<int> ins, outs;
  for (const auto& in : node.inputs) ins.push_back(in.empty() ? -1 : plain(in));
  for (const auto& o : node.outputs) {
    int id = -1;
    if (!o.empty()) {
      id = new_tensor(DType::Undefined, {});
      plain_[o] = id;
    }
    outs.push_back(id);
  }
  Step s;
  s.label = node.label();
  s.reference = true;
  s.node = &node;
  s.kernel = "reference";
  for (int i : ins)
    if (i >= 0) s.uses.push_back(i);
  for (int o : outs)
    if (o >= 0) s.uses.push_back(o);
  s.fn = [this, &node, schema, ins, outs] {
    KernelContext ctx{node, {}, nullptr};
    for (int i : ins) ctx.inputs.push_back(i < 0 ? nullptr : &tensors_[size_t(i)]);
    std::vector<Tensor> res;
    try {
      res = schema->kernel(ctx);
    } catch (const Error& e) {
      if (std::string(e.what()).find(node.label()) == std::string::npos) rethrow_with_context(e, node.label());
      throw;
    }
    for (size_t o = 0; o < outs.size(); ++o) {
      if (outs[o] < 0) continue;
      check(o < res.size(), node.label(), ": kernel produced ", res.size(), " output(s), node needs ", o + 1);
      // A kernel may return an input's storage (Identity, Reshape): planned blocks are reused
      // by later steps regardless of who still holds them, so such a result gets its own copy.
      for (int i : ins)
        if (i >= 0 && tensor_info_[size_t(root_of(i))].planned && res[o].same_buffer(tensors_[size_t(i)])) {
          res[o] = res[o].clone();
          break;
        }
      tensors_[size_t(outs[o])] = std::move(res[o]);
    }
  };
  add_step(std::move(s));
}

void Program::absorb(const std::vector<const Node*>& nodes) {
  absorbed_.insert(nodes.begin(), nodes.end());
  // Nodes a step takes over while its node is lowered (bias, activation, residual Add): their
  // arithmetic is that step's. (View chains absorbed before lowering are layout only.)
  if (!lowering_) return;
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    if (it->node != lowering_) continue;
    for (const Node* n : nodes) {
      auto f = node_cost(*graph_, *n).flops;
      it->info.flops = it->info.flops && f ? std::optional<int64_t>(*it->info.flops + *f) : std::nullopt;
    }
    return;
  }
}

void Program::add_step(Step step) {
  describe(step);
  int index = int(steps_.size());
  for (auto& [_, ref] : step.args) {
    if (ref.buffer >= 0) {
      buffer_first_[size_t(ref.buffer)] = std::min(buffer_first_[size_t(ref.buffer)], index);
      buffer_last_[size_t(ref.buffer)] = std::max(buffer_last_[size_t(ref.buffer)], index);
    }
    if (ref.tensor >= 0) step.uses.push_back(ref.tensor);
  }
  step.alloc_tensors.insert(step.alloc_tensors.end(), pending_alloc_.begin(), pending_alloc_.end());
  pending_alloc_.clear();
  for (int t : step.alloc_tensors) step.uses.push_back(t);
  for (int t : step.uses) runtime_read_[size_t(t)] = 1;
  steps_.push_back(std::move(step));
}

void Program::finalize() {
  // oneDNN memory objects over planned buffers and planned tensors are made
  // once; those over per-run tensors (inputs, outputs, reference results) get
  // their data handle at run time. Argument maps are built once too.
  for (auto& s : steps_) {
    for (size_t a = 0; a < s.args.size(); ++a) {
      const MemRef& ref = s.args[a].second;
      void* ptr = DNNL_MEMORY_NONE;
      if (ref.buffer >= 0)
        ptr = buffer_ptr_[size_t(ref.buffer)];
      else if (ref.tensor >= 0 && tensor_info_[size_t(ref.tensor)].planned)
        ptr = tensors_[size_t(ref.tensor)].raw();
      else if (ref.tensor >= 0)
        s.dynamic_args.push_back(a);
      s.mems.emplace_back(ref.md, engine_, ptr);
      if (s.prim) s.exec_args.emplace(s.args[a].first, s.mems.back());
    }
  }
  // Release each per-run plain tensor after its last use (inputs, outputs, initializers and planned ones excepted).
  std::vector<int> last(tensors_.size(), -1);
  for (size_t i = 0; i < steps_.size(); ++i)
    for (int t : steps_[i].uses) last[size_t(t)] = int(i);
  for (int o : output_ids_) last[size_t(o)] = -1;
  for (size_t t = 0; t < last.size(); ++t)
    if (last[t] >= 0 && !tensor_info_[t].persistent && !tensor_info_[t].planned)
      steps_[size_t(last[t])].release.push_back(int(t));
}

}  // namespace wafer::cpu
