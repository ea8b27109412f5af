// Ops that order or accumulate along an axis: TopK, Unique, CumSum.
// Orderings treat NaN as larger than every number (as numpy sorts), so the
// comparators are strict weak orders even with NaN inputs.
#include <algorithm>
#include <numeric>

#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

template <typename C>
bool less_nan_last(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

// ---- TopK ----
std::vector<Tensor> top_k(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  check(x.rank() >= 1, ctx.node.label(), ": input must have rank >= 1");
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", -1), x.rank(), ctx.node);
  int64_t k = ctx.version() < 10 ? ctx.node.attr_int("k") : scalar_int(ctx.in(1), ctx.node, "K");
  int64_t dim = x.dim(axis);
  check(k >= 0 && k <= dim, ctx.node.label(), ": k = ", k, " is out of range for an axis of size ", dim);
  bool largest = ctx.version() < 11 || ctx.node.attr_int("largest", 1) != 0;
  // sorted=0 leaves the order unspecified; sorted order is one valid choice.
  Dims out_dims = x.dims();
  out_dims[size_t(axis)] = k;
  Tensor values(x.dtype(), out_dims), indices(DType::Int64, out_dims);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  visit_dtype(x.dtype(), [&]<typename T>() {
    using C = compute_t<T>;
    const T* src = x.data<T>();
    T* vd = values.data<T>();
    int64_t* id = indices.data<int64_t>();
    std::vector<int64_t> order(static_cast<size_t>(dim));
    std::vector<C> row(static_cast<size_t>(dim));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        for (int64_t j = 0; j < dim; ++j) row[size_t(j)] = to_compute(src[(o * dim + j) * inner + i]);
        std::iota(order.begin(), order.end(), 0);
        // Stable: equal values keep the lower index first.
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? less_nan_last(row[size_t(b)], row[size_t(a)])
                         : less_nan_last(row[size_t(a)], row[size_t(b)]);
        });
        for (int64_t j = 0; j < k; ++j) {
          int64_t off = (o * k + j) * inner + i;
          vd[off] = src[(o * dim + order[size_t(j)]) * inner + i];
          id[off] = order[size_t(j)];
        }
      }
  });
  return {values, indices};
}
std::vector<ValueType> top_k_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known) return {x, typed(DType::Int64, x.shape)};
  int64_t axis = axis_in_rank(ctx.node.attr_int("axis", -1), x.shape.rank(), ctx.node);
  Shape out = x.shape;
  if (ctx.node.op_version < 10)
    out.dims[size_t(axis)] = Dim(ctx.node.attr_int("k"));
  else if (const Tensor* k = ctx.constant(1); k && k->numel() == 1)
    out.dims[size_t(axis)] = Dim(k->get_int(0));
  else
    out.dims[size_t(axis)] = Dim();
  return {typed(x.dtype, out), typed(DType::Int64, out)};
}
WAFER_REGISTER_OP(
    top_k,
    {.name = "TopK",
     .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
     .since = 1,
     .until = 11,
     .attrs = {{"axis", AttrType::Int}, {"k", AttrType::Int}, {"largest", AttrType::Int}, {"sorted", AttrType::Int}},
     .infer = top_k_infer,
     .kernel = top_k});

// ---- Unique ----
// Elements (no axis) or slices along axis are the units compared; a slice
// compares lexicographically in row-major order of its elements, like numpy.
std::vector<Tensor> unique(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  bool has_axis = ctx.node.has_attr("axis");
  bool sorted = ctx.node.attr_int("sorted", 1) != 0;
  Tensor in = has_axis ? x : x.reshaped({x.numel()});
  int64_t axis = has_axis ? axis_in_rank(ctx.node.attr_int("axis"), x.rank(), ctx.node) : 0;
  int64_t dim = in.dim(axis), outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in.dim(d);
  for (int64_t d = axis + 1; d < in.rank(); ++d) inner *= in.dim(d);

  std::vector<int64_t> first;  // first occurrence of each unique unit, in output order
  std::vector<int64_t> inverse(static_cast<size_t>(dim)), counts;
  visit_dtype(x.dtype(), [&]<typename T>() {
    using C = compute_t<T>;
    const T* src = in.data<T>();
    auto elem = [&](int64_t unit, int64_t o, int64_t i) { return to_compute(src[(o * dim + unit) * inner + i]); };
    // -1, 0, 1 comparison of two units.
    auto cmp = [&](int64_t a, int64_t b) {
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          C va = elem(a, o, i), vb = elem(b, o, i);
          if (less_nan_last(va, vb)) return -1;
          if (less_nan_last(vb, va)) return 1;
        }
      return 0;
    };
    std::vector<int64_t> order(static_cast<size_t>(dim));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
    // Groups of equal units in sorted order; the stable sort puts each group's first occurrence first.
    std::vector<int64_t> group_of(static_cast<size_t>(dim));
    std::vector<int64_t> group_first, group_count;
    for (size_t j = 0; j < order.size(); ++j) {
      if (j == 0 || cmp(order[j - 1], order[j]) != 0) {
        group_first.push_back(order[j]);
        group_count.push_back(0);
      }
      group_of[size_t(order[j])] = int64_t(group_first.size()) - 1;
      group_count.back()++;
    }
    // Output order: sorted groups, or groups by first occurrence.
    std::vector<int64_t> rank(group_first.size());
    std::vector<int64_t> out_order(group_first.size());
    std::iota(out_order.begin(), out_order.end(), 0);
    if (!sorted)
      std::sort(out_order.begin(), out_order.end(),
                [&](int64_t a, int64_t b) { return group_first[size_t(a)] < group_first[size_t(b)]; });
    for (size_t r = 0; r < out_order.size(); ++r) {
      rank[size_t(out_order[r])] = int64_t(r);
      first.push_back(group_first[size_t(out_order[r])]);
      counts.push_back(group_count[size_t(out_order[r])]);
    }
    for (int64_t j = 0; j < dim; ++j) inverse[size_t(j)] = rank[size_t(group_of[size_t(j)])];
  });

  int64_t n = int64_t(first.size());
  Dims y_dims = in.dims();
  y_dims[size_t(axis)] = n;
  Tensor y(x.dtype(), y_dims);
  size_t block = size_t(inner) * dtype_size(x.dtype());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t u = 0; u < n; ++u)
      std::memcpy(bytes_of(y) + size_t(o * n + u) * block, bytes_of(in) + size_t(o * dim + first[size_t(u)]) * block,
                  block);
  return {y, Tensor::from_vector<int64_t>({n}, first), Tensor::from_vector<int64_t>({dim}, inverse),
          Tensor::from_vector<int64_t>({n}, counts)};
}
std::vector<ValueType> unique_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  Shape y = unknown_dims(1), inv = unknown_dims(1);
  if (ctx.node.has_attr("axis") && x.shape.rank_known) {
    int64_t axis = axis_in_rank(ctx.node.attr_int("axis"), x.shape.rank(), ctx.node);
    y = x.shape;
    y.dims[size_t(axis)] = Dim();
    inv = Shape({x.shape.dims[size_t(axis)]});
  } else if (x.shape.rank_known) {
    inv = Shape({dim_product(x.shape, 0, x.shape.rank())});
  }
  return {typed(x.dtype, y), typed(DType::Int64, unknown_dims(1)), typed(DType::Int64, inv),
          typed(DType::Int64, unknown_dims(1))};
}
WAFER_REGISTER_OP(unique, {.name = "Unique",
                           .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                           .since = 11,
                           .until = 11,
                           .attrs = {{"axis", AttrType::Int}, {"sorted", AttrType::Int}},
                           .infer = unique_infer,
                           .kernel = unique});

// Accumulator type: unsigned for integers so sums wrap instead of overflowing.
template <typename C, typename = void>
struct WrapType {
  using type = C;
};
template <typename C>
struct WrapType<C, std::enable_if_t<std::is_integral_v<C>>> {
  using type = std::make_unsigned_t<C>;
};

// ---- CumSum (exclusive: sum of the elements before; reverse: from the end) ----
std::vector<Tensor> cum_sum(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(),
                {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                 DType::UInt32, DType::UInt64});
  check(x.rank() >= 1, ctx.node.label(), ": input must have rank >= 1");
  int64_t axis = normalize_axis(scalar_int(ctx.in(1), ctx.node, "axis"), x.rank(), ctx.node);
  bool exclusive = ctx.node.attr_int("exclusive", 0) != 0, reverse = ctx.node.attr_int("reverse", 0) != 0;
  int64_t dim = x.dim(axis), outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      using C = compute_t<T>;
      using Acc = typename WrapType<C>::type;
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      std::vector<Acc> acc(static_cast<size_t>(inner));
      for (int64_t o = 0; o < outer; ++o) {
        std::fill(acc.begin(), acc.end(), Acc(0));
        for (int64_t s = 0; s < dim; ++s) {
          int64_t j = reverse ? dim - 1 - s : s;
          const T* row = src + (o * dim + j) * inner;
          T* orow = dst + (o * dim + j) * inner;
          for (int64_t i = 0; i < inner; ++i) {
            Acc v = Acc(to_compute(row[i]));
            if (!exclusive) acc[size_t(i)] = Acc(acc[size_t(i)] + v);
            orow[i] = from_compute<T>(C(acc[size_t(i)]));
            if (exclusive) acc[size_t(i)] = Acc(acc[size_t(i)] + v);
          }
        }
      }
    }
  });
  return {out};
}
WAFER_REGISTER_OP(cum_sum, {.name = "CumSum",
                            .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"add", 1}}),
                            .since = 11,
                            .until = 14,
                            .attrs = {{"exclusive", AttrType::Int}, {"reverse", AttrType::Int}},
                            .infer = [](const InferContext& ctx) -> std::vector<ValueType> {
                              if (!known(ctx, {0})) return {};
                              return {ctx.in(0)};
                            },
                            .kernel = cum_sum});

}  // namespace
}  // namespace wafer
