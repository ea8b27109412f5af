#include "core/precision.h"

namespace wafer {

Precision parse_precision(std::string_view text, std::string_view option) {
  if (text == "auto") return Precision::automatic;
  if (text == "fp32" || text == "float32") return Precision::fp32;
  if (text == "bf16" || text == "bfloat16") return Precision::bf16;
  if (text == "fp16" || text == "float16") return Precision::fp16;
  if (text == "int8") return Precision::int8;
  fail(option, ": expected auto, fp32, bf16, fp16 or int8, got '", text, "'");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp32:
      return "fp32";
    case Precision::bf16:
      return "bf16";
    case Precision::fp16:
      return "fp16";
    case Precision::int8:
      return "int8";
    case Precision::automatic:
      break;
  }
  return "auto";
}

DType precision_dtype(Precision p) {
  switch (p) {
    case Precision::fp32:
      return DType::Float32;
    case Precision::bf16:
      return DType::BFloat16;
    case Precision::fp16:
      return DType::Float16;
    case Precision::int8:
      return DType::Int8;
    case Precision::automatic:
      break;
  }
  return DType::Undefined;
}

Precision precision_of(DType t) {
  for (Precision p : {Precision::fp32, Precision::bf16, Precision::fp16, Precision::int8})
    if (precision_dtype(p) == t) return p;
  fail("no precision computes in ", dtype_name(t));
}

DType resolve_precision(Precision requested, PrecisionUse use, const std::function<bool(DType)>& supported) {
  if (requested != Precision::automatic) return precision_dtype(requested);
  if (use == PrecisionUse::execute) {
    for (DType t : {DType::Float32, DType::BFloat16, DType::Float16})
      if (supported(t)) return t;
    return DType::Float32;
  }
  for (DType t : {DType::BFloat16, DType::Float16, DType::Float32, DType::Int8})
    if (supported(t)) return t;
  return DType::Float32;
}

}  // namespace wafer
