// What an op costs, declared with the op (OpSchema::cost, in its family file in src/ops/) so that adding
// an op means one registration. Two readers use it:
//   - cost reports (ir/cost.h): MACs and FLOPs per node;
//   - the npu compiler (npu/compiler_ops.h): the GEMM view of a matrix-unit op, the vector-unit work of
//     any other op, and whether a matrix layer's epilogue can apply it while the tile is on chip.
//
// Most ops are described by per-element figures (an activation: one FLOP and an exp, an add and a
// divide per output element); ops whose cost depends on attributes or shapes (Conv, pooling, Attention)
// give a function instead. What is not described is unknown, never a silent zero.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace wafer {

// Arithmetic of one node; nullopt when it cannot be counted (an unknown shape, no cost model).
struct OpCounts {
  std::optional<int64_t> macs, flops;
};

// A matrix-unit op as a GEMM: out[M,N] = in[M,K] x w[K,N], repeated for `groups`.
struct GemmView {
  int64_t m = 0, k = 0, n = 0, groups = 1;
  int weight_input = -1;  // input index of the weight operand (w), -1 if none
  // Implicit GEMM: a convolution reads its input, not the M x K im2col matrix, which repeats each
  // input element about this many times (3x3 stride 1: ~9; 1x1: 1). Input traffic is M x K / this.
  double input_reuse = 1;
};

// Vector-unit work: `elements` operations of one class (add, mul, max, div, exp, reduce, move).
struct VectorWork {
  std::string op_class;
  int64_t elements = 0;
};

// Operations per element, by vector-unit class: {{"exp", 1}, {"add", 1}, {"div", 1}} for Sigmoid.
using VectorClasses = std::vector<std::pair<std::string, int>>;

struct OpCost {
  // The elements the per-element figures count: those of all outputs, or of the first input
  // (reductions and normalizations, whose work follows what they read).
  enum class Basis : uint8_t { Outputs, Input };
  Basis basis = Basis::Outputs;
  // FLOPs per basis element in cost reports; 0 for data movement (counted even when shapes are unknown).
  std::optional<int> flops_per_element;
  // Vector-unit operations per basis element; an empty list is free (a view); nullopt: no npu model.
  std::optional<VectorClasses> vector;
  // A matrix layer's epilogue can apply it to its output tile (bias, activations, residual add).
  bool epilogue = false;
  // A copy that only re-indexes its input (Transpose, Slice, Split): a GEMM can address the result through
  // strides instead (the npu's view folding).
  bool strided_view = false;
  // A lookup that reads only the rows of its first input it gathers (an embedding's Gather), not the table.
  bool reads_gathered_rows = false;

  // For ops whose costs depend on attributes or shapes; each replaces the per-element figure above it.
  std::function<OpCounts(const Graph&, const Node&)> count;
  std::function<std::optional<std::vector<VectorWork>>(const Graph&, const Node&)> vector_count;
  // The matrix-unit view (Conv, Gemm, MatMul); throws naming the node when a shape is unknown.
  std::function<std::optional<GemmView>(const Graph&, const Node&)> gemm;
};

// The common kinds of op, so a registration says what the op is.
namespace op_cost {
// One FLOP per output element; `vector` per output element on the npu.
OpCost elementwise(VectorClasses vector, bool epilogue = false);
// Metadata only (Reshape, Squeeze, Identity): no FLOPs, free on the npu.
OpCost view();
// Copies (Transpose, Concat, Gather, Cast): no FLOPs, one vector-unit pass per element moved.
OpCost movement();
// A movement that only re-indexes its input (OpCost::strided_view).
OpCost strided_view();
// A movement that gathers rows of its first input (OpCost::reads_gathered_rows).
OpCost row_lookup();
// One FLOP and one vector-unit reduction per input element.
OpCost reduction();
// Softmax, normalizations: `flops` and `vector` per input element.
OpCost composite(int flops, VectorClasses vector);
// Ops cost reports do not count yet, with their npu vector-unit work.
OpCost vector_only(OpCost::Basis basis, VectorClasses vector);
}  // namespace op_cost

// Shape helpers for the cost functions of ops: nullopt when the value's shape is not fully known.
std::optional<int64_t> known_elements(const Graph& graph, const std::string& value);
std::optional<Dims> known_dims(const Graph& graph, const std::string& value);
// The same for a shape the caller cannot do without (a GEMM view): throws naming the node.
Dims required_dims(const Graph& graph, const Node& node, const std::string& value);
// Product of d[from..to).
int64_t dims_product(const Dims& d, size_t from = 0, size_t to = SIZE_MAX);
// MACs, with FLOPs = 2 x MACs + extra (bias adds and the like).
OpCounts macs_and_flops(std::optional<int64_t> macs, int64_t extra_flops = 0);
// No MACs, `elements` x per_element FLOPs.
OpCounts flops_only(std::optional<int64_t> elements, int64_t per_element = 1);

}  // namespace wafer
