// The datatype a target computes in: the one option that every stage shares
// (run, check, compile, sim, sweep, bench), with one parser and one default rule.
#pragma once

#include <functional>
#include <string_view>

#include "core/dtype.h"

namespace wafer {

enum class Precision { automatic, fp32, bf16, fp16, int8 };

// "auto", "fp32", "bf16", "fp16", "int8" (also the dtype names float32, bfloat16,
// float16); anything else is an Error naming `option` and the valid values.
Precision parse_precision(std::string_view text, std::string_view option = "--precision");
const char* precision_name(Precision p);  // "auto", "fp32", ...
DType precision_dtype(Precision p);       // automatic: DType::Undefined
Precision precision_of(DType t);          // inverse of precision_dtype; other dtypes are an Error

// What the precision is for: running a model for its outputs (run, check, the
// harness on a real backend), or estimating a design's performance (compile,
// sim, sweep, the harness on a simulated NPU).
enum class PrecisionUse { execute, estimate };

// THE default rule. An explicit precision is used as given (a target that
// cannot compute in it says so). `automatic` resolves by use:
//   execute:  fp32 where the target has it (the reference's accuracy), else the
//             first of bf16, fp16 it has; a target with no float type runs fp32
//             (an int8-only NPU's functional run, timed at its int8 rate);
//   estimate: the hardware's own best datatype, the first of bf16, fp16, fp32,
//             int8 it has (what it is designed to run at; fp32 if none).
// The cpu backend is an execute target with fp32 (and bf16 on AVX512_BF16).
DType resolve_precision(Precision requested, PrecisionUse use, const std::function<bool(DType)>& supported);

}  // namespace wafer
