// Element types. The numbering follows ONNX TensorProto.DataType so that
// conversion at the importer is a checked cast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/float16.h"

namespace wafer {

enum class DType : int {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,  // recognised so errors can name it; tensors of strings are unsupported
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16,
};

size_t dtype_size(DType t);        // bytes per element; throws for String/Undefined
std::string_view dtype_name(DType t);  // "float32", "int64", ...
DType dtype_from_name(std::string_view name);  // inverse of dtype_name; throws on unknown
bool dtype_is_valid_onnx(int onnx_type);  // a DataType value Wafer can hold in a Tensor
bool is_float(DType t);    // float16, bfloat16, float32, float64
bool is_integer(DType t);  // signed or unsigned integers (not bool)
bool is_signed(DType t);

// C++ storage type for each dtype.
template <DType> struct DTypeTraits;
#define WAFER_DTYPE_TRAIT(D, T) \
  template <> struct DTypeTraits<DType::D> { using type = T; };
WAFER_DTYPE_TRAIT(Float32, float)
WAFER_DTYPE_TRAIT(Float64, double)
WAFER_DTYPE_TRAIT(Float16, wafer::Float16)
WAFER_DTYPE_TRAIT(BFloat16, wafer::BFloat16)
WAFER_DTYPE_TRAIT(Int8, int8_t)
WAFER_DTYPE_TRAIT(UInt8, uint8_t)
WAFER_DTYPE_TRAIT(Int16, int16_t)
WAFER_DTYPE_TRAIT(UInt16, uint16_t)
WAFER_DTYPE_TRAIT(Int32, int32_t)
WAFER_DTYPE_TRAIT(UInt32, uint32_t)
WAFER_DTYPE_TRAIT(Int64, int64_t)
WAFER_DTYPE_TRAIT(UInt64, uint64_t)
WAFER_DTYPE_TRAIT(Bool, bool)
#undef WAFER_DTYPE_TRAIT

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<wafer::Float16>() { return DType::Float16; }
template <> constexpr DType dtype_of<wafer::BFloat16>() { return DType::BFloat16; }
template <> constexpr DType dtype_of<int8_t>() { return DType::Int8; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<int16_t>() { return DType::Int16; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::UInt16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::Int32; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::UInt32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::UInt64; }
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }

// Calls fn.template operator()<T>() with T the storage type of `t`, e.g.
//   visit_dtype(t, [&]<typename T>() { ... });
template <typename Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    case DType::Float16: return fn.template operator()<wafer::Float16>();
    case DType::BFloat16: return fn.template operator()<wafer::BFloat16>();
    case DType::Int8: return fn.template operator()<int8_t>();
    case DType::UInt8: return fn.template operator()<uint8_t>();
    case DType::Int16: return fn.template operator()<int16_t>();
    case DType::UInt16: return fn.template operator()<uint16_t>();
    case DType::Int32: return fn.template operator()<int32_t>();
    case DType::UInt32: return fn.template operator()<uint32_t>();
    case DType::Int64: return fn.template operator()<int64_t>();
    case DType::UInt64: return fn.template operator()<uint64_t>();
    case DType::Bool: return fn.template operator()<bool>();
    default: fail("unsupported element type ", dtype_name(t));
  }
}

// Arithmetic type used to compute on a storage type: half types compute in
// float, everything else in itself.
template <typename T> struct ComputeType { using type = T; };
template <> struct ComputeType<wafer::Float16> { using type = float; };
template <> struct ComputeType<wafer::BFloat16> { using type = float; };
template <typename T> using compute_t = typename ComputeType<T>::type;

template <typename T> inline compute_t<T> to_compute(T v) { return compute_t<T>(v); }
template <typename T> inline T from_compute(compute_t<T> v) { return T(v); }

template <typename T>
constexpr bool is_float_type_v = std::is_floating_point_v<T> || std::is_same_v<T, wafer::Float16> ||
                                 std::is_same_v<T, wafer::BFloat16>;

}  // namespace wafer
