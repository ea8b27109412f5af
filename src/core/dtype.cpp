#include "core/dtype.h"

namespace wafer {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: case DType::Int32: case DType::UInt32: return 4;
    case DType::Float64: case DType::Int64: case DType::UInt64: return 8;
    case DType::Float16: case DType::BFloat16: case DType::Int16: case DType::UInt16: return 2;
    case DType::Int8: case DType::UInt8: case DType::Bool: return 1;
    default: fail("element type ", dtype_name(t), " has no fixed size");
  }
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Undefined: return "undefined";
    case DType::Float32: return "float32";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::UInt16: return "uint16";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::String: return "string";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::Float64: return "float64";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::BFloat16: return "bfloat16";
  }
  return "unknown";
}

DType dtype_from_name(std::string_view name) {
  for (int i = 0; i <= 16; ++i) {
    if (!dtype_is_valid_onnx(i) && i != 8) continue;
    if (dtype_name(DType(i)) == name) return DType(i);
  }
  if (name == "float") return DType::Float32;
  if (name == "double") return DType::Float64;
  if (name == "half" || name == "fp16") return DType::Float16;
  if (name == "bf16") return DType::BFloat16;
  if (name == "fp32") return DType::Float32;
  fail("unknown element type '", name, "'");
}

bool dtype_is_valid_onnx(int t) {
  return (t >= 1 && t <= 13 && t != 8) || t == 16;
}

bool is_float(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}

bool is_integer(DType t) {
  switch (t) {
    case DType::Int8: case DType::UInt8: case DType::Int16: case DType::UInt16:
    case DType::Int32: case DType::UInt32: case DType::Int64: case DType::UInt64: return true;
    default: return false;
  }
}

bool is_signed(DType t) {
  return is_float(t) || t == DType::Int8 || t == DType::Int16 || t == DType::Int32 || t == DType::Int64;
}

}  // namespace wafer
