// Tensor slicing and stacking along one axis, dtype-agnostic (byte copies):
// what Loop and Scan need to cut scan inputs and assemble scan outputs.
#pragma once

#include "core/tensor.h"

namespace wafer {

// t[..., i, ...] along `axis`, with that axis removed.
Tensor slice_axis(const Tensor& t, int64_t axis, int64_t i);

// Stacks equally shaped `parts` along a new axis `axis` (0 <= axis <= rank).
// With no parts, returns a tensor of `dtype` and dims `empty_dims`.
Tensor stack_axis(const std::vector<Tensor>& parts, int64_t axis, DType dtype, const Dims& empty_dims);

}  // namespace wafer
