#include "passes/cpu_pipeline.h"

#include "passes/cpu_rules.h"
#include "passes/dead_code_elimination.h"
#include "passes/fuse_hardswish.h"
#include "passes/promote_fp16.h"
#include "passes/shape_propagation.h"

namespace wafer {

PassManager cpu_fusion_passes(const CpuPipelineOptions& options) {
  PassManager pm;
  // Order matters only for speed (the list repeats to a fixed point): GELU and
  // layer norm first, so the matmul rule sees wafer.Gelu as an activation.
  if (options.simplify_reshape) pm.add(std::make_unique<SimplifyReshape>());
  if (options.fold_conv_bn) pm.add(std::make_unique<FoldConvBatchNorm>());
  if (options.fuse_layer_norm) {
    pm.add(std::make_unique<FuseLayerNorm>());
    pm.add(std::make_unique<FuseRmsNorm>());
  }
  if (options.fuse_gelu) {
    pm.add(std::make_unique<FuseGelu>());
    pm.add(std::make_unique<FuseSilu>());
    pm.add(std::make_unique<FuseHardSwish>());
  }
  if (options.fuse_attention) {
    pm.add(std::make_unique<FuseAttention>());
    pm.add(std::make_unique<FuseGroupedQueryAttention>());
    pm.add(std::make_unique<FuseRotary>());
  }
  // New initializers and inserted nodes need types before the epilogue rules look at them.
  pm.add(std::make_unique<ShapePropagation>(options.optimize.symbols));
  EpilogueParts parts{options.fuse_bias_activation, options.fuse_residual};
  if (options.fuse_conv) pm.add(std::make_unique<FuseConv>(parts));
  if (options.fuse_matmul) pm.add(std::make_unique<FuseMatMul>(parts));
  if (options.simplify_reshape) pm.add(std::make_unique<HoistReshape>());
  pm.add(std::make_unique<DeadCodeElimination>());
  pm.set_max_iterations(options.max_iterations);
  if (options.optimize.verify >= 0) pm.set_verify(options.optimize.verify == 1);
  return pm;
}

void cpu_pipeline(Graph& graph, const CpuPipelineOptions& options) {
  promote_fp16_to_fp32(graph);  // the fusions and fast kernels are fp32 (bf16 comes later, per program)
  optimize(graph, options.optimize);
  graph.opsets[kWaferDomain] = 1;
  PassManager pm = cpu_fusion_passes(options);
  pm.run(graph);
  ShapePropagation final_types(options.optimize.symbols);
  final_types.run(graph);
  if (options.stats) *options.stats = pm.stats();
}

}  // namespace wafer
