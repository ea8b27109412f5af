// Ops that select elements by a boolean condition: Where, Compress, NonZero.
#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

// ---- Where: out = cond ? x : y, numpy-broadcast over all three ----
std::vector<Tensor> where(const KernelContext& ctx) {
  const Tensor& c = ctx.in(0);
  const Tensor& x = ctx.in(1);
  const Tensor& y = ctx.in(2);
  check(c.dtype() == DType::Bool, ctx.node.label(), ": condition must be bool, got ", dtype_name(c.dtype()));
  check(x.dtype() == y.dtype(), ctx.node.label(), ": X has type ", dtype_name(x.dtype()), ", Y has ",
        dtype_name(y.dtype()));
  Dims out_dims = broadcast_dims(broadcast_dims(c.dims(), x.dims(), ctx.node), y.dims(), ctx.node);
  Tensor out(x.dtype(), out_dims);
  const bool* cond = c.data<bool>();
  visit_width(x.dtype(), [&]<typename U>() {
    const U* px = static_cast<const U*>(x.raw());
    const U* py = static_cast<const U*>(y.raw());
    U* dst = static_cast<U*>(out.raw());
    StridedWalker w(out_dims, {broadcast_strides(c.dims(), out_dims), broadcast_strides(x.dims(), out_dims),
                               broadcast_strides(y.dims(), out_dims)});
    for (int64_t i = 0, n = out.numel(); i < n; ++i, w.next())
      dst[i] = cond[w.offset(0)] ? px[w.offset(1)] : py[w.offset(2)];
  });
  return {out};
}
std::vector<ValueType> where_infer(const InferContext& ctx) {
  if (!known(ctx, {0, 1, 2})) return {};
  try {
    return {
        typed(ctx.in(1).dtype, broadcast_shapes(broadcast_shapes(ctx.in(0).shape, ctx.in(1).shape), ctx.in(2).shape))};
  } catch (const Error& e) {
    fail(ctx.node.label(), ": ", e.what());
  }
}
WAFER_REGISTER_OP(where, {.name = "Where",
                          .cost = op_cost::elementwise({{"max", 1}}),
                          .since = 9,
                          .until = 16,
                          .infer = where_infer,
                          .kernel = where});

// ---- Compress: keep the slices along axis (or elements of the flattened input) where condition is true ----
std::vector<Tensor> compress(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& c = ctx.in(1);
  check(c.dtype() == DType::Bool, ctx.node.label(), ": condition must be bool, got ", dtype_name(c.dtype()));
  check(c.rank() == 1, ctx.node.label(), ": condition must be 1-D, got ", dims_to_string(c.dims()));
  bool has_axis = ctx.node.has_attr("axis");
  Tensor in = has_axis ? x : x.reshaped({x.numel()});
  int64_t axis = has_axis ? axis_in_rank(ctx.node.attr_int("axis"), x.rank(), ctx.node) : 0;
  int64_t dim = in.dim(axis);
  const bool* cond = c.data<bool>();
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < c.numel(); ++i) {
    if (!cond[i]) continue;
    // Numpy truncates to the condition's length and rejects true entries past the axis.
    check(i < dim, ctx.node.label(), ": condition selects index ", i, " of an axis of size ", dim);
    keep.push_back(i);
  }
  Dims out_dims = in.dims();
  out_dims[size_t(axis)] = int64_t(keep.size());
  Tensor out(x.dtype(), out_dims);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in.dim(d);
  for (int64_t d = axis + 1; d < in.rank(); ++d) inner *= in.dim(d);
  size_t block = size_t(inner) * dtype_size(x.dtype());
  std::byte* dst = bytes_of(out);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : keep) {
      std::memcpy(dst, bytes_of(in) + size_t(o * dim + k) * block, block);
      dst += block;
    }
  return {out};
}
std::vector<ValueType> compress_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  if (!ctx.node.has_attr("axis")) return {typed(x.dtype, unknown_dims(1))};
  if (!x.shape.rank_known) return {typed(x.dtype, Shape::unknown_rank())};
  Shape out = x.shape;
  out.dims[size_t(axis_in_rank(ctx.node.attr_int("axis"), x.shape.rank(), ctx.node))] = Dim();
  return {typed(x.dtype, out)};
}
WAFER_REGISTER_OP(compress, {.name = "Compress",
                             .cost = op_cost::movement(),
                             .since = 9,
                             .until = 11,
                             .attrs = {{"axis", AttrType::Int}},
                             .infer = compress_infer,
                             .kernel = compress});

// ---- NonZero: int64 [rank, count] of the coordinates of non-zero elements, row-major order ----
std::vector<Tensor> nonzero(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  Dims dims = x.rank() == 0 ? Dims{1} : x.dims();  // numpy treats a scalar as 1-D
  std::vector<int64_t> hits;
  visit_dtype(x.dtype(), [&]<typename T>() {
    const T* p = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i)
      if (to_compute(p[i]) != compute_t<T>(0)) hits.push_back(i);
  });
  int64_t rank = int64_t(dims.size()), n = int64_t(hits.size());
  Tensor out(DType::Int64, {rank, n});
  int64_t* dst = out.data<int64_t>();
  Dims strides = strides_of(dims);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t d = 0; d < rank; ++d) dst[d * n + j] = hits[size_t(j)] / strides[size_t(d)] % dims[size_t(d)];
  return {out};
}
std::vector<ValueType> nonzero_infer(const InferContext& ctx) {
  if (!known(ctx, {0}) || !ctx.in(0).shape.rank_known) return {typed(DType::Int64, unknown_dims(2))};
  return {typed(DType::Int64, Shape({Dim(std::max<int64_t>(ctx.in(0).shape.rank(), 1)), Dim()}))};
}
WAFER_REGISTER_OP(nonzero, {.name = "NonZero",
                            .cost = op_cost::movement(),
                            .since = 9,
                            .until = 13,
                            .infer = nonzero_infer,
                            .kernel = nonzero});

}  // namespace
}  // namespace wafer
