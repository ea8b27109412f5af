// Helpers shared by the math op files: dtype groups, safe numeric casts,
// reduction planning (axes -> output shape and strides) and axes lookup.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "ops/op_util.h"

namespace wafer::math {

inline const std::vector<DType> kFloatTypes = {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16};
inline const std::vector<DType> kNumericTypes = {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16,
                                                 DType::Int8,    DType::UInt8,   DType::Int16,   DType::UInt16,
                                                 DType::Int32,   DType::UInt32,  DType::Int64,   DType::UInt64};
inline const std::vector<DType> kSignedNumericTypes = {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16,
                                                       DType::Int8,    DType::Int16,   DType::Int32,   DType::Int64};

// require_dtype for a runtime list.
void require_one_of(const Node& node, DType actual, const std::vector<DType>& allowed, const char* what = "input");

// double -> T without undefined behaviour: NaN becomes 0 and out-of-range
// values saturate (a C++ float->int conversion out of range is UB).
template <typename T>
T saturate_cast(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    // max() of 64-bit types is not representable: compare against 2^bits.
    if (v >= std::ldexp(1.0, std::numeric_limits<T>::digits)) return std::numeric_limits<T>::max();
    return T(v);
  } else {
    return T(static_cast<compute_t<T>>(v));
  }
}

// Two's complement wrapping arithmetic for integers (numpy semantics), plain
// for floats. Computed in an unsigned type at least as wide as int, because
// e.g. uint16 * uint16 promotes to signed int and could overflow (UB).
template <typename C>
C wrapping_add(C x, C y) {
  if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
    using U = std::make_unsigned_t<decltype(+x)>;  // at least unsigned int: no promotion to signed int
    return C(U(x) + U(y));
  } else {
    return x + y;
  }
}
template <typename C>
C wrapping_sub(C x, C y) {
  if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
    using U = std::make_unsigned_t<decltype(+x)>;
    return C(U(x) - U(y));
  } else {
    return x - y;
  }
}
template <typename C>
C wrapping_mul(C x, C y) {
  if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
    using U = std::make_unsigned_t<decltype(+x)>;
    return C(U(x) * U(y));
  } else {
    return x * y;
  }
}

template <typename C>
bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>)
    return std::isnan(v);
  else
    return false;
}

// How a reduction maps input elements to output elements: walk the input in
// row-major order with `in_to_out` strides (0 on reduced axes) to get each
// element's output offset.
struct ReducePlan {
  Dims out_dims;   // with keepdims applied
  Dims kept_dims;  // reduced axes as 1 (keepdims=1 shape)
  Dims in_to_out;  // per input axis: stride into the output, 0 when reduced
  int64_t out_numel = 1;
  int64_t group = 1;  // input elements per output element
};

// `axes` must be normalized and unique; empty means all axes.
ReducePlan plan_reduce(const Dims& in_dims, const std::vector<int64_t>& axes, bool keepdims);

// Axes of a reduction: attribute `axes`, or (opset-13 ReduceSum / opset-18
// style) the optional input 1. Returns nullopt when neither is given.
std::optional<std::vector<int64_t>> reduce_axes(const KernelContext& ctx);

}  // namespace wafer::math
