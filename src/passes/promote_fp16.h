// fp16 promotion: a model stored and computed in float16 (mixed-precision exports such as the IS-Net
// of @imgly/background-removal: Cast to fp16 after the input, fp16 weights, Resize in fp32 between
// Casts) is rewritten to compute in float32, the precision the cpu backend's fast kernels run in.
// fp16 initializers and Constant/ConstantOfShape values become fp32, Cast(to fp16) casts to fp32, the
// inner values' types follow; fp16 graph inputs and outputs keep their type through a Cast at the
// boundary. Results then differ from a strict fp16 evaluation by fp16 rounding (rel. ~1e-3): fp32 is
// the more accurate of the two. Graphs with subgraphs are left alone.
#pragma once

#include "ir/graph.h"

namespace wafer {

// True when it changed the graph.
bool promote_fp16_to_fp32(Graph& g);

}  // namespace wafer
