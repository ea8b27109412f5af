#include "backends/cpu/program.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backends/cpu/isa.h"
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
        (own && lower_rotary(*this, node)) || lower_common_ops(*this, node))
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

std::optional<Dims> Program::dims_of(const std::string& v) const {
  if (auto* t = graph_->initializer(v)) return t->dims();
  auto type = graph_->type_of(v);
  if (!type || !type->shape.fully_known()) return std::nullopt;
  return type->shape.concrete();
}

DType Program::dtype_of_value(const std::string& v) const {
  if (auto* t = graph_->initializer(v)) return t->dtype();
  auto type = graph_->type_of(v);
  return type ? type->dtype : DType::Undefined;
}

std::optional<MemRef> Program::dnnl_form(const std::string& v) const {
  auto it = dnnl_.find(v);
  if (it == dnnl_.end()) return std::nullopt;
  return it->second;
}

MemRef Program::operand(const std::string& v, const memory::desc& md) {
  MemRef src;
  if (auto f = dnnl_form(v)) {
    if (f->md == md) return *f;
    src = *f;
  } else {
    int id = plain(v);
    auto dims = dims_of(v);
    check(dims.has_value(), "cpu backend: value '", v, "' has no static shape");
    src.md = plain_md(*dims);
    src.tensor = id;
    if (src.md == md) return src;
  }
  MemRef dst{md, new_buffer(md.get_size()), -1};
  Step s;
  s.label = "reorder " + v;
  s.op = "reorder";
  s.prim = dnnl::reorder(dnnl::reorder::primitive_desc(engine_, src.md, engine_, md));
  s.args = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  add_step(std::move(s));
  return dst;
}

const Node* Program::sole_consumer(const std::string& v) const {
  auto it = consumers_.find(v);
  auto uc = use_counts_.find(v);
  if (it == consumers_.end() || it->second.size() != 1 || uc == use_counts_.end() || uc->second != 1) return nullptr;
  return it->second[0];
}

MemRef Program::current(const std::string& v, bool prefer_f32) {
  auto dims = dims_of(v);
  if (auto it = f32_twin_.find(v); prefer_f32 && it != f32_twin_.end()) return it->second;
  if (auto it = plain_.find(v); prefer_f32 && dims && it != plain_.end())
    return MemRef{plain_md(*dims), -1, it->second};
  if (auto f = dnnl_form(v)) return *f;
  check(dims.has_value(), "cpu backend: value '", v, "' has no static shape");
  return MemRef{plain_md(*dims), -1, plain(v)};
}

int Program::plain(const std::string& v) {
  if (auto it = plain_.find(v); it != plain_.end()) return it->second;
  auto f = dnnl_form(v);
  if (auto it = f32_twin_.find(v); it != f32_twin_.end()) f = it->second;  // a copy, not a widening
  check(f.has_value(), "cpu backend: value '", v, "' is used before it is produced");
  auto dims = dims_of(v);
  check(dims.has_value(), "cpu backend: value '", v, "' has no static shape");
  int id = new_tensor(DType::Float32, *dims);
  Step s;
  s.label = "to plain " + v;
  s.op = "to plain";
  s.prim = dnnl::reorder(dnnl::reorder::primitive_desc(engine_, f->md, engine_, plain_md(*dims)));
  s.args = {{DNNL_ARG_FROM, *f}, {DNNL_ARG_TO, MemRef{plain_md(*dims), -1, id}}};
  s.alloc_tensors = {id};
  add_step(std::move(s));
  plain_[v] = id;
  return id;
}

MemRef Program::define(const std::string& v, const memory::desc& md) {
  auto dims = dims_of(v);
  // In bf16 mode an fp32 value that no reader needs as a tensor goes to a planned buffer.
  if (dims && md == plain_md(*dims) && !(bf16_ && !wanted_types(v).tensor)) {
    int id = new_tensor(DType::Float32, *dims);
    plain_[v] = id;
    pending_alloc_.push_back(id);
    MemRef r{md, -1, id};
    dnnl_[v] = r;
    return r;
  }
  MemRef r{md, new_buffer(md.get_size()), -1};
  dnnl_[v] = r;
  return r;
}

int Program::new_buffer(size_t bytes) {
  buffer_bytes_.push_back(std::max<size_t>(bytes, 64));
  buffer_first_.push_back(int(steps_.size()));
  buffer_last_.push_back(int(steps_.size()));
  return int(buffer_bytes_.size()) - 1;
}

int Program::new_tensor(DType dtype, Dims dims) {
  tensors_.emplace_back();
  tensor_info_.push_back({dtype, std::move(dims)});
  runtime_read_.push_back(0);
  return int(tensors_.size()) - 1;
}

int Program::root_of(int t) const {
  while (tensor_info_[size_t(t)].alias_of >= 0) t = tensor_info_[size_t(t)].alias_of;
  return t;
}

void Program::define_view(const std::string& label, const std::string& in, const std::string& out) {
  int src = plain(in);
  auto dims = dims_of(out);
  check(dims.has_value(), "cpu backend: value '", out, "' has no static shape");
  DType dtype = dtype_of_value(in);
  int id = new_tensor(dtype, *dims);
  plain_[out] = id;
  Step s;
  s.label = label;
  s.node = lowering_;
  s.kernel = "view";
  s.uses = {src};
  if (std::find(graph_->outputs.begin(), graph_->outputs.end(), out) != graph_->outputs.end()) {
    // Outputs are fresh per-run tensors (the caller keeps them): copy.
    s.alloc_tensors = {id};
    s.kernel = "copy";
    size_t bytes = size_t(element_count(*dims)) * dtype_size(dtype);
    s.fn = [this, src, id, bytes] { std::memcpy(tensors_[size_t(id)].raw(), tensors_[size_t(src)].raw(), bytes); };
  } else {
    tensor_info_[size_t(id)].alias_of = src;
    s.uses.push_back(id);
    s.fn = [this, src, id] {
      const TensorInfo& info = tensor_info_[size_t(id)];
      tensors_[size_t(id)].share_storage(tensors_[size_t(src)], info.dtype, info.dims);
    };
  }
  add_step(std::move(s));
}

void Program::add_copy(const std::string& label, const MemRef& from, const MemRef& to, const std::string& op) {
  Step copy;
  copy.label = label;
  copy.op = op;
  copy.prim = dnnl::reorder(dnnl::reorder::primitive_desc(engine_, from.md, engine_, to.md));
  copy.args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  add_step(std::move(copy));
}

std::optional<MemRef> Program::define_in_place(const std::string& out, const std::string& sum, const memory::desc& md,
                                               const std::vector<MemRef>& reads,
                                               const std::vector<const Node*>& absorbed) {
  if (ablation_.inplace) return std::nullopt;
  // The residual's oneDNN form, or in bf16 mode the fp32 twin an fp32 residual stream reads.
  auto form = dnnl_form(sum);
  if (auto twin = f32_twin_.find(sum); form && !(form->md == md) && twin != f32_twin_.end()) form = twin->second;
  if (!form || form->buffer < 0 || buffer_first_[size_t(form->buffer)] < 0 || !(form->md == md)) return std::nullopt;
  for (const MemRef& r : reads)
    if (r.buffer == form->buffer) return std::nullopt;
  auto done = [&](const Node* n) {
    if (auto it = view_owner_.find(n); it != view_owner_.end()) n = it->second;  // runs with its owner
    return n == lowering_ || lowered_.count(n) || absorbed_.count(n) ||
           std::find(absorbed.begin(), absorbed.end(), n) != absorbed.end();
  };
  // Every value held in that buffer (views of it included) must be dead after this step.
  auto dead = [&](const std::string& v) {
    if (std::find(graph_->outputs.begin(), graph_->outputs.end(), v) != graph_->outputs.end()) return false;
    if (auto it = consumers_.find(v); it != consumers_.end())
      for (const Node* n : it->second)
        if (!done(n)) return false;
    return true;
  };
  for (const auto* forms : {&dnnl_, &f32_twin_})
    for (const auto& [v, ref] : *forms)
      if (ref.buffer == form->buffer && !dead(v)) return std::nullopt;
  MemRef r{md, form->buffer, -1};
  dnnl_[out] = r;
  return r;
}

namespace {
// The instruction set in a oneDNN implementation name ("brg:avx512_core" -> "avx512_core"); "" when it
// names none ("gemm:jit", "ref:any", "simple:any").
std::string onednn_isa(const std::string& impl) {
  std::string tail = impl.substr(impl.rfind(':') + 1);
  for (const char* prefix : {"avx", "sse", "amx"})
    if (tail.rfind(prefix, 0) == 0) return tail;
  return "";
}

std::string impl_name(const dnnl::primitive& prim) {
  const char* s = nullptr;
  if (dnnl_primitive_desc_query(prim.get_primitive_desc(), dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
    return "unknown";
  return s;
}
}  // namespace

// What the profile says about a step: who runs it (oneDNN's implementation, our kernel at the
// ISA level in force, or the reference kernel) and its work from the IR's cost model.
void Program::describe(Step& step) const {
  StepProfile& info = step.info;
  info.label = step.label;
  if (step.node) {
    const Node& n = *step.node;
    info.op = n.domain.empty() ? n.op_type : n.domain + "." + n.op_type;
    NodeCost c = node_cost(*graph_, n);
    info.flops = c.flops;
    if (c.bytes_read && c.bytes_written) info.bytes = *c.bytes_read + c.param_bytes + *c.bytes_written;
    info.compute = c.macs.value_or(0) > 0;
    if (step.kernel == "view") info.bytes = 0;  // shares its source's storage: nothing moves
  } else {
    // A conversion between layouts or element types: reads one buffer, writes another.
    info.op = step.op.empty() ? step.label.substr(0, step.label.find(' ')) : step.op;
    info.flops = 0;
    int64_t bytes = 0;
    for (const auto& [_, ref] : step.args) bytes += int64_t(ref.md.get_size());
    info.bytes = bytes;
  }
  if (step.prim) {
    info.library = "oneDNN";
    info.kernel = impl_name(*step.prim);
    info.isa = onednn_isa(info.kernel);
  } else if (step.reference) {
    info.library = info.kernel = "reference";
  } else {
    info.library = "wafer";
    info.kernel = step.kernel.empty() ? "function" : step.kernel;
    if (step.per_isa) info.isa = isa_name(cpu_isa());
  }
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

MemRef Program::constant(const memory::desc& md, const void* src, const memory::desc& src_md) {
  auto block = std::shared_ptr<std::byte[]>(new (std::align_val_t(64)) std::byte[md.get_size()],
                                            [](std::byte* b) { ::operator delete[](b, std::align_val_t(64)); });
  constants_.push_back(block);
  memory from(src_md, engine_, const_cast<void*>(src));
  memory to(md, engine_, block.get());
  dnnl::reorder(from, to).execute(stream_, from, to);
  stream_.wait();
  // Constants are recorded as buffers that are never reused: a dedicated id with its own pointer.
  buffer_bytes_.push_back(0);
  buffer_first_.push_back(-1);
  buffer_last_.push_back(-1);
  int id = int(buffer_bytes_.size()) - 1;
  buffer_ptr_.resize(buffer_bytes_.size(), nullptr);
  buffer_ptr_[size_t(id)] = block.get();
  packed_.push_back({md, src_md, id});
  packed_from_.emplace(src, packed_.size() - 1);
  return MemRef{md, id, -1};
}

// A weight whose every reader is lowered, that no step reads plain at run time
// and that was packed whole (an f32 source of exactly its bytes) is freed here,
// and in the lender when it holds the same buffer: the packed copy is the only one.
void Program::release_weight_if_packed_only(const std::string& name) {
  auto it = graph_->initializers.find(name);
  if (it == graph_->initializers.end() || it->second.dtype() != DType::Float32) return;
  if (std::find(graph_->outputs.begin(), graph_->outputs.end(), name) != graph_->outputs.end()) return;
  const Tensor& t = it->second;
  auto packed = packed_from_.find(t.raw());
  auto id = plain_.find(name);
  if (packed == packed_from_.end() || id == plain_.end() || runtime_read_[size_t(id->second)]) return;
  const Packed& pk = packed_[packed->second];
  if (pk.src_md.get_size() != t.nbytes() || pk.src_md.data_type() != memory::data_type::f32) return;
  released_[name] = {t.dtype(), t.dims(), packed->second};
  if (lender_)
    if (auto l = lender_->find(name); l != lender_->end() && l->second.same_buffer(t)) lender_->erase(l);
  tensors_[size_t(id->second)] = Tensor();
  graph_->initializers.erase(it);
}

std::vector<std::string> Program::released_weights() const {
  std::vector<std::string> names;
  for (const auto& [name, _] : released_) names.push_back(name);
  return names;
}

Tensor Program::recover_weight(const std::string& name) {
  auto it = released_.find(name);
  check(it != released_.end(), "cpu backend: weight '", name, "' was not released by this program");
  const Packed& pk = packed_[it->second.packed];
  Tensor t(it->second.dtype, it->second.dims);
  memory from(pk.md, engine_, buffer_ptr_[size_t(pk.buffer)]);
  memory to(pk.src_md, engine_, t.raw());
  dnnl::reorder(from, to).execute(stream_, from, to);
  stream_.wait();
  return t;
}

// Greedy liveness-based assignment of planned buffers to blocks: a block is
// reused by a later buffer once its last reader has run (best fit by size).
// Plain tensors that fast steps write are planned buffers too (graph outputs
// excepted: each run hands fresh ones to the caller); a view's reads extend the
// live range of the tensor whose storage it shares.
void Program::plan_memory() {
  std::vector<char> is_output(tensors_.size(), 0);
  for (int o : output_ids_) is_output[size_t(o)] = 1;
  std::vector<int> first(tensors_.size(), -1), last(tensors_.size(), -1);
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (int t : steps_[i].alloc_tensors)
      if (first[size_t(t)] < 0) first[size_t(t)] = int(i);
    for (int t : steps_[i].uses) {
      int r = root_of(t);
      last[size_t(r)] = std::max(last[size_t(r)], int(i));
    }
  }
  std::vector<int> tensor_buffer(tensors_.size(), -1);
  for (size_t t = 0; t < tensors_.size(); ++t) {
    const TensorInfo& info = tensor_info_[t];
    if (first[t] < 0 || is_output[t] || info.persistent || info.alias_of >= 0) continue;
    int b = new_buffer(size_t(element_count(info.dims)) * dtype_size(info.dtype));
    buffer_first_[size_t(b)] = first[t];
    buffer_last_[size_t(b)] = std::max(first[t], last[t]);
    tensor_buffer[t] = b;
    tensor_info_[t].planned = true;
  }
  for (auto& s : steps_) std::erase_if(s.alloc_tensors, [&](int t) { return tensor_info_[size_t(t)].planned; });

  buffer_ptr_.resize(buffer_bytes_.size(), nullptr);
  std::vector<std::vector<int>> starts(steps_.size() + 1), ends(steps_.size() + 1);
  for (size_t b = 0; b < buffer_bytes_.size(); ++b) {
    if (buffer_first_[b] < 0) continue;  // constant
    starts[size_t(buffer_first_[b])].push_back(int(b));
    ends[size_t(buffer_last_[b])].push_back(int(b));
  }
  struct Block {
    size_t bytes;
    std::vector<int> users;
  };
  std::vector<Block> blocks;
  std::multimap<size_t, int> free_blocks;  // bytes -> block
  std::vector<int> block_of(buffer_bytes_.size(), -1);
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (int b : starts[i]) {
      size_t need = buffer_bytes_[size_t(b)];
      auto it = free_blocks.lower_bound(need);
      int blk;
      if (!ablation_.memory_reuse && it != free_blocks.end() && it->first <= need * 2) {
        blk = it->second;
        free_blocks.erase(it);
      } else {
        blk = int(blocks.size());
        blocks.push_back({need, {}});
      }
      block_of[size_t(b)] = blk;
    }
    for (int b : ends[i]) {
      int blk = block_of[size_t(b)];
      free_blocks.emplace(blocks[size_t(blk)].bytes, blk);
    }
  }
  size_t first_block = blocks_.size();
  for (const auto& blk : blocks) {
    auto mem = std::shared_ptr<std::byte[]>(new (std::align_val_t(64)) std::byte[blk.bytes],
                                            [](std::byte* p) { ::operator delete[](p, std::align_val_t(64)); });
    planned_bytes_ += blk.bytes;
    blocks_.push_back(std::move(mem));
  }
  for (size_t b = 0; b < buffer_bytes_.size(); ++b)
    if (block_of[b] >= 0) buffer_ptr_[b] = blocks_[first_block + size_t(block_of[b])].get();
  for (size_t t = 0; t < tensors_.size(); ++t)
    if (int b = tensor_buffer[t]; b >= 0)
      tensors_[t] = Tensor::view(blocks_[first_block + size_t(block_of[size_t(b)])], 0, tensor_info_[t].dtype,
                                 tensor_info_[t].dims);
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

namespace {
// The profile's key for a step: the first word of its label ("wafer.FusedConv", "reorder", "residual").
std::string step_kind(const Step& s) {
  return (s.reference ? "ref " : "") + s.label.substr(0, s.label.find(' '));
}

void mix(uint64_t& h, uint64_t v) {
  h = (h ^ v) * 1099511628211ull;  // FNV-1a style
}
}  // namespace

std::map<std::string, int> Program::step_counts() const {
  std::map<std::string, int> counts;
  for (const auto& s : steps_) counts[step_kind(s)]++;
  return counts;
}

uint64_t Program::fingerprint() const {
  uint64_t h = 1469598103934665603ull;
  for (const auto& s : steps_) {
    for (char c : step_kind(s)) mix(h, uint64_t(c));
    for (const auto& [arg, ref] : s.args) {
      const auto& d = ref.md.data;
      mix(h, uint64_t(arg));
      mix(h, uint64_t(d.data_type));
      mix(h, uint64_t(d.format_kind));
      for (int i = 0; i < d.ndims; ++i) {
        mix(h, uint64_t(d.dims[i]));
        mix(h, uint64_t(d.format_desc.blocking.strides[i]));
      }
      for (int i = 0; i < d.format_desc.blocking.inner_nblks; ++i)
        mix(h, uint64_t(d.format_desc.blocking.inner_blks[i] * 16 + d.format_desc.blocking.inner_idxs[i]));
    }
  }
  mix(h, uint64_t(planned_bytes_));
  return h;
}

void Program::set_profiling(bool on) {
  profiling_ = on;
  profiled_runs_ = 0;
  step_ms_.assign(on ? steps_.size() : 0, 0.0);
  node_profiler_ = on && interpret_whole_graph_ ? std::make_unique<NodeProfiler>() : nullptr;
}

Profile Program::profile() const {
  if (node_profiler_) return node_profiler_->profile();
  Profile p;
  p.runs = profiled_runs_;
  for (size_t i = 0; i < steps_.size(); ++i) {
    p.steps.push_back(steps_[i].info);
    p.steps.back().total_ms = i < step_ms_.size() ? step_ms_[i] : 0;
  }
  return p;
}

std::vector<Tensor> Program::run(const std::vector<Tensor>& inputs) {
  set_threads(threads_);
  if (interpret_whole_graph_) {
    Interpreter interp;
    if (!node_profiler_) return interp.run(*graph_, inputs);
    node_profiler_->attach(interp);
    node_profiler_->begin_run(*graph_, inputs);
    auto outs = interp.run(*graph_, inputs);
    node_profiler_->end_run();
    return outs;
  }
  check(inputs.size() == input_ids_.size(), "cpu backend: expected ", input_ids_.size(), " inputs, got ",
        inputs.size());
  // Copy assignment into tensors that kept their dims (release_storage): no allocation.
  for (size_t i = 0; i < inputs.size(); ++i) tensors_[size_t(input_ids_[i])] = inputs[i];
  const bool timed = profiling_;
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = steps_[i];
    auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    for (int t : s.alloc_tensors)
      tensors_[size_t(t)] = Tensor(tensor_info_[size_t(t)].dtype, tensor_info_[size_t(t)].dims);
    if (s.prim) {
      for (size_t a : s.dynamic_args) s.mems[a].set_data_handle(tensors_[size_t(s.args[a].second.tensor)].raw());
      s.prim->execute(stream_, s.exec_args);
    } else {
      s.fn();
    }
    for (int t : s.release) tensors_[size_t(t)].release_storage();
    if (timed) {
      stream_.wait();  // (a no-op on the synchronous CPU runtime; keeps the time honest on any other)
      step_ms_[i] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  stream_.wait();
  if (timed) ++profiled_runs_;
  std::vector<Tensor> outs;
  outs.reserve(output_ids_.size());
  for (int o : output_ids_) outs.push_back(tensors_[size_t(o)]);
  for (int o : output_ids_)
    if (!tensor_info_[size_t(o)].persistent) tensors_[size_t(o)].release_storage();
  for (int i : input_ids_) tensors_[size_t(i)].release_storage();
  return outs;
}

}  // namespace wafer::cpu
