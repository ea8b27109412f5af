// Epilogue fusion at lowering time: a Conv, ConvTranspose or MatMul whose only
// consumer is an Add (residual or bias) or an activation post_ops.h knows
// (Relu, Clip, Sigmoid, Tanh, HardSwish, LeakyRelu, HardSigmoid) absorbs it as oneDNN post-ops. The graph
// is left as it is, so when oneDNN cannot take the fused form the nodes simply
// run one by one. (The cpu_pipeline graph rewrites produce wafer.FusedConv and
// wafer.FusedMatMul up front; this catches the same patterns in plain graphs.)
#pragma once

#include <string>
#include <vector>

#include "backends/cpu/program.h"

namespace wafer::cpu {

struct Epilogue {
  std::string bias;        // MatMul only: a constant [N] row added to the output
  std::string sum;         // a same-shape tensor added to the output
  std::string activation;  // "" | an activation of post_ops.h
  std::vector<float> params;
  std::string output;  // value the fused step produces
  std::vector<const Node*> absorbed;
};

// The epilogue after `node` (output 0); `allow_bias` for matmuls without their own bias.
Epilogue find_epilogue(Program& p, const Node& node, bool allow_bias);

}  // namespace wafer::cpu
