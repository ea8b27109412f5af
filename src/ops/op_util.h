// Shared helpers for reference kernels and shape inference: axis handling,
// numpy broadcasting, strided iteration and elementwise maps.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/op_registry.h"

namespace wafer {

// Maps axis in [-rank, rank) to [0, rank); throws naming the node otherwise.
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node);

Dims strides_of(const Dims& dims);  // row-major element strides

// Numpy-style broadcast of two shapes; throws naming the node on mismatch.
Dims broadcast_dims(const Dims& a, const Dims& b, const Node& node);
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Strides of `in` when viewed with shape `out` under broadcasting (0 where broadcast).
Dims broadcast_strides(const Dims& in, const Dims& out);

// Walks every index of `dims` in row-major order, keeping one flat offset per
// operand (each with its own strides). Usage:
//   StridedWalker w(out_dims, {sa, sb});
//   for (int64_t i = 0; i < n; ++i, w.next()) { use w.offset(0), w.offset(1) }
class StridedWalker {
 public:
  StridedWalker(Dims dims, std::vector<Dims> strides);
  int64_t offset(size_t operand) const { return offsets_[operand]; }
  const Dims& index() const { return index_; }
  void next();

 private:
  Dims dims_;
  std::vector<Dims> strides_;
  Dims index_;
  std::vector<int64_t> offsets_;
};

// out[i] = f(x[i]) computing in compute_t<T>; result has dtype R (default T).
template <typename T, typename R = T, typename F>
Tensor map_unary(const Tensor& x, F f) {
  Tensor out(dtype_of<R>(), x.dims());
  const T* src = x.data<T>();
  R* dst = out.data<R>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = R(f(to_compute(src[i])));
  return out;
}

// out = f(a, b) with numpy broadcasting, computing in compute_t<T>.
template <typename T, typename R = T, typename F>
Tensor map_binary(const Tensor& a, const Tensor& b, const Node& node, F f) {
  Dims out_dims = broadcast_dims(a.dims(), b.dims(), node);
  Tensor out(dtype_of<R>(), out_dims);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  R* dst = out.data<R>();
  int64_t n = out.numel();
  if (a.dims() == b.dims()) {
    for (int64_t i = 0; i < n; ++i) dst[i] = R(f(to_compute(pa[i]), to_compute(pb[i])));
    return out;
  }
  StridedWalker w(out_dims, {broadcast_strides(a.dims(), out_dims), broadcast_strides(b.dims(), out_dims)});
  for (int64_t i = 0; i < n; ++i, w.next()) dst[i] = R(f(to_compute(pa[w.offset(0)]), to_compute(pb[w.offset(1)])));
  return out;
}

// Copies `src` (any dims) broadcast to `dims`.
Tensor broadcast_to(const Tensor& src, const Dims& dims, const Node& node);

// Shape inference helpers.
std::vector<ValueType> infer_same_as_input(const InferContext& ctx);       // output 0 = input 0
std::vector<ValueType> infer_broadcast(const InferContext& ctx);           // dtype of input 0, broadcast shape
std::vector<ValueType> infer_broadcast_bool(const InferContext& ctx);      // comparisons
ValueType typed(DType dtype, Shape shape);

// Fails with a message naming the node unless the dtype is one of `allowed`.
void require_dtype(const Node& node, DType actual, std::initializer_list<DType> allowed, const char* what = "input");

}  // namespace wafer
