// What the NPU compiler knows about each op, read from the op's own registration (OpSchema::cost,
// ir/op_cost.h): the GEMM view of matrix-unit ops and the vector-unit work (op classes per element) of
// everything else. Shared by the compiler (to cost) and the functional executor (to run the same view).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_cost.h"
#include "npu/collectives.h"

namespace wafer::npu {

using wafer::GemmView;
using wafer::VectorWork;

// Matrix-unit ops (Conv, Gemm, MatMul on float data) with fully known shapes;
// nullopt for any other node. Throws naming the node when shapes are unknown.
std::optional<GemmView> gemm_view(const Graph& graph, const Node& node);

// Vector-unit work of a non-matrix node; nullopt when the op has no cost model
// (the caller reports all such nodes together). An empty vector = free (views).
std::optional<std::vector<VectorWork>> vector_work(const Graph& graph, const Node& node);

// Element count of a value with a fully known shape, or -1.
int64_t known_numel(const Graph& graph, const std::string& value);

// Element-wise ops a matrix layer's epilogue can apply on its output tile with the vector unit
// while the tile is on chip (bias, activations, residual add, GELU's pieces).
bool is_epilogue_op(const Node& node);

// A collective of the graph (wafer.AllReduce, wafer.AllGather, wafer.AllToAll) and its group size, or a
// pipeline send (wafer.Send: point to point, group 2).
struct CollectiveOp {
  Collective kind = Collective::AllReduce;
  int group = 1;
  bool send = false;
};
std::optional<CollectiveOp> collective_op(const Node& node);

// Layout ops that only re-index their input, so a GEMM can address the result through strides
// (OpCost::strided_view: Transpose, Slice, Split).
bool is_strided_view(const Node& node);

// Lookups that read only the rows of their first input they gather (OpCost::reads_gathered_rows: Gather).
bool reads_gathered_rows(const Node& node);

}  // namespace wafer::npu
