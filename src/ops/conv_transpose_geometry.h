// ConvTranspose's output geometry (pads, output_padding, output_shape, auto_pad):
// the one place it is worked out, for the reference kernel, shape inference
// and the backends that lower ConvTranspose.
#pragma once

#include "ir/graph.h"

namespace wafer {

struct TransposeGeometry {
  Dims in, kernel, strides, dilations, pad_begin, out;  // spatial, -1 where unknown
};

// The full result s*(in-1) + output_padding + (k-1)*d + 1 cropped by pad_begin to `out`.
// `in` may hold -1 (unknown) for shape inference. Bad attributes are Errors naming the node.
TransposeGeometry transpose_geometry(const Node& node, const Dims& in, const Dims& kernel);

}  // namespace wafer
