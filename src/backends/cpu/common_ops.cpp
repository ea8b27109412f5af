// The ops real models run between their convolutions and matmuls, each on a
// oneDNN primitive in the layout its producer left: activations and unary math
// (activation_kernel.cpp), broadcasting binary ops (binary_kernel.cpp),
// ConvTranspose (deconv_kernel.cpp), Resize (resize_kernel.cpp) and reductions
// (reduce_kernel.cpp). Program::lower_node tries them after its own kernels.
#include "backends/cpu/program.h"

namespace wafer::cpu {

bool lower_common_ops(Program& p, const Node& node) {
  return lower_deconv(p, node) || lower_activation(p, node) || lower_binary(p, node) || lower_resize(p, node) ||
         lower_reduce(p, node);
}

}  // namespace wafer::cpu
