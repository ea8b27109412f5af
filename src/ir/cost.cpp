#include "ir/cost.h"

#include <set>

namespace wafer {

namespace {

// Elements of a value, when its shape is fully known.
std::optional<int64_t> numel_of(const Graph& g, const std::string& v) {
  if (v.empty()) return std::nullopt;
  auto t = g.type_of(v);
  if (!t || !t->shape.fully_known()) return std::nullopt;
  try {
    return element_count(t->shape.concrete());
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<Dims> dims_of(const Graph& g, const std::string& v) {
  if (v.empty()) return std::nullopt;
  auto t = g.type_of(v);
  if (!t || !t->shape.fully_known()) return std::nullopt;
  return t->shape.concrete();
}

std::optional<int64_t> bytes_of(const Graph& g, const std::string& v) {
  auto n = numel_of(g, v);
  auto t = g.type_of(v);
  if (!n || !t || t->dtype == DType::Undefined || t->dtype == DType::String) return std::nullopt;
  return *n * int64_t(dtype_size(t->dtype));
}

std::optional<int64_t> out_numel(const Graph& g, const Node& n) {
  return n.outputs.empty() ? std::nullopt : numel_of(g, n.outputs[0]);
}
std::optional<int64_t> in_numel(const Graph& g, const Node& n, size_t i = 0) {
  return i < n.inputs.size() ? numel_of(g, n.inputs[i]) : std::nullopt;
}

int64_t product(const Dims& d, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < d.size(); ++i) p *= d[i];
  return p;
}

struct Counts {
  std::optional<int64_t> macs, flops;
};
Counts macs_only(std::optional<int64_t> macs, int64_t extra_flops = 0) {
  if (!macs) return {};
  return {macs, 2 * *macs + extra_flops};
}
Counts flops_only(std::optional<int64_t> flops, int64_t per_element = 1) {
  if (!flops) return {};
  return {int64_t(0), *flops * per_element};
}

// Convolution: every output element is a dot product over (C/group) x kernel.
Counts conv(const Graph& g, const Node& n, size_t w_index, size_t bias_index) {
  auto w = w_index < n.inputs.size() ? dims_of(g, n.inputs[w_index]) : std::nullopt;
  auto out = out_numel(g, n);
  if (!w || !out || w->size() < 2) return {};
  int64_t macs = *out * product(*w, 1);
  return macs_only(macs, n.has_input(bias_index) ? *out : 0);
}

// Transposed convolution: every input element scatters into (M/group) x kernel outputs.
Counts conv_transpose(const Graph& g, const Node& n) {
  auto w = n.inputs.size() > 1 ? dims_of(g, n.inputs[1]) : std::nullopt;
  auto x = in_numel(g, n, 0);
  auto out = out_numel(g, n);
  if (!w || !x || !out || w->size() < 2) return {};
  return macs_only(*x * product(*w, 1), n.has_input(2) ? *out : 0);
}

// MatMul-like: output elements x the contracted dim (last dim of A).
Counts matmul(const Graph& g, const Node& n, size_t a_index) {
  auto a = a_index < n.inputs.size() ? dims_of(g, n.inputs[a_index]) : std::nullopt;
  auto out = out_numel(g, n);
  if (!a || !out || a->empty()) return {};
  return macs_only(*out * a->back());
}

Counts gemm(const Graph& g, const Node& n) {
  auto a = n.inputs.empty() ? std::nullopt : dims_of(g, n.inputs[0]);
  auto out = out_numel(g, n);
  if (!a || !out || a->size() != 2) return {};
  int64_t k = n.attr_int("transA", 0) ? (*a)[0] : (*a)[1];
  return macs_only(*out * k, n.has_input(2) ? *out : 0);
}

Counts pool(const Graph& g, const Node& n) {
  auto out = out_numel(g, n);
  if (!out || !n.has_attr("kernel_shape")) return {};
  return flops_only(*out * product(n.attr_ints("kernel_shape")));
}

const std::set<std::string>& elementwise_ops() {
  static const std::set<std::string> ops = {"Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Pow",
                                            "Mod",
                                            "Relu",
                                            "LeakyRelu",
                                            "PRelu",
                                            "Sigmoid",
                                            "HardSigmoid",
                                            "HardSwish",
                                            "Tanh",
                                            "Exp",
                                            "Log",
                                            "Sqrt",
                                            "Reciprocal",
                                            "Neg",
                                            "Abs",
                                            "Ceil",
                                            "Floor",
                                            "Round",
                                            "Sign",
                                            "Clip",
                                            "Elu",
                                            "Selu",
                                            "Celu",
                                            "Gelu",
                                            "Erf",
                                            "Softplus",
                                            "Softsign",
                                            "Mish",
                                            "ThresholdedRelu",
                                            "Shrink",
                                            "Sin",
                                            "Cos",
                                            "Tan",
                                            "Asin",
                                            "Acos",
                                            "Atan",
                                            "Sinh",
                                            "Cosh",
                                            "Asinh",
                                            "Acosh",
                                            "Atanh",
                                            "Equal",
                                            "Less",
                                            "Greater",
                                            "LessOrEqual",
                                            "GreaterOrEqual",
                                            "And",
                                            "Or",
                                            "Xor",
                                            "Not",
                                            "Where",
                                            "BitShift",
                                            "BitwiseAnd",
                                            "BitwiseOr",
                                            "BitwiseXor",
                                            "BitwiseNot",
                                            "IsNaN",
                                            "IsInf",
                                            "QuantizeLinear",
                                            "DequantizeLinear"};
  return ops;
}

const std::set<std::string>& variadic_ops() {
  static const std::set<std::string> ops = {"Sum", "Max", "Min", "Mean"};
  return ops;
}

const std::set<std::string>& reduce_ops() {
  static const std::set<std::string> ops = {"ReduceSum",         "ReduceMean",      "ReduceMax",   "ReduceMin",
                                            "ReduceProd",        "ReduceL1",        "ReduceL2",    "ReduceLogSum",
                                            "ReduceLogSumExp",   "ReduceSumSquare", "ArgMax",      "ArgMin",
                                            "GlobalAveragePool", "GlobalMaxPool",   "GlobalLpPool"};
  return ops;
}

// Pure data movement or metadata: zero arithmetic.
const std::set<std::string>& movement_ops() {
  static const std::set<std::string> ops = {
      "Reshape",         "Flatten",         "Squeeze",      "Unsqueeze",      "Transpose", "Concat",
      "Split",           "Slice",           "Gather",       "GatherElements", "GatherND",  "ScatterElements",
      "ScatterND",       "Scatter",         "Expand",       "Tile",           "Pad",       "Identity",
      "Dropout",         "Shape",           "Size",         "Cast",           "CastLike",  "Constant",
      "ConstantOfShape", "Range",           "DepthToSpace", "SpaceToDepth",   "Trilu",     "EyeLike",
      "OneHot",          "ReverseSequence", "Compress",     "NonZero"};
  return ops;
}

// FLOPs per element for composite ops (counted on the input): max, subtract,
// exp, sum, divide for Softmax; mean, subtract, square, variance, rsqrt
// applied, scale, shift for the normalizations (BatchNorm at inference is a
// per-channel scale and shift).
int64_t composite_flops_per_element(const std::string& op) {
  if (op == "Softmax" || op == "LogSoftmax") return 5;
  if (op == "Hardmax") return 1;
  if (op == "LayerNormalization" || op == "InstanceNormalization" || op == "GroupNormalization" ||
      op == "MeanVarianceNormalization" || op == "SimplifiedLayerNormalization" || op == "RMSNormalization")
    return 8;
  if (op == "BatchNormalization") return 2;
  return 0;
}

// The cpu pipeline's fused ops (domain wafer, docs/cpu-pipeline.md): the op they
// fuse plus one FLOP per output element for each of bias, residual Sum and activation,
// as the separate Add and activation nodes would count.
Counts fused(const Graph& g, const Node& n) {
  const std::string& op = n.op_type;
  if (op == "FusedConv" || op == "FusedMatMul") {
    Counts c = op == "FusedConv" ? conv(g, n, 1, 2) : matmul(g, n, 0);
    auto out = out_numel(g, n);
    if (!c.flops || !out) return {};
    if (op == "FusedMatMul" && n.has_input(2)) *c.flops += *out;  // conv() counts FusedConv's bias
    if (n.has_input(3)) *c.flops += *out;
    if (!n.attr_string("activation", "").empty()) *c.flops += *out;
    return c;
  }
  if (op == "Gelu") return flops_only(out_numel(g, n));
  if (op == "Attention") {
    // Q [B,H,S,D], K [B,H,Sk,D], V [B,H,Sk,Dv]: Q·Kᵀ and P·V are the MACs; scaling, the
    // softmax (5 per score, as Softmax counts) and the mask are per score.
    auto q = n.inputs.size() > 2 ? dims_of(g, n.inputs[0]) : std::nullopt;
    auto k = q ? dims_of(g, n.inputs[1]) : std::nullopt;
    auto v = k ? dims_of(g, n.inputs[2]) : std::nullopt;
    if (!v || q->size() != 4 || k->size() != 4 || v->size() != 4) return {};
    int64_t scores = (*q)[0] * (*q)[1] * (*q)[2] * (*k)[2];
    return macs_only(scores * ((*q)[3] + (*v)[3]), scores * (1 + 5 + (n.has_input(3) ? 1 : 0)));
  }
  return {};
}

Counts arithmetic(const Graph& g, const Node& n) {
  const std::string& op = n.op_type;
  if (n.domain == "wafer") return fused(g, n);
  if (!n.domain.empty()) return {};
  if (op == "Conv") return conv(g, n, 1, 2);
  if (op == "ConvInteger") return conv(g, n, 1, 99);
  if (op == "QLinearConv") return conv(g, n, 3, 8);
  if (op == "ConvTranspose") return conv_transpose(g, n);
  if (op == "Gemm") return gemm(g, n);
  if (op == "MatMul" || op == "MatMulInteger") return matmul(g, n, 0);
  if (op == "QLinearMatMul") return matmul(g, n, 0);
  if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") return pool(g, n);
  if (elementwise_ops().count(op)) return flops_only(out_numel(g, n));
  if (variadic_ops().count(op)) return flops_only(out_numel(g, n), std::max(1, n.num_present_inputs() - 1));
  if (reduce_ops().count(op)) return flops_only(in_numel(g, n));
  if (int64_t k = composite_flops_per_element(op)) return flops_only(in_numel(g, n), k);
  if (movement_ops().count(op)) return {int64_t(0), int64_t(0)};
  if (op == "Resize" || op == "Upsample") {
    // Nearest neighbour copies; interpolating modes have no cost model yet.
    if (n.attr_string("mode", "nearest") == "nearest") return {int64_t(0), int64_t(0)};
    return {};
  }
  return {};  // no cost model: unknown, never zero
}

}  // namespace

NodeCost node_cost(const Graph& graph, const Node& node) {
  NodeCost c;
  Counts k = arithmetic(graph, node);
  c.macs = k.macs;
  c.flops = k.flops;
  int64_t read = 0;
  bool read_known = true;
  for (const auto& in : node.inputs) {
    if (in.empty()) continue;
    if (const Tensor* t = graph.initializer(in)) {
      c.param_bytes += int64_t(t->nbytes());
      continue;
    }
    auto b = bytes_of(graph, in);
    if (b)
      read += *b;
    else
      read_known = false;
  }
  if (read_known) c.bytes_read = read;
  int64_t written = 0;
  bool written_known = true;
  for (const auto& out : node.outputs) {
    if (out.empty()) continue;
    auto b = bytes_of(graph, out);
    if (b)
      written += *b;
    else
      written_known = false;
  }
  if (written_known) c.bytes_written = written;
  return c;
}

namespace {
void count_params(const Graph& g, GraphCost& cost) {
  for (const auto& [_, t] : g.initializers) {
    cost.param_count += t.numel();
    cost.param_bytes += int64_t(t.nbytes());
  }
  for (const auto& n : g.nodes)
    for (const auto& [_, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) count_params(**sub, cost);
}
}  // namespace

GraphCost graph_cost(const Graph& graph) {
  GraphCost cost;
  for (const auto& n : graph.nodes) {
    NodeCost c = node_cost(graph, *n);
    if (c.macs)
      cost.macs += *c.macs;
    else
      cost.unknown_macs++;
    if (c.flops)
      cost.flops += *c.flops;
    else
      cost.unknown_flops++;
    if (c.bytes_read) cost.bytes_read += *c.bytes_read;
    if (c.bytes_written) cost.bytes_written += *c.bytes_written;
    cost.nodes.push_back({n.get(), c});
  }
  count_params(graph, cost);
  return cost;
}

}  // namespace wafer
