// Ops that create tensors from attributes or shapes: Constant,
// ConstantOfShape, Range, EyeLike, OneHot, and Trilu (a triangular mask).
#include <cmath>

#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

// ---- Constant: exactly one value_* attribute ----
Tensor constant_value(const Node& node) {
  static const char* const kForms[] = {"value",      "value_float",  "value_floats",  "value_int",
                                       "value_ints", "value_string", "value_strings", "sparse_value"};
  int set = 0;
  for (const char* f : kForms) set += node.has_attr(f) ? 1 : 0;
  check(set == 1, node.label(), ": needs exactly one value attribute, has ", set);
  if (node.has_attr("sparse_value"))
    throw UnsupportedError(node.label() + ": sparse_value constants are not supported");
  if (node.has_attr("value_string") || node.has_attr("value_strings"))
    throw UnsupportedError(node.label() + ": string constants are not supported");
  if (node.has_attr("value")) return node.attr_tensor("value");
  if (node.has_attr("value_float")) return Tensor::scalar<float>(node.attr_float("value_float"));
  if (node.has_attr("value_int")) return Tensor::scalar<int64_t>(node.attr_int("value_int"));
  if (node.has_attr("value_floats")) {
    auto v = node.attr_floats("value_floats");
    return Tensor::from_vector<float>({int64_t(v.size())}, v);
  }
  auto v = node.attr_ints("value_ints");
  return Tensor::from_vector<int64_t>({int64_t(v.size())}, v);
}
std::vector<ValueType> constant_infer(const InferContext& ctx) {
  Tensor t = constant_value(ctx.node);
  return {typed(t.dtype(), Shape::from(t.dims()))};
}
WAFER_REGISTER_OP(constant,
                  {.name = "Constant",
                   .cost = op_cost::view(),
                   .since = 1,
                   .until = 13,
                   .attrs = {{"value", AttrType::Tensor},
                             {"value_float", AttrType::Float},
                             {"value_floats", AttrType::Floats},
                             {"value_int", AttrType::Int},
                             {"value_ints", AttrType::Ints}},
                   .infer = constant_infer,
                   .kernel = [](const KernelContext& ctx) { return std::vector<Tensor>{constant_value(ctx.node)}; }});

// ---- ConstantOfShape ----
Tensor fill_value(const Node& node) {
  if (!node.has_attr("value")) return Tensor::scalar<float>(0.0f);
  const Tensor& v = node.attr_tensor("value");
  check(v.numel() == 1, node.label(), ": value must have exactly one element, has ", v.numel());
  return v;
}
std::vector<Tensor> constant_of_shape(const KernelContext& ctx) {
  auto dims = int_values(ctx.in(0), ctx.node, "shape");
  for (int64_t d : dims) check(d >= 0, ctx.node.label(), ": negative dimension in shape ", dims_to_string(dims));
  Tensor v = fill_value(ctx.node);
  Tensor out(v.dtype(), dims);
  visit_width(v.dtype(), [&]<typename U>() {
    U x = *static_cast<const U*>(v.raw());
    std::fill_n(static_cast<U*>(out.raw()), out.numel(), x);
  });
  return {out};
}
std::vector<ValueType> constant_of_shape_infer(const InferContext& ctx) {
  DType dt = fill_value(ctx.node).dtype();
  if (auto dims = const_ints(ctx, 0)) return {typed(dt, Shape::from(*dims))};
  if (ctx.has(0) && ctx.in(0).shape.rank_known && ctx.in(0).shape.rank() == 1 && ctx.in(0).shape.dims[0].known())
    return {typed(dt, unknown_dims(ctx.in(0).shape.dims[0].value))};
  return {typed(dt, Shape::unknown_rank())};
}
WAFER_REGISTER_OP(constant_of_shape, {.name = "ConstantOfShape",
                                      .cost = op_cost::movement(),
                                      .since = 9,
                                      .until = 9,
                                      .attrs = {{"value", AttrType::Tensor}},
                                      .infer = constant_of_shape_infer,
                                      .kernel = constant_of_shape});

// ---- Range: start, start + delta, ... while < limit (> limit for negative delta) ----
int64_t range_count(long double start, long double limit, long double delta, const Node& node) {
  check(delta != 0, node.label(), ": delta cannot be 0");
  check(std::isfinite(start) && std::isfinite(limit) && std::isfinite(delta), node.label(),
        ": start, limit and delta must be finite");
  long double n = std::ceil((limit - start) / delta);
  check(n <= (long double)(int64_t(1) << 40), node.label(), ": range of ", double(n), " elements is too large");
  return n > 0 ? int64_t(n) : 0;
}
std::vector<Tensor> range(const KernelContext& ctx) {
  const Tensor& s = ctx.in(0);
  const Tensor& l = ctx.in(1);
  const Tensor& d = ctx.in(2);
  for (const Tensor* t : {&s, &l, &d})
    check(t->numel() == 1 && t->rank() <= 1, ctx.node.label(), ": start, limit and delta must be scalars, got ",
          dims_to_string(t->dims()));
  check(s.dtype() == l.dtype() && s.dtype() == d.dtype(), ctx.node.label(), ": start, limit and delta differ in type");
  require_dtype(ctx.node, s.dtype(), {DType::Float32, DType::Float64, DType::Int16, DType::Int32, DType::Int64});
  return visit_dtype(s.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      T start = s.data<T>()[0], delta = d.data<T>()[0];
      int64_t n = range_count(start, l.data<T>()[0], delta, ctx.node);
      Tensor out(s.dtype(), {n});
      T* dst = out.data<T>();
      for (int64_t i = 0; i < n; ++i) dst[i] = T(start + T(i) * delta);
      return {out};
    } else {
      return {};
    }
  });
}
std::vector<ValueType> range_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const Tensor *s = ctx.constant(0), *l = ctx.constant(1), *d = ctx.constant(2);
  if (s && l && d && s->numel() == 1 && l->numel() == 1 && d->numel() == 1)
    return {typed(ctx.in(0).dtype,
                  Shape({Dim(range_count(s->get_double(0), l->get_double(0), d->get_double(0), ctx.node))}))};
  return {typed(ctx.in(0).dtype, unknown_dims(1))};
}
WAFER_REGISTER_OP(
    range,
    {.name = "Range", .cost = op_cost::movement(), .since = 11, .until = 11, .infer = range_infer, .kernel = range});

// ---- EyeLike: ones on the k-th diagonal of a 2-D tensor ----
DType eye_dtype(const Node& node, DType input) {
  if (!node.has_attr("dtype")) return input;
  int64_t t = node.attr_int("dtype");
  check(t >= 0 && t <= 1000 && dtype_is_valid_onnx(int(t)), node.label(), ": unsupported dtype ", t);
  return DType(int(t));
}
std::vector<Tensor> eye_like(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  check(x.rank() == 2, ctx.node.label(), ": input must be 2-D, got ", dims_to_string(x.dims()));
  int64_t k = ctx.node.attr_int("k", 0);
  Tensor one = Tensor::scalar<float>(1.0f).cast(eye_dtype(ctx.node, x.dtype()));
  Tensor out(one.dtype(), x.dims());
  size_t es = dtype_size(out.dtype());
  for (int64_t i = 0; i < x.dim(0); ++i) {
    int64_t j = i + k;
    if (j >= 0 && j < x.dim(1)) std::memcpy(bytes_of(out) + size_t(i * x.dim(1) + j) * es, one.raw(), es);
  }
  return {out};
}
std::vector<ValueType> eye_like_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  return {typed(eye_dtype(ctx.node, ctx.in(0).dtype), ctx.in(0).shape)};
}
WAFER_REGISTER_OP(eye_like, {.name = "EyeLike",
                             .cost = op_cost::movement(),
                             .since = 9,
                             .until = 9,
                             .attrs = {{"dtype", AttrType::Int}, {"k", AttrType::Int}},
                             .infer = eye_like_infer,
                             .kernel = eye_like});

// ---- OneHot: values[1] where the index matches along a new axis, values[0] elsewhere ----
std::vector<Tensor> one_hot(const KernelContext& ctx) {
  const Tensor& ind = ctx.in(0);
  const Tensor& depth_t = ctx.in(1);
  const Tensor& values = ctx.in(2);
  check(depth_t.numel() == 1 && depth_t.rank() <= 1, ctx.node.label(), ": depth must have exactly one element");
  double depth_d = depth_t.get_double(0);
  check(depth_d >= 1 && depth_d <= double(int64_t(1) << 40), ctx.node.label(), ": depth ", depth_d, " is out of range");
  int64_t depth = int64_t(depth_d);
  check(values.numel() == 2 && values.rank() == 1, ctx.node.label(), ": values must be [off, on], got shape ",
        dims_to_string(values.dims()));
  int64_t r = ind.rank();
  int64_t axis = ctx.node.attr_int("axis", -1);
  check(axis >= -r - 1 && axis <= r, ctx.node.label(), ": axis ", axis, " is out of range for output rank ", r + 1);
  if (axis < 0) axis += r + 1;
  Dims out_dims = ind.dims();
  out_dims.insert(out_dims.begin() + axis, depth);
  Tensor out(values.dtype(), out_dims);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= ind.dim(d);
  for (int64_t d = axis; d < r; ++d) inner *= ind.dim(d);
  visit_width(values.dtype(), [&]<typename U>() {
    const U* v = static_cast<const U*>(values.raw());
    U* dst = static_cast<U*>(out.raw());
    std::fill_n(dst, out.numel(), v[0]);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        // Indices of any numeric type; negative ones count from depth, others out of range mark nothing.
        double raw = ind.get_double(o * inner + i);
        if (!(std::abs(raw) < double(depth) + 1)) continue;  // also skips NaN
        int64_t h = int64_t(raw);
        if (h < 0) h += depth;
        if (h >= 0 && h < depth) dst[(o * depth + h) * inner + i] = v[1];
      }
  });
  return {out};
}
std::vector<ValueType> one_hot_infer(const InferContext& ctx) {
  if (!known(ctx, {0, 2})) return {};
  const Shape& s = ctx.in(0).shape;
  DType dt = ctx.in(2).dtype;
  if (!s.rank_known) return {typed(dt, Shape::unknown_rank())};
  int64_t r = s.rank(), axis = ctx.node.attr_int("axis", -1);
  check(axis >= -r - 1 && axis <= r, ctx.node.label(), ": axis ", axis, " is out of range for output rank ", r + 1);
  if (axis < 0) axis += r + 1;
  const Tensor* depth = ctx.constant(1);
  Shape out = s;
  out.dims.insert(out.dims.begin() + axis, depth && depth->numel() == 1 ? Dim(int64_t(depth->get_double(0))) : Dim());
  return {typed(dt, out)};
}
WAFER_REGISTER_OP(one_hot, {.name = "OneHot",
                            .cost = op_cost::movement(),
                            .since = 9,
                            .until = 11,
                            .attrs = {{"axis", AttrType::Int}},
                            .infer = one_hot_infer,
                            .kernel = one_hot});

// ---- Trilu: keep the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims ----
std::vector<Tensor> trilu(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  check(x.rank() >= 2, ctx.node.label(), ": input must have rank >= 2, got ", dims_to_string(x.dims()));
  int64_t k = ctx.has(1) ? scalar_int(ctx.in(1), ctx.node, "k") : 0;
  bool upper = ctx.node.attr_int("upper", 1) != 0;
  int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  Tensor out = x.clone();
  size_t es = dtype_size(x.dtype());
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        bool keep = upper ? (j - i >= k) : (j - i <= k);
        if (!keep) std::memset(bytes_of(out) + size_t((m * rows + i) * cols + j) * es, 0, es);
      }
  return {out};
}
WAFER_REGISTER_OP(trilu, {.name = "Trilu",
                          .cost = op_cost::movement(),
                          .since = 14,
                          .until = 14,
                          .attrs = {{"upper", AttrType::Int}},
                          .infer = [](const InferContext& ctx) -> std::vector<ValueType> {
                            if (!known(ctx, {0})) return {};
                            return {ctx.in(0)};
                          },
                          .kernel = trilu});

}  // namespace
}  // namespace wafer
