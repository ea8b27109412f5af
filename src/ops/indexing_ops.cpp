// Gather and scatter by index tensors: Gather, GatherElements, GatherND,
// ScatterElements (and its deprecated name Scatter), ScatterND. Negative
// indices count from the end; out-of-range indices are errors naming the node.
#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

std::vector<int64_t> index_values(const Tensor& t, const Node& node) {
  check(t.dtype() == DType::Int64 || t.dtype() == DType::Int32, node.label(), ": indices must be int64 or int32, got ",
        dtype_name(t.dtype()));
  return t.to_int_vector();
}

// ---- Gather: out = data[:axis] + indices.shape + data[axis+1:] ----
std::vector<Tensor> gather(const KernelContext& ctx) {
  const Tensor& data = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  check(data.rank() >= 1, ctx.node.label(), ": data must have rank >= 1");
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0), data.rank(), ctx.node);
  auto idx = index_values(ind, ctx.node);
  int64_t dim = data.dim(axis);
  for (int64_t& i : idx) i = wrap_index(i, dim, ctx.node);
  Dims out_dims(data.dims().begin(), data.dims().begin() + axis);
  out_dims.insert(out_dims.end(), ind.dims().begin(), ind.dims().end());
  out_dims.insert(out_dims.end(), data.dims().begin() + axis + 1, data.dims().end());
  Tensor out(data.dtype(), out_dims);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.dim(d);
  for (int64_t d = axis + 1; d < data.rank(); ++d) inner *= data.dim(d);
  size_t block = size_t(inner) * dtype_size(data.dtype());
  std::byte* dst = bytes_of(out);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : idx) {
      std::memcpy(dst, bytes_of(data) + (size_t(o * dim + i)) * block, block);
      dst += block;
    }
  return {out};
}
std::vector<ValueType> gather_infer(const InferContext& ctx) {
  if (!known(ctx, {0, 1})) return {};
  const Shape& d = ctx.in(0).shape;
  const Shape& i = ctx.in(1).shape;
  if (!d.rank_known || !i.rank_known) return {typed(ctx.in(0).dtype, Shape::unknown_rank())};
  int64_t axis = axis_in_rank(ctx.node.attr_int("axis", 0), d.rank(), ctx.node);
  Shape out;
  out.dims.assign(d.dims.begin(), d.dims.begin() + axis);
  out.dims.insert(out.dims.end(), i.dims.begin(), i.dims.end());
  out.dims.insert(out.dims.end(), d.dims.begin() + axis + 1, d.dims.end());
  return {typed(ctx.in(0).dtype, out)};
}
WAFER_REGISTER_OP(gather, {.name = "Gather",
                           .cost = op_cost::row_lookup(),
                           .since = 1,
                           .until = 13,
                           .attrs = {{"axis", AttrType::Int}},
                           .infer = gather_infer,
                           .kernel = gather});

// ---- GatherElements / ScatterElements share the index walk ----
// Calls fn(position in indices, offset in data) for every element of `ind`,
// where the data offset has the axis coordinate replaced by the index.
template <typename Fn>
void for_each_element_index(const Tensor& data, const Tensor& ind, int64_t axis, const Node& node, Fn fn) {
  check(ind.rank() == data.rank(), node.label(), ": indices have rank ", ind.rank(), ", data has rank ", data.rank());
  for (int64_t d = 0; d < data.rank(); ++d)
    check(d == axis || ind.dim(d) <= data.dim(d), node.label(), ": indices shape ", dims_to_string(ind.dims()),
          " exceeds data shape ", dims_to_string(data.dims()), " on axis ", d);
  auto idx = index_values(ind, node);
  Dims ds = strides_of(data.dims());
  StridedWalker w(ind.dims(), {ds});  // data offset of the same coordinates
  int64_t dim = data.dim(axis), axis_stride = ds[size_t(axis)];
  for (int64_t i = 0, n = ind.numel(); i < n; ++i, w.next()) {
    int64_t j = wrap_index(idx[size_t(i)], dim, node);
    fn(i, w.offset(0) + (j - w.index()[size_t(axis)]) * axis_stride);
  }
}

std::vector<Tensor> gather_elements(const KernelContext& ctx) {
  const Tensor& data = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  check(data.rank() >= 1, ctx.node.label(), ": data must have rank >= 1");
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0), data.rank(), ctx.node);
  Tensor out(data.dtype(), ind.dims());
  visit_width(data.dtype(), [&]<typename U>() {
    const U* src = static_cast<const U*>(data.raw());
    U* dst = static_cast<U*>(out.raw());
    for_each_element_index(data, ind, axis, ctx.node, [&](int64_t i, int64_t off) { dst[i] = src[off]; });
  });
  return {out};
}
std::vector<ValueType> gather_elements_infer(const InferContext& ctx) {
  if (!known(ctx, {0, 1})) return {};
  return {typed(ctx.in(0).dtype, ctx.in(1).shape)};
}
WAFER_REGISTER_OP(gather_elements, {.name = "GatherElements",
                                    .cost = op_cost::movement(),
                                    .since = 11,
                                    .until = 13,
                                    .attrs = {{"axis", AttrType::Int}},
                                    .infer = gather_elements_infer,
                                    .kernel = gather_elements});

// Scatter reductions (v16): none replaces, add and mul accumulate.
enum class Reduction { None, Add, Mul };
Reduction reduction_of(const Node& node) {
  if (node.op_version < 16) return Reduction::None;
  std::string r = node.attr_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (r == "add") return Reduction::Add;
  if (r == "mul") return Reduction::Mul;
  if (r == "max" || r == "min")
    throw UnsupportedError(node.label() + ": reduction '" + r + "' (opset 18) is not supported");
  fail(node.label(), ": unknown reduction '", r, "'");
}

template <typename T>
T combine(T a, T b, Reduction r) {
  if (r == Reduction::None) return b;
  using C = compute_t<T>;
  if constexpr (std::is_same_v<T, bool>)
    return r == Reduction::Add ? (a || b) : (a && b);
  else if constexpr (std::is_integral_v<T>) {
    // Wrap like numpy instead of overflowing (UB for signed types).
    using Un = std::make_unsigned_t<T>;
    return r == Reduction::Add ? T(Un(Un(a) + Un(b))) : T(Un(Un(a) * Un(b)));
  } else {
    return from_compute<T>(r == Reduction::Add ? C(to_compute(a) + to_compute(b)) : C(to_compute(a) * to_compute(b)));
  }
}

std::vector<Tensor> scatter_elements(const KernelContext& ctx) {
  const Tensor& data = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  const Tensor& upd = ctx.in(2);
  check(data.rank() >= 1, ctx.node.label(), ": data must have rank >= 1");
  check(upd.dtype() == data.dtype(), ctx.node.label(), ": updates have type ", dtype_name(upd.dtype()), ", data has ",
        dtype_name(data.dtype()));
  check(upd.dims() == ind.dims(), ctx.node.label(), ": updates shape ", dims_to_string(upd.dims()),
        " differs from indices shape ", dims_to_string(ind.dims()));
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0), data.rank(), ctx.node);
  Reduction red = reduction_of(ctx.node);
  Tensor out = data.clone();
  visit_dtype(data.dtype(), [&]<typename T>() {
    const T* u = upd.data<T>();
    T* dst = out.data<T>();
    for_each_element_index(data, ind, axis, ctx.node,
                           [&](int64_t i, int64_t off) { dst[off] = combine(dst[off], u[i], red); });
  });
  return {out};
}
std::vector<ValueType> scatter_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  return {ctx.in(0)};
}
WAFER_REGISTER_OP(scatter_elements, {.name = "ScatterElements",
                                     .cost = op_cost::movement(),
                                     .since = 11,
                                     .until = 16,
                                     .attrs = {{"axis", AttrType::Int}, {"reduction", AttrType::String}},
                                     .infer = scatter_infer,
                                     .kernel = scatter_elements});
// Scatter (deprecated in opset 11) is ScatterElements without reductions.
WAFER_REGISTER_OP(scatter, {.name = "Scatter",
                            .cost = op_cost::movement(),
                            .since = 9,
                            .until = 11,
                            .attrs = {{"axis", AttrType::Int}},
                            .infer = scatter_infer,
                            .kernel = scatter_elements});

// ---- GatherND / ScatterND ----
// Geometry shared by both: data [batch..., indexed (k dims)..., slice...] and
// indices [batch..., tuples..., k].
struct NDGeometry {
  int64_t batches = 1, tuples_per_batch = 1, k = 0, slice = 1;
  Dims data_strides;             // strides of the k indexed dims, in slices
  std::vector<int64_t> offsets;  // per tuple (batch-major), the data offset in elements
};

NDGeometry nd_geometry(const Tensor& data, const Tensor& ind, int64_t batch_dims, const Node& node) {
  int64_t r = data.rank(), q = ind.rank();
  check(r >= 1 && q >= 1, node.label(), ": data and indices must have rank >= 1");
  check(batch_dims >= 0 && batch_dims < std::min(r, q), node.label(), ": batch_dims ", batch_dims,
        " must be less than the ranks of data (", r, ") and indices (", q, ")");
  NDGeometry g;
  g.k = ind.dim(q - 1);
  check(g.k >= 1 && g.k <= r - batch_dims, node.label(), ": last indices dimension ", g.k, " must be in [1, ",
        r - batch_dims, "]");
  for (int64_t d = 0; d < batch_dims; ++d) {
    check(ind.dim(d) == data.dim(d), node.label(), ": batch dimension ", d, " differs: indices ",
          dims_to_string(ind.dims()), ", data ", dims_to_string(data.dims()));
    g.batches *= data.dim(d);
  }
  for (int64_t d = batch_dims; d < q - 1; ++d) g.tuples_per_batch *= ind.dim(d);
  for (int64_t d = batch_dims + g.k; d < r; ++d) g.slice *= data.dim(d);
  int64_t batch_size = g.slice;  // elements of data per batch
  for (int64_t d = batch_dims; d < batch_dims + g.k; ++d) batch_size *= data.dim(d);
  auto idx = index_values(ind, node);
  Dims strides = strides_of(data.dims());
  g.offsets.resize(size_t(g.batches * g.tuples_per_batch));
  for (int64_t t = 0; t < g.batches * g.tuples_per_batch; ++t) {
    int64_t off = (t / g.tuples_per_batch) * batch_size;
    for (int64_t j = 0; j < g.k; ++j) {
      int64_t ax = batch_dims + j;
      off += wrap_index(idx[size_t(t * g.k + j)], data.dim(ax), node) * strides[size_t(ax)];
    }
    g.offsets[size_t(t)] = off;
  }
  return g;
}

std::vector<Tensor> gather_nd(const KernelContext& ctx) {
  const Tensor& data = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  int64_t b = ctx.version() >= 12 ? ctx.node.attr_int("batch_dims", 0) : 0;
  NDGeometry g = nd_geometry(data, ind, b, ctx.node);
  Dims out_dims(ind.dims().begin(), ind.dims().end() - 1);
  out_dims.insert(out_dims.end(), data.dims().begin() + b + g.k, data.dims().end());
  Tensor out(data.dtype(), out_dims);
  size_t es = dtype_size(data.dtype()), block = size_t(g.slice) * es;
  for (size_t t = 0; t < g.offsets.size(); ++t)
    std::memcpy(bytes_of(out) + t * block, bytes_of(data) + size_t(g.offsets[t]) * es, block);
  return {out};
}
std::vector<ValueType> gather_nd_infer(const InferContext& ctx) {
  if (!known(ctx, {0, 1})) return {};
  const Shape& d = ctx.in(0).shape;
  const Shape& i = ctx.in(1).shape;
  DType dt = ctx.in(0).dtype;
  if (!d.rank_known || !i.rank_known || i.rank() < 1 || !i.dims.back().known())
    return {typed(dt, Shape::unknown_rank())};
  int64_t b = ctx.node.op_version >= 12 ? ctx.node.attr_int("batch_dims", 0) : 0, k = i.dims.back().value;
  check(k >= 1 && b + k <= d.rank(), ctx.node.label(), ": last indices dimension ", k, " is out of range");
  Shape out;
  out.dims.assign(i.dims.begin(), i.dims.end() - 1);
  out.dims.insert(out.dims.end(), d.dims.begin() + b + k, d.dims.end());
  return {typed(dt, out)};
}
WAFER_REGISTER_OP(gather_nd, {.name = "GatherND",
                              .cost = op_cost::movement(),
                              .since = 11,
                              .until = 13,
                              .attrs = {{"batch_dims", AttrType::Int}},
                              .infer = gather_nd_infer,
                              .kernel = gather_nd});

std::vector<Tensor> scatter_nd(const KernelContext& ctx) {
  const Tensor& data = ctx.in(0);
  const Tensor& ind = ctx.in(1);
  const Tensor& upd = ctx.in(2);
  check(upd.dtype() == data.dtype(), ctx.node.label(), ": updates have type ", dtype_name(upd.dtype()), ", data has ",
        dtype_name(data.dtype()));
  NDGeometry g = nd_geometry(data, ind, 0, ctx.node);
  Dims want(ind.dims().begin(), ind.dims().end() - 1);
  want.insert(want.end(), data.dims().begin() + g.k, data.dims().end());
  check(upd.dims() == want, ctx.node.label(), ": updates have shape ", dims_to_string(upd.dims()), ", expected ",
        dims_to_string(want));
  Reduction red = reduction_of(ctx.node);
  Tensor out = data.clone();
  visit_dtype(data.dtype(), [&]<typename T>() {
    const T* u = upd.data<T>();
    T* dst = out.data<T>();
    for (size_t t = 0; t < g.offsets.size(); ++t)
      for (int64_t e = 0; e < g.slice; ++e) {
        T& o = dst[g.offsets[t] + e];
        o = combine(o, u[int64_t(t) * g.slice + e], red);
      }
  });
  return {out};
}
WAFER_REGISTER_OP(scatter_nd, {.name = "ScatterND",
                               .cost = op_cost::movement(),
                               .since = 11,
                               .until = 16,
                               .attrs = {{"reduction", AttrType::String}},
                               .infer = scatter_infer,
                               .kernel = scatter_nd});

}  // namespace
}  // namespace wafer
