// Control flow on tensors: If (v1-v16), Loop (v1-v16) and Scan (v8-v16).
// Bodies run through the SubgraphRunner, which keeps outer-scope values
// visible. Sequence and optional values are outside Wafer's Tensor model, so
// bodies that produce them fail in their own (unsupported) ops.
#include "ops/control_flow_util.h"
#include "ops/op_util.h"

namespace wafer {
namespace {

// Upper bound on Loop iterations: a loop whose condition never turns false
// (with no or an absurd trip count) is an error, not a hang.
constexpr int64_t kMaxLoopIterations = int64_t(1) << 26;

SubgraphRunner& runner(const KernelContext& ctx) {
  check(ctx.subgraphs != nullptr, ctx.node.label(), ": no subgraph runner (control flow needs an interpreter)");
  return *ctx.subgraphs;
}

bool scalar_bool(const Tensor& t, const Node& node, const char* what) {
  check(t.numel() == 1, node.label(), ": ", what, " must hold exactly one value, got ", dims_to_string(t.dims()));
  return t.get_double(0) != 0;
}

// Type of a body output, if the body declares or inference found one (with an element type).
std::optional<ValueType> body_output_type(const Graph& body, size_t i) {
  if (i >= body.outputs.size()) return std::nullopt;
  auto t = body.type_of(body.outputs[i]);
  if (t && t->dtype == DType::Undefined) return std::nullopt;
  return t;
}

// ---- If ----

std::vector<Tensor> if_kernel(const KernelContext& ctx) {
  bool cond = scalar_bool(ctx.in(0), ctx.node, "cond");
  const Graph& branch = ctx.node.attr_graph(cond ? "then_branch" : "else_branch");
  check(branch.inputs.empty(), ctx.node.label(), ": branch graphs take no inputs");
  std::vector<Tensor> outs = runner(ctx).run_subgraph(branch, {});
  check(outs.size() == ctx.num_outputs(), ctx.node.label(), ": branch produced ", outs.size(), " outputs, node has ",
        ctx.num_outputs());
  return outs;
}

std::vector<ValueType> infer_if(const InferContext& ctx) {
  const Graph& then_g = ctx.node.attr_graph("then_branch");
  const Graph& else_g = ctx.node.attr_graph("else_branch");
  std::vector<ValueType> out;
  for (size_t i = 0; i < ctx.node.outputs.size(); ++i) {
    auto a = body_output_type(then_g, i), b = body_output_type(else_g, i);
    if (a && b && *a == *b)
      out.push_back(*a);
    else if (a && b && a->dtype == b->dtype)
      out.push_back(typed(a->dtype, Shape::unknown_rank()));
    else if (a || b)  // one branch untyped (ONNX allows it): both must yield the same element type
      out.push_back(typed((a ? a : b)->dtype, Shape::unknown_rank()));
    else
      out.push_back(ValueType{});
  }
  return out;
}

// ---- Loop ----

std::vector<Tensor> loop_kernel(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Graph& body = node.attr_graph("body");
  size_t carried = ctx.num_inputs() >= 2 ? ctx.num_inputs() - 2 : 0;
  check(body.inputs.size() == 2 + carried, node.label(), ": body takes ", body.inputs.size(), " inputs, expected ",
        2 + carried);
  check(body.outputs.size() >= 1 + carried, node.label(), ": body returns ", body.outputs.size(),
        " outputs, expected at least ", 1 + carried);
  size_t scans = body.outputs.size() - 1 - carried;
  check(ctx.num_outputs() <= carried + scans, node.label(), ": node has ", ctx.num_outputs(), " outputs, body gives ",
        carried + scans);
  int64_t trip = std::numeric_limits<int64_t>::max();
  if (ctx.has(0)) {
    check(ctx.in(0).numel() == 1, node.label(), ": trip count M must be a scalar");
    trip = ctx.in(0).get_int(0);
  }
  bool cond = ctx.has(1) ? scalar_bool(ctx.in(1), node, "cond") : true;
  std::vector<Tensor> state;
  for (size_t i = 0; i < carried; ++i) state.push_back(ctx.in(2 + i));
  std::vector<std::vector<Tensor>> scan_parts(scans);
  int64_t it = 0;
  for (; it < trip && cond; ++it) {
    check(it < kMaxLoopIterations, node.label(), ": loop ran ", it, " iterations without stopping");
    std::vector<Tensor> in{Tensor::scalar<int64_t>(it), Tensor::scalar<bool>(cond)};
    in.insert(in.end(), state.begin(), state.end());
    std::vector<Tensor> out = runner(ctx).run_subgraph(body, in);
    cond = scalar_bool(out[0], node, "body condition output");
    for (size_t i = 0; i < carried; ++i) state[i] = out[1 + i];
    for (size_t s = 0; s < scans; ++s) scan_parts[s].push_back(out[1 + carried + s]);
  }
  std::vector<Tensor> results = state;
  for (size_t s = 0; s < scans; ++s) {
    // With no iterations the element shape is whatever the body declares (else scalar).
    auto t = body_output_type(body, 1 + carried + s);
    DType dtype = t && t->dtype != DType::Undefined ? t->dtype : DType::Float32;
    Dims empty{0};
    if (t && t->shape.fully_known())
      for (int64_t d : t->shape.concrete()) empty.push_back(d);
    results.push_back(stack_axis(scan_parts[s], 0, dtype, empty));
  }
  return results;
}

std::vector<ValueType> infer_loop(const InferContext& ctx) {
  const Graph& body = ctx.node.attr_graph("body");
  size_t carried = ctx.inputs.size() >= 2 ? ctx.inputs.size() - 2 : 0;
  std::vector<ValueType> out;
  for (size_t i = 0; i < ctx.node.outputs.size(); ++i) {
    if (i < carried) {
      // Shapes of loop-carried values may change between iterations; keep them only when the body agrees.
      auto b = body_output_type(body, 1 + i);
      if (ctx.has(2 + i) && b && *b == ctx.in(2 + i))
        out.push_back(*b);
      else if (ctx.has(2 + i))
        out.push_back(typed(ctx.in(2 + i).dtype, Shape::unknown_rank()));
      else
        out.push_back(b ? typed(b->dtype, Shape::unknown_rank()) : ValueType{});
    } else {
      auto b = body_output_type(body, 1 + i);
      if (!b) {
        out.push_back(ValueType{});
        continue;
      }
      Shape s = b->shape;
      if (s.rank_known) s.dims.insert(s.dims.begin(), Dim());
      out.push_back(typed(b->dtype, s));
    }
  }
  return out;
}

// ---- Scan ----

std::vector<int64_t> ints_or(const Node& node, const char* name, size_t n, int64_t fill) {
  auto v = node.attr_ints(name, std::vector<int64_t>(n, fill));
  check(v.size() == n, node.label(), ": ", name, " has ", v.size(), " values, expected ", n);
  return v;
}

// One scan (no batch axis): `state` initial values, `inputs` scanned tensors.
std::vector<Tensor> scan_once(const KernelContext& ctx, const Graph& body, std::vector<Tensor> state,
                              const std::vector<Tensor>& inputs, const std::vector<int64_t>& in_axes,
                              const std::vector<int64_t>& in_dirs, int64_t seq_len_limit) {
  const Node& node = ctx.node;
  size_t n_state = state.size(), n_in = inputs.size();
  check(body.inputs.size() == n_state + n_in, node.label(), ": body takes ", body.inputs.size(), " inputs, expected ",
        n_state + n_in);
  check(body.outputs.size() >= n_state, node.label(), ": body returns fewer outputs than state variables");
  size_t n_out = body.outputs.size() - n_state;
  auto out_dirs = ints_or(node, "scan_output_directions", n_out, 0);
  auto out_axes = ints_or(node, "scan_output_axes", n_out, 0);
  check(n_in > 0, node.label(), ": needs at least one scan input");
  std::vector<int64_t> axes;
  int64_t seq = -1;
  for (size_t i = 0; i < n_in; ++i) {
    int64_t ax = normalize_axis(in_axes[i], inputs[i].rank(), node);
    axes.push_back(ax);
    int64_t len = inputs[i].dim(ax);
    check(seq < 0 || len == seq, node.label(), ": scan inputs have different sequence lengths ", seq, " and ", len);
    seq = len;
  }
  if (seq_len_limit >= 0) {
    check(seq_len_limit <= seq, node.label(), ": sequence length ", seq_len_limit, " exceeds ", seq);
    seq = seq_len_limit;
  }
  std::vector<std::vector<Tensor>> parts(n_out);
  for (int64_t t = 0; t < seq; ++t) {
    std::vector<Tensor> in = state;
    for (size_t i = 0; i < n_in; ++i) in.push_back(slice_axis(inputs[i], axes[i], in_dirs[i] ? seq - 1 - t : t));
    std::vector<Tensor> out = runner(ctx).run_subgraph(body, in);
    for (size_t i = 0; i < n_state; ++i) state[i] = out[i];
    for (size_t k = 0; k < n_out; ++k) parts[k].push_back(out[n_state + k]);
  }
  std::vector<Tensor> results = state;
  for (size_t k = 0; k < n_out; ++k) {
    if (out_dirs[k]) std::reverse(parts[k].begin(), parts[k].end());  // reverse: last iteration first
    auto t = body_output_type(body, n_state + k);
    int64_t rank = parts[k].empty() ? (t && t->shape.rank_known ? t->shape.rank() : 0) : parts[k][0].rank();
    int64_t ax = normalize_axis(out_axes[k], rank + 1, node);
    Dims empty;
    if (t && t->shape.fully_known()) empty = t->shape.concrete();
    empty.insert(empty.begin() + std::min<int64_t>(ax, int64_t(empty.size())), 0);
    DType dtype = t && t->dtype != DType::Undefined ? t->dtype : DType::Float32;
    results.push_back(stack_axis(parts[k], ax, dtype, empty));
  }
  return results;
}

std::vector<Tensor> scan_kernel(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Graph& body = node.attr_graph("body");
  int64_t m = node.attr_int("num_scan_inputs");
  if (ctx.version() >= 9) {
    check(m >= 1 && m <= int64_t(ctx.num_inputs()), node.label(), ": num_scan_inputs ", m, " out of range");
    size_t n_state = ctx.num_inputs() - size_t(m);
    std::vector<Tensor> state, inputs;
    for (size_t i = 0; i < n_state; ++i) state.push_back(ctx.in(i));
    for (size_t i = n_state; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.in(i));
    return scan_once(ctx, body, state, inputs, ints_or(node, "scan_input_axes", size_t(m), 0),
                     ints_or(node, "scan_input_directions", size_t(m), 0), -1);
  }
  // Scan-8: input 0 is optional sequence_lens; every other input has a leading batch axis.
  check(m >= 1 && m + 1 <= int64_t(ctx.num_inputs()), node.label(), ": num_scan_inputs ", m, " out of range");
  size_t n_state = ctx.num_inputs() - 1 - size_t(m);
  check(!node.has_attr("scan_output_axes") && !node.has_attr("scan_input_axes"), node.label(),
        ": Scan-8 has no axes attributes");
  auto dirs = ints_or(node, "directions", size_t(m), 0);
  int64_t batch = ctx.in(1).rank() > 0 ? ctx.in(1).dim(0) : 0;
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    check(ctx.in(i).rank() >= 1 && ctx.in(i).dim(0) == batch, node.label(), ": input ", i,
          " lacks the batch axis of size ", batch);
  std::vector<std::vector<Tensor>> per_batch;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> state, inputs;
    for (size_t i = 0; i < n_state; ++i) state.push_back(slice_axis(ctx.in(1 + i), 0, b));
    for (size_t i = 0; i < size_t(m); ++i) inputs.push_back(slice_axis(ctx.in(1 + n_state + i), 0, b));
    int64_t len = ctx.has(0) ? ctx.in(0).get_int(b) : -1;
    // Scan-8 scans axis 1 of the batched input, i.e. axis 0 of each batch slice.
    per_batch.push_back(scan_once(ctx, body, state, inputs, std::vector<int64_t>(size_t(m), 0), dirs, len));
  }
  std::vector<Tensor> results;
  size_t n_out = per_batch.empty() ? body.outputs.size() : per_batch[0].size();
  for (size_t k = 0; k < n_out; ++k) {
    std::vector<Tensor> parts;
    for (auto& pb : per_batch) parts.push_back(pb[k]);
    results.push_back(stack_axis(parts, 0, DType::Float32, {0}));
  }
  return results;
}

const AttrSpec kBody{"body", AttrType::Graph, true};

WAFER_REGISTER_OP(if_op, {.name = "If",
                          .since = 1,
                          .until = 16,
                          .attrs = {{"then_branch", AttrType::Graph, true}, {"else_branch", AttrType::Graph, true}},
                          .infer = infer_if,
                          .kernel = if_kernel,
                          .is_control_flow = true});
WAFER_REGISTER_OP(loop, {.name = "Loop",
                         .since = 1,
                         .until = 16,
                         .attrs = {kBody},
                         .infer = infer_loop,
                         .kernel = loop_kernel,
                         .is_control_flow = true});
WAFER_REGISTER_OP(scan, {.name = "Scan",
                         .since = 8,
                         .until = 16,
                         .attrs = {kBody,
                                   {"num_scan_inputs", AttrType::Int, true},
                                   {"directions", AttrType::Ints},
                                   {"scan_input_axes", AttrType::Ints},
                                   {"scan_input_directions", AttrType::Ints},
                                   {"scan_output_axes", AttrType::Ints},
                                   {"scan_output_directions", AttrType::Ints}},
                         .kernel = scan_kernel,
                         .is_control_flow = true});

}  // namespace
}  // namespace wafer
