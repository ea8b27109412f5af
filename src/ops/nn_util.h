// Helpers shared by the neural-network ops (conv, pooling, normalization,
// GEMM, quantization): the spatial geometry of sliding windows (kernel,
// strides, dilations, pads, auto_pad, ceil_mode -> output size and pads), and
// the conversion of half types to float for kernels that compute in float.
#pragma once

#include <string>
#include <vector>

#include "ops/op_util.h"

namespace wafer {

// Geometry of a window sliding over the spatial dims of an [N, C, spatial...]
// tensor. Unknown input dims (-1) give unknown output dims (-1), so the same
// code serves shape inference and kernels.
struct SpatialGeometry {
  Dims in;      // input spatial dims (-1 = unknown)
  Dims kernel;  // window size per spatial dim
  Dims strides;
  Dims dilations;
  Dims pad_begin;  // resolved pads (auto_pad applied); meaningless where `in` is unknown
  Dims pad_end;
  Dims out;  // output spatial dims (-1 = unknown)

  size_t rank() const { return in.size(); }
  int64_t effective_kernel(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
};

struct GeometryOptions {
  bool has_dilations = true;   // op reads a "dilations" attribute
  bool has_ceil_mode = false;  // op reads a "ceil_mode" attribute (pools from version 10)
};

// Reads strides/dilations/pads/auto_pad/ceil_mode from the node for a window of
// size `kernel` over spatial dims `in`, validating them, and computes pads and
// output dims. Throws naming the node on bad attributes or an empty output.
SpatialGeometry sliding_window_geometry(const Node& node, const Dims& in, const Dims& kernel,
                                        GeometryOptions options = {});

// The "kernel_shape" attribute, required to have `rank` positive entries.
Dims kernel_shape_attr(const Node& node, size_t rank);

// Spatial dims of a Shape as Dims with -1 for unknown ones (from index 2 on).
Dims spatial_dims_of(const Shape& shape);
// [batch, channels, out...] from a geometry, keeping symbolic batch/channels.
Shape spatial_output_shape(const Dim& batch, const Dim& channels, const Dims& out);

// Checks that `x` is [N, C, spatial...] with 1..3 spatial dims, returns the spatial rank.
size_t check_spatial_input(const Node& node, const Dims& x, const char* what = "input");

// Tensor of float32 holding `t`'s values (half types); returns `t` itself if
// it already is float32/float64.
Tensor to_float_compute(const Tensor& t);
// Converts a float32 result back to `dtype` (no-op when equal).
Tensor from_float_compute(const Tensor& t, DType dtype);

// Pads a spatial Dims (rank 1..3) to three dims by prepending `fill`, so
// kernels can loop over (D, H, W) only.
Dims to_3d(const Dims& d, int64_t fill);

inline bool is_float_dtype_for_nn(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}

}  // namespace wafer
