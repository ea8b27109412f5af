#include "ops/tensor_ops_util.h"

namespace wafer::tensor_ops {

std::vector<int64_t> int_values(const Tensor& t, const Node& node, const char* what) {
  check(t.dtype() == DType::Int64 || t.dtype() == DType::Int32, node.label(), ": ", what,
        " must be int64 or int32, got ", dtype_name(t.dtype()));
  check(t.rank() <= 1, node.label(), ": ", what, " must be a 1-D tensor, got shape ", dims_to_string(t.dims()));
  return t.to_int_vector();
}

std::optional<std::vector<int64_t>> const_ints(const InferContext& ctx, size_t i) {
  const Tensor* t = ctx.constant(i);
  if (!t) return std::nullopt;
  return int_values(*t, ctx.node, "shape-like input");
}

int64_t scalar_int(const Tensor& t, const Node& node, const char* what) {
  check(t.numel() == 1 && t.rank() <= 1, node.label(), ": ", what, " must have exactly one element, got shape ",
        dims_to_string(t.dims()));
  check(is_integer(t.dtype()), node.label(), ": ", what, " must be an integer, got ", dtype_name(t.dtype()));
  return t.get_int(0);
}

Dim dim_product(const Shape& s, int64_t from, int64_t to) {
  int64_t p = 1;
  for (int64_t i = from; i < to; ++i) {
    const Dim& d = s.dims[size_t(i)];
    if (!d.known()) return (to - from == 1) ? d : Dim();  // a lone symbol passes through
    p *= d.value;
  }
  return Dim(p);
}

Shape unknown_dims(int64_t rank) {
  return Shape(std::vector<Dim>(size_t(rank)));
}

Tensor transpose(const Tensor& in, const std::vector<int64_t>& perm) {
  Dims out_dims(perm.size()), in_strides = strides_of(in.dims()), walk_strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    out_dims[i] = in.dims()[size_t(perm[i])];
    walk_strides[i] = in_strides[size_t(perm[i])];
  }
  Tensor out(in.dtype(), out_dims);
  visit_width(in.dtype(), [&]<typename U>() {
    const U* src = static_cast<const U*>(in.raw());
    U* dst = static_cast<U*>(out.raw());
    StridedWalker w(out_dims, {walk_strides});
    for (int64_t i = 0, n = out.numel(); i < n; ++i, w.next()) dst[i] = src[w.offset(0)];
  });
  return out;
}

}  // namespace wafer::tensor_ops
