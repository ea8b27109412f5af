// The cpu backend's Program: where each value lives (oneDNN layouts, plain tensors, planned buffers),
// views that share storage, copies, and constants (packed weights, released when only the packed copy is read).
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

MemRef Program::constant(const memory::desc& md, const void* src, const memory::desc& src_md) {
  auto block = std::shared_ptr<std::byte[]>(new (std::align_val_t(64)) std::byte[md.get_size()],
                                            [](std::byte* b) { ::operator delete[](b, std::align_val_t(64)); });
  constants_.push_back(block);
  if (md == src_md) {
    std::memcpy(block.get(), src, md.get_size());  // a bias, a weight oneDNN reads as stored
  } else {
    // Packed on one thread: a compile packs a few hundred mostly small weights, and on a busy machine
    // each parallel region waits for the pool's other threads to be scheduled (IS-Net's 119 convolutions
    // took 5.4 s to compile on 2 threads at load 9, 1.6 s on one). The run's thread count comes back after.
    set_threads(1);
    memory from(src_md, engine_, const_cast<void*>(src));
    memory to(md, engine_, block.get());
    dnnl::reorder(from, to).execute(stream_, from, to);
    stream_.wait();
    set_threads(threads_);
  }
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

}  // namespace wafer::cpu
