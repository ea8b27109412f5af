// wafer.Attention in the cpu backend. Before lowering, plan_attention traces
// Q, K and V back through their layout chains (in torch's seq-first MHA:
// packed QKV -> Slice -> Reshape -> Transpose -> Unsqueeze) and the output
// forward (Squeeze -> Transpose -> Reshape), absorbs those nodes, and records
// the views; lower_attention then emits one kernel step that reads Q, K, V
// straight out of the QKV buffer and writes Y straight into the output
// projection's input. With --precision bf16 it reads a bf16 QKV buffer as it
// is and writes bf16 when every reader is a matmul (which wants bf16), so no
// reorder surrounds the block.
#include <algorithm>

#include "backends/cpu/attention_kernel.h"
#include "backends/cpu/program.h"
#include "backends/cpu/threading.h"

namespace wafer::cpu {

using dnnl::memory;

namespace {

bool is_attention(const Node& node) {
  return node.domain == "wafer" && node.op_type == "Attention" && node.outputs.size() == 1 &&
         !node.outputs[0].empty() && node.inputs.size() >= 3 && node.inputs.size() <= 4 && node.has_input(0) &&
         node.has_input(1) && node.has_input(2);
}

bool static_f32(const Program& p, const std::string& v, size_t rank, Dims& dims) {
  auto d = p.dims_of(v);
  if (!d || d->size() != rank || p.dtype_of_value(v) != DType::Float32 || element_count(*d) == 0) return false;
  dims = *d;
  return true;
}

// Strides of a mask of dims `m` broadcast to `full` (right-aligned; 0 where it broadcasts).
bool mask_strides(const Dims& m, const Dims& full, int64_t out[4]) {
  if (m.size() > full.size()) return false;
  int64_t stride = 1;
  for (size_t i = 0; i < 4; ++i) out[i] = 0;
  for (size_t k = 0; k < m.size(); ++k) {
    size_t mi = m.size() - 1 - k, fi = full.size() - 1 - k;
    if (m[mi] != 1 && m[mi] != full[fi]) return false;
    out[fi] = m[mi] == 1 ? 0 : stride;
    stride *= m[mi];
  }
  return true;
}

// Whether every reader of v is a matmul the oneDNN lowering feeds in bf16.
bool read_by_matmuls_only(const Graph& g, const std::string& v) {
  if (std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end()) return false;
  bool any = false;
  for (const auto& n : g.nodes) {
    if (std::find(n->inputs.begin(), n->inputs.end(), v) == n->inputs.end()) continue;
    bool mm = (n->domain.empty() && (n->op_type == "MatMul" || n->op_type == "Gemm")) ||
              (n->domain == "wafer" && n->op_type == "FusedMatMul");
    if (!mm || n->inputs[0] != v) return false;
    any = true;
  }
  return any;
}

AttentionOperand view_operand(const StridedView& v) {
  AttentionOperand o;
  o.offset = v.offset;
  for (size_t i = 0; i < 4; ++i) o.strides[i] = v.strides[i];
  return o;
}

}  // namespace

bool plan_attention(Program& p, const Node& node) {
  if (!is_attention(node)) return false;
  Dims q, k, v, y;
  if (!static_f32(p, node.inputs[0], 4, q) || !static_f32(p, node.inputs[1], 4, k) ||
      !static_f32(p, node.inputs[2], 4, v) || !static_f32(p, node.outputs[0], 4, y))
    return false;
  if (k[0] != q[0] || v[0] != q[0] || k[1] < 1 || q[1] % k[1] != 0 || v[1] != k[1] || k[3] != q[3] || v[2] != k[2] ||
      y != Dims{q[0], q[1], q[2], v[3]})
    return false;
  if (node.has_input(3)) {
    auto md = p.dims_of(node.inputs[3]);
    int64_t st[4];
    if (!md || p.dtype_of_value(node.inputs[3]) != DType::Float32 || !mask_strides(*md, {q[0], q[1], q[2], k[2]}, st))
      return false;
  }
  const Graph& g = p.graph();
  auto free_node = [&p](const Node& n) { return !p.absorbed(&n); };
  OperandViews views;
  for (size_t i = 0; i < 3; ++i) {
    ViewChain c = trace_view_back(g, node.inputs[i], free_node);
    auto dims = p.dims_of(c.source);
    if (!dims || p.dtype_of_value(c.source) != DType::Float32 || c.view.dims.size() != 4) {
      c = ViewChain{node.inputs[i], StridedView::row_major(i == 0 ? q : i == 1 ? k : v), {}};
    }
    views.inputs.push_back(std::move(c));
  }
  views.output = trace_view_forward(g, node.outputs[0], free_node);
  if (p.dtype_of_value(views.output.source) != DType::Float32 || !p.dims_of(views.output.source) ||
      views.output.view.dims.size() != 4)
    views.output = ViewChain{node.outputs[0], StridedView::row_major(y), {}};
  for (const auto& c : views.inputs) p.absorb(c.nodes);
  p.absorb(views.output.nodes);
  p.set_views(&node, std::move(views));
  return true;
}

bool lower_attention(Program& p, const Node& node) {
  const OperandViews* views = p.views(&node);
  if (!views) return false;
  Dims q = *p.dims_of(node.inputs[0]), k = *p.dims_of(node.inputs[1]), v = *p.dims_of(node.inputs[2]);
  AttentionArgs args;
  args.batch = q[0], args.heads = q[1], args.s = q[2], args.d = q[3], args.sk = k[2], args.dv = v[3];
  args.kv_group = q[1] / k[1];
  args.scale = node.attr_float("scale", 1.f);
  args.threads = std::max(1, current_threads());

  Step s;
  s.label = node.label();
  s.node = &node;
  s.kernel = "attention";
  s.per_isa = true;
  // Q, K, V: the source buffer as it is when it is row-major (float32, or bf16 from a bf16 matmul), else a reorder.
  std::vector<MemRef> refs;
  std::vector<bool> bf16;
  for (const auto& c : views->inputs) {
    Dims sd = *p.dims_of(c.source);
    auto f = p.dnnl_form(c.source);
    bool half = f && f->md == plain_md(sd, memory::data_type::bf16);
    refs.push_back(half ? *f : p.operand(c.source, plain_md(sd)));
    bf16.push_back(half);
  }
  // Y: bf16 when only matmuls read it and they run in bf16.
  const ViewChain& oc = views->output;
  Dims od = *p.dims_of(oc.source);
  bool out_bf16 = p.bf16() && read_by_matmuls_only(p.graph(), oc.source);
  MemRef out = p.define(oc.source, plain_md(od, out_bf16 ? memory::data_type::bf16 : memory::data_type::f32));
  int mask = -1;
  if (node.has_input(3)) {
    mask = p.plain(node.inputs[3]);
    mask_strides(*p.dims_of(node.inputs[3]), {q[0], q[1], q[2], k[2]}, args.mask_strides);
  }
  size_t floats = attention_scratch_floats(args.batch, args.heads, args.s, args.sk, args.d, args.dv, args.threads);
  memory::desc scratch_md(memory::dims{int64_t(floats)}, memory::data_type::f32, memory::dims{1});
  MemRef scratch{scratch_md, p.new_buffer(floats * sizeof(float)), -1};

  args.q = view_operand(views->inputs[0].view);
  args.k = view_operand(views->inputs[1].view);
  args.v = view_operand(views->inputs[2].view);
  args.y = view_operand(oc.view);
  args.q.bf16 = bf16[0], args.k.bf16 = bf16[1], args.v.bf16 = bf16[2], args.y.bf16 = out_bf16;
  // Operands are listed as arguments for liveness and tensor allocation.
  s.args = {{0, out}, {1, refs[0]}, {2, refs[1]}, {3, refs[2]}, {4, scratch}};
  if (mask >= 0) s.uses.push_back(mask);
  s.fn = [&p, args, refs, out, scratch, mask]() mutable {
    auto data = [&p](const MemRef& r) { return r.buffer >= 0 ? p.buffer_data(r.buffer) : p.tensor_data(r.tensor); };
    args.q.data = data(refs[0]);
    args.k.data = data(refs[1]);
    args.v.data = data(refs[2]);
    args.y.data = data(out);
    args.scratch = static_cast<float*>(data(scratch));
    if (mask >= 0) args.mask = static_cast<const float*>(p.tensor_data(mask));
    attention(args);
  };
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
