// Reductions: ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1
// ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare, and ArgMax ArgMin.
//
// Axes come from the `axes` attribute (before ReduceSum-13 / opset 18) or the
// optional input 1; no axes means all axes unless noop_with_empty_axes is set.
// Floats accumulate in double; integer sums and products wrap like numpy.
#include "ops/math_util.h"

namespace wafer {
namespace {

enum class Red { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

// Resolved axes (normalized) or nullopt when the reduction is the identity.
std::optional<std::vector<int64_t>> resolve_axes(const Node& node, std::optional<std::vector<int64_t>> axes,
                                                 int64_t rank) {
  bool noop = node.attr_int("noop_with_empty_axes", 0) != 0;
  if (!axes || axes->empty()) {
    if (noop) return std::nullopt;
    return std::vector<int64_t>{};  // all axes
  }
  if (rank == 0) {
    for (int64_t a : *axes) check(a == 0 || a == -1, node.label(), ": axis ", a, " is out of range for a scalar");
    return std::vector<int64_t>{};
  }
  return normalize_axes(*axes, rank, node);
}

template <Red kind, typename T>
constexpr bool accumulates_in_double() {
  return is_float_type_v<T> || kind == Red::Mean || kind == Red::L2 || kind == Red::LogSum || kind == Red::LogSumExp;
}

template <Red kind, typename T>
using acc_t = std::conditional_t<accumulates_in_double<kind, T>(), double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <Red kind, typename A>
A initial_value() {
  if constexpr (kind == Red::Prod)
    return A(1);
  else if constexpr (kind == Red::Max)
    return std::is_floating_point_v<A> ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::lowest();
  else if constexpr (kind == Red::Min)
    return std::is_floating_point_v<A> ? std::numeric_limits<A>::infinity() : std::numeric_limits<A>::max();
  else
    return A(0);
}

template <Red kind, typename A>
A transform(A v) {
  if constexpr (kind == Red::L1) {
    if constexpr (std::is_floating_point_v<A>)
      return std::fabs(v);
    else if constexpr (std::is_signed_v<A>)
      return v < 0 ? A(uint64_t(0) - uint64_t(v)) : v;
    else
      return v;
  } else if constexpr (kind == Red::L2 || kind == Red::SumSquare) {
    return math::wrapping_mul(v, v);
  } else {
    return v;
  }
}

template <Red kind, typename A>
A combine(A acc, A v) {
  if constexpr (kind == Red::Max || kind == Red::Min) {
    if (math::is_nan(acc)) return acc;  // NaN propagates (numpy max/min)
    if (math::is_nan(v)) return v;
    return kind == Red::Max ? (v > acc ? v : acc) : (v < acc ? v : acc);
  } else if constexpr (kind == Red::Prod) {
    return math::wrapping_mul(acc, v);
  } else {
    return math::wrapping_add(acc, v);
  }
}

template <Red kind, typename T>
Tensor reduce_typed(const Tensor& x, const math::ReducePlan& plan) {
  using A = acc_t<kind, T>;
  std::vector<A> acc(size_t(plan.out_numel), initial_value<kind, A>());
  const T* src = x.data<T>();
  int64_t n = x.numel();
  if constexpr (kind == Red::LogSumExp) {
    // Subtract the max of each group so exp cannot overflow.
    std::vector<double> mx(acc.size(), -std::numeric_limits<double>::infinity());
    StridedWalker w(x.dims(), {plan.in_to_out});
    for (int64_t i = 0; i < n; ++i, w.next())
      mx[size_t(w.offset(0))] = combine<Red::Max>(mx[size_t(w.offset(0))], double(to_compute(src[i])));
    for (double& m : mx) m = std::isfinite(m) ? m : 0.0;  // all -inf (or inf/NaN): no shift
    StridedWalker w2(x.dims(), {plan.in_to_out});
    for (int64_t i = 0; i < n; ++i, w2.next()) {
      size_t o = size_t(w2.offset(0));
      acc[o] += std::exp(double(to_compute(src[i])) - mx[o]);
    }
    for (size_t o = 0; o < acc.size(); ++o) acc[o] = mx[o] + std::log(acc[o]);
  } else {
    StridedWalker w(x.dims(), {plan.in_to_out});
    for (int64_t i = 0; i < n; ++i, w.next()) {
      size_t o = size_t(w.offset(0));
      acc[o] = combine<kind>(acc[o], transform<kind>(A(to_compute(src[i]))));
    }
    for (A& a : acc) {
      if constexpr (kind == Red::Mean)
        a = a / A(plan.group);
      else if constexpr (kind == Red::L2)
        a = std::sqrt(a);
      else if constexpr (kind == Red::LogSum)
        a = std::log(a);
    }
  }
  Tensor out(x.dtype(), plan.out_dims);
  T* dst = out.data<T>();
  for (size_t o = 0; o < acc.size(); ++o) {
    if constexpr (std::is_floating_point_v<A>)
      dst[o] = math::saturate_cast<T>(acc[o]);
    else
      dst[o] = T(acc[o]);  // integer narrowing wraps (well defined since C++20)
  }
  return out;
}

template <Red kind>
std::vector<Tensor> reduce_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), math::kNumericTypes);
  bool keepdims = ctx.node.attr_int("keepdims", 1) != 0;
  auto axes = resolve_axes(ctx.node, math::reduce_axes(ctx), x.rank());
  if (!axes) return {x};
  math::ReducePlan plan = math::plan_reduce(x.dims(), *axes, keepdims);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool>)
      return {};
    else
      return {reduce_typed<kind, T>(x, plan)};
  });
}

// Output shape from the axes attribute or a constant axes input.
std::vector<ValueType> infer_reduce(const InferContext& ctx) {
  const ValueType& in = ctx.in(0);
  bool keepdims = ctx.node.attr_int("keepdims", 1) != 0;
  std::optional<std::vector<int64_t>> axes;
  if (ctx.node.has_attr("axes")) {
    axes = ctx.node.attr_ints("axes");
  } else if (ctx.node.has_input(1)) {
    const Tensor* c = ctx.constant(1);
    if (!c) {
      if (keepdims && in.shape.rank_known) return {typed(in.dtype, Shape(std::vector<Dim>(in.shape.dims.size())))};
      return {typed(in.dtype, Shape::unknown_rank())};
    }
    axes = c->to_int_vector();
  }
  if (!in.shape.rank_known) return {typed(in.dtype, Shape::unknown_rank())};
  auto resolved = resolve_axes(ctx.node, axes, in.shape.rank());
  if (!resolved) return {in};
  std::vector<bool> reduced(in.shape.dims.size(), resolved->empty());
  for (int64_t a : *resolved) reduced[size_t(a)] = true;
  Shape out;
  for (size_t d = 0; d < reduced.size(); ++d) {
    if (!reduced[d])
      out.dims.push_back(in.shape.dims[d]);
    else if (keepdims)
      out.dims.push_back(Dim(1));
  }
  return {typed(in.dtype, out)};
}

#define WAFER_REDUCE(id, NAME, COST, KIND)                                                                            \
  WAFER_REGISTER_OP(                                                                                                  \
      id, {.name = NAME,                                                                                              \
           .cost = COST,                                                                                              \
           .since = 1,                                                                                                \
           .attrs = {{"axes", AttrType::Ints}, {"keepdims", AttrType::Int}, {"noop_with_empty_axes", AttrType::Int}}, \
           .infer = infer_reduce,                                                                                     \
           .kernel = reduce_kernel<KIND>});

WAFER_REDUCE(reduce_sum, "ReduceSum", op_cost::reduction(), Red::Sum)
WAFER_REDUCE(reduce_mean, "ReduceMean", op_cost::reduction(), Red::Mean)
WAFER_REDUCE(reduce_max, "ReduceMax", op_cost::reduction(), Red::Max)
WAFER_REDUCE(reduce_min, "ReduceMin", op_cost::reduction(), Red::Min)
WAFER_REDUCE(reduce_prod, "ReduceProd", op_cost::reduction(), Red::Prod)
WAFER_REDUCE(reduce_l1, "ReduceL1", op_cost::reduction(), Red::L1)
WAFER_REDUCE(reduce_l2, "ReduceL2", op_cost::reduction(), Red::L2)
WAFER_REDUCE(reduce_log_sum, "ReduceLogSum", op_cost::reduction(), Red::LogSum)
WAFER_REDUCE(reduce_log_sum_exp, "ReduceLogSumExp", op_cost::reduction(), Red::LogSumExp)
WAFER_REDUCE(reduce_sum_square, "ReduceSumSquare", op_cost::reduction(), Red::SumSquare)
#undef WAFER_REDUCE

// ArgMax / ArgMin along one axis. Ties go to the first index, or the last
// with select_last_index; NaN wins over numbers (numpy argmax/argmin).
template <bool is_max>
std::vector<Tensor> arg_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), math::kNumericTypes);
  check(x.rank() >= 1, ctx.node.label(), ": input must have rank >= 1");
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0), x.rank(), ctx.node);
  bool keepdims = ctx.node.attr_int("keepdims", 1) != 0;
  bool last = ctx.node.attr_int("select_last_index", 0) != 0;
  int64_t outer = 1, inner = 1, len = x.dim(axis);
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  check(len > 0, ctx.node.label(), ": cannot take ", is_max ? "ArgMax" : "ArgMin", " over an empty axis");
  Dims out_dims = math::plan_reduce(x.dims(), {axis}, keepdims).out_dims;
  Tensor out(DType::Int64, out_dims);
  int64_t* dst = out.data<int64_t>();
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      using C = compute_t<T>;
      const T* src = x.data<T>();
      std::vector<C> best(static_cast<size_t>(inner));
      for (int64_t o = 0; o < outer; ++o) {
        const T* base = src + o * len * inner;
        int64_t* idx = dst + o * inner;
        for (int64_t k = 0; k < inner; ++k) best[size_t(k)] = to_compute(base[k]), idx[k] = 0;
        for (int64_t j = 1; j < len; ++j) {
          for (int64_t k = 0; k < inner; ++k) {
            C v = to_compute(base[j * inner + k]);
            C& b = best[size_t(k)];
            bool better, tie;
            if (math::is_nan(b))
              better = false, tie = math::is_nan(v);
            else if (math::is_nan(v))
              better = true, tie = false;
            else
              better = is_max ? v > b : v < b, tie = v == b;
            if (better || (tie && last)) b = v, idx[k] = j;
          }
        }
      }
    }
  });
  return {out};
}

std::vector<ValueType> infer_arg(const InferContext& ctx) {
  const ValueType& in = ctx.in(0);
  if (!in.shape.rank_known) return {typed(DType::Int64, Shape::unknown_rank())};
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0), in.shape.rank(), ctx.node);
  bool keepdims = ctx.node.attr_int("keepdims", 1) != 0;
  Shape out;
  for (int64_t d = 0; d < in.shape.rank(); ++d) {
    if (d != axis)
      out.dims.push_back(in.shape.dims[size_t(d)]);
    else if (keepdims)
      out.dims.push_back(Dim(1));
  }
  return {typed(DType::Int64, out)};
}

WAFER_REGISTER_OP(
    argmax, {.name = "ArgMax",
             .cost = op_cost::reduction(),
             .since = 1,
             .attrs = {{"axis", AttrType::Int}, {"keepdims", AttrType::Int}, {"select_last_index", AttrType::Int}},
             .infer = infer_arg,
             .kernel = arg_kernel<true>});
WAFER_REGISTER_OP(
    argmin, {.name = "ArgMin",
             .cost = op_cost::reduction(),
             .since = 1,
             .attrs = {{"axis", AttrType::Int}, {"keepdims", AttrType::Int}, {"select_last_index", AttrType::Int}},
             .infer = infer_arg,
             .kernel = arg_kernel<false>});

}  // namespace
}  // namespace wafer
