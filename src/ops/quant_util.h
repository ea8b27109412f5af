// Helpers for the quantized ops (QuantizeLinear, DequantizeLinear, the
// Integer and QLinear families): zero-point subtraction into int32 and
// round-half-to-even saturation into 8-bit types.
#pragma once

#include <cmath>
#include <limits>

#include "ops/op_util.h"

namespace wafer {

// round(v) + zero_point clamped to Q's range, rounding half to even (the
// default FP rounding mode, as numpy.round). The zero point is added after
// rounding: round(v + zp) differs from it at ties.
template <typename Q>
Q saturate_round(float v, int64_t zero_point = 0) {
  float r = std::nearbyint(v) + float(zero_point);
  if (!(r >= float(std::numeric_limits<Q>::min()))) return std::numeric_limits<Q>::min();  // also NaN
  if (r > float(std::numeric_limits<Q>::max())) return std::numeric_limits<Q>::max();
  return Q(r);
}

// `zp`, given per-tensor (one element) or as a 1-D tensor along `axis` of `x`,
// viewed with a shape that broadcasts against x. Throws naming the node when
// its length does not match x's dim.
Tensor zero_point_view(const Tensor& zp, const Dims& x, int64_t axis, const Node& node, const char* what);

// int32 tensor x - zp, where zp (optional: nullptr = 0) is per-tensor or a 1-D
// tensor along `axis` of x. x and zp must be int8/uint8 (or int32 for x).
Tensor subtract_zero_point(const Tensor& x, const Tensor* zp, int64_t axis, const Node& node, const char* what);

// Value of a scale/zero-point tensor at index i along its axis (0 for per-tensor ones).
inline int64_t per_axis_index(const Tensor& t, int64_t i) {
  return t.numel() == 1 ? 0 : i;
}

}  // namespace wafer
