// The CPU pipeline: optimize() (shape propagation, constant folding, identity
// removal, CSE, DCE), then the fusion rules to a fixed point, rewriting the
// graph into the fused-op vocabulary the fast CPU backend runs:
//
//   Conv + BatchNormalization          -> Conv (folded weights)
//   Conv [+ bias] [+ residual] [+ act] -> wafer.FusedConv
//   MatMul/Gemm [+ bias] [+ residual] [+ act, incl. GELU] -> wafer.FusedMatMul
//   decomposed layer norm              -> LayerNormalization (17)
//   erf GELU                           -> wafer.Gelu
//   Q.Kt (scale) (mask) softmax . V    -> wafer.Attention
//   Transpose moving only unit dims, Reshape of Reshape -> Reshape
//   Reshape(MatMul(A, W)) keeping the last dim -> MatMul(Reshape(A), W)
//
// Every rewrite preserves the graph's function on the reference backend (the
// fused ops' reference kernels are in src/ops/fused_ops.cpp), except that an
// fp16 graph is first promoted to compute in fp32 (passes/promote_fp16.h). Usage:
//
//   CpuPipelineOptions o;
//   o.optimize.symbols = {{"batch", 1}};
//   cpu_pipeline(*model.graph, o);
#pragma once

#include "passes/pass_manager.h"

namespace wafer {

struct CpuPipelineOptions {
  OptimizeOptions optimize;  // the standard pipeline run first (its verify also applies to the rules)
  bool fold_conv_bn = true;
  bool fuse_conv = true;
  bool fuse_matmul = true;
  bool fuse_layer_norm = true;
  bool fuse_gelu = true;
  bool fuse_attention = true;
  bool simplify_reshape = true;  // unit-dim Transposes and Reshape chains -> one Reshape
  // What fuse_conv / fuse_matmul absorb (the ablation switches turn these off one at a time).
  bool fuse_bias_activation = true;         // constant bias Adds and activations
  bool fuse_residual = true;                // the Add of a same-shape value (Sum)
  int max_iterations = 8;                   // rounds of the rule list
  std::vector<PassStats>* stats = nullptr;  // when set, receives the rules' per-pass timings
};

// The rule list (plus DCE), as a pass manager repeating to a fixed point.
PassManager cpu_fusion_passes(const CpuPipelineOptions& options);

// optimize(), the fusion rules to a fixed point, then a final shape
// propagation so Graph::types covers the fused nodes' outputs.
void cpu_pipeline(Graph& graph, const CpuPipelineOptions& options = {});

}  // namespace wafer
