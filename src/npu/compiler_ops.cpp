// The NPU compiler's view of an op, from the op's registration (OpSchema::cost).
#include "npu/compiler_ops.h"

#include "core/error.h"
#include "ir/op_registry.h"

namespace wafer::npu {

int64_t known_numel(const Graph& graph, const std::string& value) {
  if (value.empty()) return -1;
  auto t = graph.type_of(value);
  if (!t || !t->shape.fully_known()) return -1;
  int64_t n = 1;
  for (const Dim& d : t->shape.dims) n *= d.value;
  return n;
}

namespace {

bool is_matrix_dtype(DType t) {
  return t == DType::Float32 || t == DType::Float16 || t == DType::BFloat16;
}

bool is_onnx_domain(const Node& node) {
  return node.domain.empty() || node.domain == "ai.onnx";
}

// The npu runs ONNX-domain ops (and the training domain's optimizers); the cpu pipeline's fused ops
// (domain wafer) never reach it.
const OpCost* npu_cost(const Node& node) {
  if (!is_onnx_domain(node) && node.domain != "ai.onnx.preview.training") return nullptr;
  return OpRegistry::global().cost_of(node);
}

// The registered cost of an ONNX-domain node (the flags below concern those ops only).
const OpCost* onnx_cost(const Node& node) {
  return is_onnx_domain(node) ? OpRegistry::global().cost_of(node) : nullptr;
}

}  // namespace

std::optional<GemmView> gemm_view(const Graph& graph, const Node& node) {
  const OpCost* cost = onnx_cost(node);
  if (!cost || !cost->gemm) return std::nullopt;
  auto t = graph.type_of(node.inputs.at(0));
  if (!t || !is_matrix_dtype(t->dtype)) return std::nullopt;
  auto v = cost->gemm(graph, node);
  if (!v || v->m <= 0 || v->k <= 0 || v->n <= 0 || v->groups <= 0) return std::nullopt;  // empty: no matrix work
  return v;
}

std::optional<std::vector<VectorWork>> vector_work(const Graph& graph, const Node& node) {
  const OpCost* cost = npu_cost(node);
  if (!cost) return std::nullopt;
  int64_t out = 0;
  for (const auto& o : node.outputs) {
    if (o.empty()) continue;
    int64_t n = known_numel(graph, o);
    if (n < 0) throw UnsupportedError(node.label() + ": output shape of '" + o + "' is not known at compile time");
    out += n;
  }
  if (cost->vector_count) return cost->vector_count(graph, node);
  // Matrix ops on non-float data (integer MatMul...) have no vector model; empty ones are free.
  if (cost->gemm) {
    int64_t in0 = known_numel(graph, node.inputs.at(0));
    if (in0 == 0 || out == 0) return std::vector<VectorWork>{};
    return std::nullopt;
  }
  if (!cost->vector) return std::nullopt;
  int64_t basis = out;
  if (cost->basis == OpCost::Basis::Input) {
    basis = known_numel(graph, node.inputs.at(0));
    if (basis < 0) throw UnsupportedError(node.label() + ": input shape is not known at compile time");
  }
  std::vector<VectorWork> work;
  if (basis == 0) return work;
  for (const auto& [cls, count] : *cost->vector) work.push_back({cls, basis * count});
  return work;
}

bool is_strided_view(const Node& node) {
  const OpCost* cost = onnx_cost(node);
  return cost && cost->strided_view;
}

bool reads_gathered_rows(const Node& node) {
  const OpCost* cost = onnx_cost(node);
  return cost && cost->reads_gathered_rows;
}

std::optional<CollectiveOp> collective_op(const Node& node) {
  if (node.domain != "wafer") return std::nullopt;
  if (node.op_type == "Send") return CollectiveOp{Collective::AllGather, 2, true};
  std::optional<Collective> kind;
  for (auto [name, c] : {std::pair{"AllReduce", Collective::AllReduce},
                         {"AllGather", Collective::AllGather},
                         {"AllToAll", Collective::AllToAll}})
    if (node.op_type == name) kind = c;
  if (!kind) return std::nullopt;
  const int64_t group = node.attr_int("group", 1);
  check(group >= 1 && group <= 1 << 20, node.label(), ": group must be between 1 and 2^20, got ", group);
  return CollectiveOp{*kind, int(group)};
}

bool is_epilogue_op(const Node& node) {
  const OpCost* cost = onnx_cost(node);
  return cost && cost->epilogue && node.outputs.size() == 1;
}

}  // namespace wafer::npu
