// ONNX Slice's window arithmetic (negative positions, clamping, negative steps),
// shared by the reference kernel and the cpu backend's copy kernel.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace wafer {

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Start, step and count along every axis (unsliced axes: 0, 1, dim).
struct AxisWindow {
  int64_t start = 0, step = 1, count = 0;
};

// The window along every axis of `dims`; bad arguments are errors naming the node.
std::vector<AxisWindow> slice_windows(const Dims& dims, const SliceArgs& a, const Node& node);

}  // namespace wafer
