// Arithmetic of the matrix ops, shared with their fused forms (fused_ops.cpp): defined beside the
// ops' kernels in conv.cpp and matmul.cpp.
#pragma once

#include "ir/op_cost.h"

namespace wafer {

// Every output element is a dot product over (C/group) x kernel; the bias, if present, adds one FLOP each.
OpCounts conv_counts(const Graph& g, const Node& n, size_t w_index, size_t bias_index);
// Output elements x the contracted dimension (the last of A).
OpCounts matmul_counts(const Graph& g, const Node& n);

}  // namespace wafer
