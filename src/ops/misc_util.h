// Small helpers shared by the misc op family.
#pragma once

#include "core/tensor.h"
#include "ir/graph.h"

namespace wafer {

// Checks, before any scratch buffers are sized from them, that output dims are
// a tensor Wafer would allocate: an absurd size is an error, not a bad_alloc.
inline void check_output_size(const Node& node, const Dims& dims, DType dtype) {
  int64_t n = element_count(dims);
  check(uint64_t(n) <= max_tensor_bytes() / dtype_size(dtype), node.label(), ": output ", dims_to_string(dims),
        " is too large");
}

}  // namespace wafer
