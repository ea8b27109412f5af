// Ablation switches of the cpu backend: WAFER_CPU_DISABLE=name,name,... turns
// single optimizations off, so bench/run --ablation can measure what each one
// buys (docs/PERFORMANCE.md). Every switch only makes the program slower or
// larger, never different in result beyond float rounding.
//
//   WAFER_CPU_DISABLE=residual,inplace wafer run model.onnx --backend cpu
#pragma once

#include <string>
#include <vector>

#include "passes/cpu_pipeline.h"

namespace wafer::cpu {

struct Ablation {
  // true = the optimization is off.
  bool conv_bn = false;       // Conv+BatchNormalization folding
  bool bias_act = false;      // bias and activation fused into Conv/MatMul (post-ops)
  bool residual = false;      // the residual Add fused into the Conv/MatMul producing it
  bool inplace = false;       // a fused residual is overwritten in place (no copy into the output)
  bool gelu = false;          // the erf GELU pattern as one op
  bool layer_norm = false;    // the decomposed layer norm as one op
  bool attention = false;     // the softmax-attention block as one op
  bool reshape = false;       // unit-dim Transposes as Reshapes, Reshape chains merged and hoisted
  bool blocked = false;       // blocked activation layouts (nChw16c, oneDNN choices); off: plain NCHW
  bool nchw16c = false;       // fp32 convolutions prefer nChw16c (AVX-512 only); off: oneDNN choice (NHWC brgconv)
  bool prepack = false;       // weights reordered once into oneDNN's preferred layout; off: as stored
  bool vectorized = false;    // own AVX-512/AVX2 elementwise and norm kernels; off: reference kernels
  bool memory_reuse = false;  // liveness-based reuse of planned buffers; off: one block per buffer

  bool operator==(const Ablation&) const = default;
};

struct AblationSwitch {
  const char* name;
  bool Ablation::*flag;
  const char* what;
};
// Every switch, in the order bench/run reports them.
const std::vector<AblationSwitch>& ablation_switches();

// Parses "name,name,..." (spaces ignored, empty = nothing off). Throws an Error
// naming the unknown entry and listing the valid names.
Ablation parse_ablation(const std::string& list);
// The WAFER_CPU_DISABLE environment variable, parsed.
Ablation ablation_from_env();
// The switches that act on the graph rewrites, applied to the pipeline options.
void apply_ablation(const Ablation& a, CpuPipelineOptions& options);

}  // namespace wafer::cpu
