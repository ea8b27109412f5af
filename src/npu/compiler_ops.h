// What the NPU compiler knows about each op: the GEMM view of matrix-unit ops
// and the vector-unit work (op classes per element) of everything else. Shared
// by the compiler (to cost) and the functional executor (to run the same view).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace wafer::npu {

// out[M,N] = in[M,K] x w[K,N], repeated for `groups`.
struct GemmView {
  int64_t m = 0, k = 0, n = 0, groups = 1;
  int weight_input = -1;  // input index of the weight operand (w), -1 if none
  // Implicit GEMM: a convolution reads its input, not the M x K im2col matrix, which repeats each
  // input element about this many times (3x3 stride 1: ~9; 1x1: 1). Input traffic is M x K / this.
  double input_reuse = 1;
};

// Matrix-unit ops (Conv, Gemm, MatMul on float data) with fully known shapes;
// nullopt for any other node. Throws naming the node when shapes are unknown.
std::optional<GemmView> gemm_view(const Graph& graph, const Node& node);

struct VectorWork {
  std::string op_class;  // add, mul, max, exp, div, reduce, move
  int64_t elements = 0;
};

// Vector-unit work of a non-matrix node; nullopt when the op has no cost model
// (the caller reports all such nodes together). An empty vector = free (views).
std::optional<std::vector<VectorWork>> vector_work(const Graph& graph, const Node& node);

// Element count of a value with a fully known shape, or -1.
int64_t known_numel(const Graph& graph, const std::string& value);

// Element-wise ops a matrix layer's epilogue can apply on its output tile with the vector unit
// while the tile is on chip (bias, activations, residual add, GELU's pieces).
bool is_epilogue_op(const Node& node);

}  // namespace wafer::npu
