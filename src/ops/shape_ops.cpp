// Ops that change only the shape (or report it): Identity, Reshape, Shape,
// Size, Flatten, Squeeze, Unsqueeze, Expand. Except Expand they share the
// input's buffer: tensors are immutable once produced.
#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

// ---- Identity ----
std::vector<Tensor> identity(const KernelContext& ctx) {
  return {ctx.in(0)};
}
std::vector<ValueType> identity_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  return {ctx.in(0)};
}
WAFER_REGISTER_OP(identity, {.name = "Identity",
                             .cost = op_cost::view(),
                             .since = 1,
                             .until = 16,
                             .infer = identity_infer,
                             .kernel = identity});

// ---- Reshape ----
// Resolves a requested shape: 0 copies the input dim (unless allowzero), one -1 is inferred.
Dims reshape_dims(const Dims& in, const std::vector<int64_t>& req, bool allowzero, const Node& node) {
  Dims out(req.size());
  int64_t infer_at = -1, known_product = 1;
  for (size_t i = 0; i < req.size(); ++i) {
    int64_t r = req[i];
    if (r == -1) {
      check(infer_at < 0, node.label(), ": shape ", dims_to_string(req), " has more than one -1");
      infer_at = int64_t(i);
      continue;
    }
    check(r >= 0, node.label(), ": shape ", dims_to_string(req), " has an invalid dimension ", r);
    if (r == 0 && !allowzero) {
      check(i < in.size(), node.label(), ": shape ", dims_to_string(req), " copies dimension ", i,
            " (0) but the input ", dims_to_string(in), " has rank ", in.size());
      r = in[i];
    }
    out[i] = r;
    check(r == 0 || known_product <= (int64_t(1) << 62) / r, node.label(), ": shape ", dims_to_string(req),
          " is too large");
    known_product *= r;
  }
  int64_t n = element_count(in);
  if (infer_at >= 0) {
    check(known_product != 0, node.label(), ": cannot infer the -1 in ", dims_to_string(req),
          " when other dimensions are 0");
    check(n % known_product == 0, node.label(), ": cannot reshape ", dims_to_string(in), " to ", dims_to_string(req));
    out[size_t(infer_at)] = n / known_product;
  }
  check(element_count(out) == n, node.label(), ": cannot reshape ", dims_to_string(in), " (", n, " elements) to ",
        dims_to_string(out));
  return out;
}

bool reshape_allowzero(const Node& node) {
  return node.op_version >= 14 && node.attr_int("allowzero", 0) != 0;
}

std::vector<Tensor> reshape(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto req = int_values(ctx.in(1), ctx.node, "shape");
  return {x.reshaped(reshape_dims(x.dims(), req, reshape_allowzero(ctx.node), ctx.node))};
}

std::vector<ValueType> reshape_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  auto req = const_ints(ctx, 1);
  if (!req) {
    if (ctx.has(1) && ctx.in(1).shape.rank_known && ctx.in(1).shape.rank() == 1 && ctx.in(1).shape.dims[0].known())
      return {typed(x.dtype, unknown_dims(ctx.in(1).shape.dims[0].value))};
    return {typed(x.dtype, Shape::unknown_rank())};
  }
  if (x.shape.fully_known())
    return {typed(x.dtype, Shape::from(reshape_dims(x.shape.concrete(), *req, reshape_allowzero(ctx.node), ctx.node)))};
  // Symbolic input: copied dims keep their symbol; a -1 is computed only when everything else is known.
  Shape out;
  bool allowzero = reshape_allowzero(ctx.node);
  for (size_t i = 0; i < req->size(); ++i) {
    int64_t r = (*req)[i];
    if (r == 0 && !allowzero && x.shape.rank_known && i < x.shape.dims.size())
      out.dims.push_back(x.shape.dims[i]);
    else if (r >= 0)
      out.dims.push_back(Dim(r));
    else
      out.dims.push_back(Dim());
  }
  return {typed(x.dtype, out)};
}
WAFER_REGISTER_OP(reshape, {.name = "Reshape",
                            .cost = op_cost::view(),
                            .since = 5,
                            .until = 14,
                            .attrs = {{"allowzero", AttrType::Int}},
                            .infer = reshape_infer,
                            .kernel = reshape});

// ---- Shape ----
// The [start, end) range of dims reported (v15 attributes; clamped like Python slicing).
std::pair<int64_t, int64_t> shape_range(const Node& node, int64_t rank) {
  if (node.op_version < 15) return {0, rank};
  auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
  int64_t start = clamp(node.attr_int("start", 0));
  int64_t end = node.has_attr("end") ? clamp(node.attr_int("end")) : rank;
  return {start, std::max(start, end)};
}

std::vector<Tensor> shape(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto [start, end] = shape_range(ctx.node, x.rank());
  std::vector<int64_t> dims(x.dims().begin() + start, x.dims().begin() + end);
  return {Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims)};
}
std::vector<ValueType> shape_infer(const InferContext& ctx) {
  if (!known(ctx, {0}) || !ctx.in(0).shape.rank_known) return {typed(DType::Int64, unknown_dims(1))};
  auto [start, end] = shape_range(ctx.node, ctx.in(0).shape.rank());
  return {typed(DType::Int64, Shape({Dim(end - start)}))};
}
WAFER_REGISTER_OP(shape, {.name = "Shape",
                          .cost = op_cost::view(),
                          .since = 1,
                          .until = 15,
                          .attrs = {{"start", AttrType::Int}, {"end", AttrType::Int}},
                          .infer = shape_infer,
                          .kernel = shape});

// ---- Size ----
std::vector<Tensor> size(const KernelContext& ctx) {
  return {Tensor::scalar<int64_t>(ctx.in(0).numel())};
}
WAFER_REGISTER_OP(size,
                  {.name = "Size",
                   .cost = op_cost::view(),
                   .since = 1,
                   .until = 13,
                   .infer = [](const InferContext&) { return std::vector<ValueType>{typed(DType::Int64, Shape())}; },
                   .kernel = size});

// ---- Flatten ----
int64_t flatten_axis(const Node& node, int64_t rank) {
  int64_t axis = node.attr_int("axis", 1);
  check(axis >= -rank && axis <= rank, node.label(), ": axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}
std::vector<Tensor> flatten(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t axis = flatten_axis(ctx.node, x.rank());
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  int64_t inner = outer == 0 ? 0 : x.numel() / outer;
  if (outer == 0) {
    inner = 1;
    for (int64_t i = axis; i < x.rank(); ++i) inner *= x.dim(i);
  }
  return {x.reshaped({outer, inner})};
}
std::vector<ValueType> flatten_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known) return {typed(x.dtype, unknown_dims(2))};
  int64_t axis = flatten_axis(ctx.node, x.shape.rank());
  return {typed(x.dtype, Shape({dim_product(x.shape, 0, axis), dim_product(x.shape, axis, x.shape.rank())}))};
}
WAFER_REGISTER_OP(flatten, {.name = "Flatten",
                            .cost = op_cost::view(),
                            .since = 1,
                            .until = 13,
                            .attrs = {{"axis", AttrType::Int}},
                            .infer = flatten_infer,
                            .kernel = flatten});

// ---- Squeeze / Unsqueeze: axes are an attribute before v13, an input from v13 ----
std::optional<std::vector<int64_t>> axes_of(const KernelContext& ctx) {
  if (ctx.version() < 13) {
    if (!ctx.node.has_attr("axes")) return std::nullopt;
    return ctx.node.attr_ints("axes");
  }
  if (!ctx.has(1)) return std::nullopt;
  return int_values(ctx.in(1), ctx.node, "axes");
}
// At inference: outer nullopt = axes not knowable; inner nullopt = axes omitted.
std::optional<std::optional<std::vector<int64_t>>> axes_of(const InferContext& ctx) {
  if (ctx.node.op_version < 13) {
    if (!ctx.node.has_attr("axes")) return std::optional<std::vector<int64_t>>();
    return std::optional<std::vector<int64_t>>(ctx.node.attr_ints("axes"));
  }
  if (!ctx.node.has_input(1)) return std::optional<std::vector<int64_t>>();
  auto c = const_ints(ctx, 1);
  if (!c) return std::nullopt;
  return std::optional<std::vector<int64_t>>(*c);
}

// Which axes of `shape` a Squeeze removes (marks), given the axes or none (= all 1s).
std::vector<bool> squeezed(const std::vector<Dim>& dims, const std::optional<std::vector<int64_t>>& axes,
                           const Node& node) {
  std::vector<bool> drop(dims.size(), false);
  if (!axes) {
    for (size_t i = 0; i < dims.size(); ++i) drop[i] = dims[i] == Dim(1);
    return drop;
  }
  check(!dims.empty() || axes->empty(), node.label(), ": cannot squeeze axes of a scalar");
  for (int64_t a : normalize_axes(*axes, int64_t(dims.size()), node)) {
    const Dim& d = dims[size_t(a)];
    check(!d.known() || d.value == 1, node.label(), ": cannot squeeze axis ", a, " of size ", d.value);
    drop[size_t(a)] = true;
  }
  return drop;
}

std::vector<Tensor> squeeze(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  Shape s = Shape::from(x.dims());
  auto drop = squeezed(s.dims, axes_of(ctx), ctx.node);
  Dims out;
  for (size_t i = 0; i < drop.size(); ++i)
    if (!drop[i]) out.push_back(x.dims()[i]);
  return {x.reshaped(out)};
}
std::vector<ValueType> squeeze_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  auto axes = axes_of(ctx);
  if (!axes || !x.shape.rank_known) return {typed(x.dtype, Shape::unknown_rank())};
  if (!*axes)
    for (const Dim& d : x.shape.dims)
      if (!d.known()) return {typed(x.dtype, Shape::unknown_rank())};  // an unknown dim may or may not be 1
  auto drop = squeezed(x.shape.dims, *axes, ctx.node);
  Shape out;
  for (size_t i = 0; i < drop.size(); ++i)
    if (!drop[i]) out.dims.push_back(x.shape.dims[i]);
  return {typed(x.dtype, out)};
}
WAFER_REGISTER_OP(squeeze, {.name = "Squeeze",
                            .cost = op_cost::view(),
                            .since = 1,
                            .until = 13,
                            .attrs = {{"axes", AttrType::Ints}},
                            .infer = squeeze_infer,
                            .kernel = squeeze});

// Output dims of Unsqueeze: axes index the output, which has rank + len(axes) dims.
std::vector<Dim> unsqueezed(const std::vector<Dim>& dims, const std::vector<int64_t>& axes, const Node& node) {
  int64_t out_rank = int64_t(dims.size() + axes.size());
  std::vector<bool> inserted(size_t(out_rank), false);
  for (int64_t a : normalize_axes(axes, out_rank, node)) inserted[size_t(a)] = true;
  std::vector<Dim> out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[size_t(i)] ? Dim(1) : dims[next++]);
  return out;
}

std::vector<Tensor> unsqueeze(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto axes = axes_of(ctx);
  check(axes.has_value(), ctx.node.label(), ": axes are required");
  Dims out;
  for (const Dim& d : unsqueezed(Shape::from(x.dims()).dims, *axes, ctx.node)) out.push_back(d.value);
  return {x.reshaped(out)};
}
std::vector<ValueType> unsqueeze_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  auto axes = axes_of(ctx);
  if (!axes || !*axes || !x.shape.rank_known) return {typed(x.dtype, Shape::unknown_rank())};
  return {typed(x.dtype, Shape(unsqueezed(x.shape.dims, **axes, ctx.node)))};
}
WAFER_REGISTER_OP(unsqueeze, {.name = "Unsqueeze",
                              .cost = op_cost::view(),
                              .since = 1,
                              .until = 13,
                              .attrs = {{"axes", AttrType::Ints}},
                              .infer = unsqueeze_infer,
                              .kernel = unsqueeze});

// ---- Expand: bidirectional broadcast of the input against a shape ----
std::vector<Tensor> expand(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto req = int_values(ctx.in(1), ctx.node, "shape");
  for (int64_t d : req) check(d >= 0, ctx.node.label(), ": shape ", dims_to_string(req), " has a negative dimension");
  Dims out = broadcast_dims(x.dims(), req, ctx.node);
  if (out == x.dims()) return {x};
  return {broadcast_to(x, out, ctx.node)};
}
std::vector<ValueType> expand_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  auto req = const_ints(ctx, 1);
  if (!req) return {typed(x.dtype, Shape::unknown_rank())};
  try {
    return {typed(x.dtype, broadcast_shapes(x.shape, Shape::from(*req)))};
  } catch (const Error& e) {
    fail(ctx.node.label(), ": ", e.what());
  }
}
WAFER_REGISTER_OP(
    expand,
    {.name = "Expand", .cost = op_cost::movement(), .since = 8, .until = 13, .infer = expand_infer, .kernel = expand});

}  // namespace
}  // namespace wafer
