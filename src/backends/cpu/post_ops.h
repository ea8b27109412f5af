// Fused epilogues as oneDNN post-ops: Y = act(op(X) + bias + Sum).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "ir/graph.h"

namespace wafer::cpu {

// Appends the node's `activation` (wafer.FusedConv / FusedMatMul attributes) to
// `ops`. Returns false for an activation oneDNN cannot express.
bool append_activation(const Node& node, dnnl::post_ops& ops);
bool append_activation(const std::string& act, const std::vector<float>& params, dnnl::post_ops& ops);

}  // namespace wafer::cpu
