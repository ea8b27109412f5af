// Functional execution of an NPU program on real tensors: matrix layers are
// computed tile by tile from the program's MatMul instructions (in the
// program's precision: bf16 operands with fp32 accumulation, or fp32), every
// other layer with the reference kernel. The `npu` backend's run().
#pragma once

#include <vector>

#include "ir/graph.h"
#include "npu/program.h"

namespace wafer::npu {

// `optimized` is the graph the program was lowered from (prepare_for_npu).
std::vector<Tensor> run_functional(const Graph& optimized, const Program& program, const std::vector<Tensor>& inputs);

}  // namespace wafer::npu
