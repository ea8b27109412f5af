#include "ops/quant_util.h"

namespace wafer {

Tensor zero_point_view(const Tensor& zp, const Dims& x, int64_t axis, const Node& node, const char* what) {
  if (zp.numel() == 1) return zp.reshaped({});
  check(zp.rank() == 1, node.label(), ": ", what, " must be a scalar or 1-D, got ", dims_to_string(zp.dims()));
  int64_t rank = int64_t(x.size());
  check(axis >= 0 && axis < rank && x[size_t(axis)] == zp.numel(), node.label(), ": ", what, " has ", zp.numel(),
        " elements, which does not match dim ", axis, " of ", dims_to_string(x));
  Dims view(size_t(rank - axis), 1);
  view[0] = zp.numel();
  return zp.reshaped(view);
}

Tensor subtract_zero_point(const Tensor& x, const Tensor* zp, int64_t axis, const Node& node, const char* what) {
  require_dtype(node, x.dtype(), {DType::UInt8, DType::Int8, DType::Int32}, what);
  Tensor xi = x.cast(DType::Int32);
  if (!zp) return xi;
  require_dtype(node, zp->dtype(), {DType::UInt8, DType::Int8, DType::Int32}, "zero point");
  check(zp->dtype() == x.dtype(), node.label(), ": zero point of ", what, " is ", dtype_name(zp->dtype()), " but the ",
        what, " is ", dtype_name(x.dtype()));
  Tensor z = zero_point_view(*zp, x.dims(), axis, node, "zero point").cast(DType::Int32);
  Tensor out = map_binary<int32_t>(xi, z, node, [](int32_t a, int32_t b) { return a - b; });
  check(out.dims() == x.dims(), node.label(), ": zero point does not fit ", what, " of shape ",
        dims_to_string(x.dims()));
  return out;
}

}  // namespace wafer
