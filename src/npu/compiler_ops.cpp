// The op table of the NPU compiler: GEMM views and vector-unit op classes.
#include "npu/compiler_ops.h"

#include <map>
#include <set>

#include "core/error.h"

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

Dims known_dims(const Graph& graph, const Node& node, const std::string& v) {
  auto t = graph.type_of(v);
  if (!t || !t->shape.fully_known())
    throw UnsupportedError(node.label() + ": shape of '" + v + "' is not known at compile time");
  return t->shape.concrete();
}

int64_t prod(const Dims& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < d.size(); ++i) p *= d[i];
  return p;
}

}  // namespace

std::optional<GemmView> gemm_view(const Graph& graph, const Node& node) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return std::nullopt;
  const std::string& op = node.op_type;
  if (op != "Conv" && op != "Gemm" && op != "MatMul") return std::nullopt;
  auto t = graph.type_of(node.inputs.at(0));
  if (!t || !is_matrix_dtype(t->dtype)) return std::nullopt;
  GemmView v;
  if (op == "Conv") {
    Dims x = known_dims(graph, node, node.inputs[0]), w = known_dims(graph, node, node.inputs.at(1)),
         y = known_dims(graph, node, node.outputs.at(0));
    check(x.size() >= 3 && w.size() == x.size() && y.size() == x.size(), node.label(), ": bad conv ranks");
    int64_t g = node.attr_int("group", 1);
    check(g > 0 && w[0] % g == 0, node.label(), ": bad group");
    v.groups = g;
    v.m = y[0] * prod(y, 2, y.size());
    v.k = w[1] * prod(w, 2, w.size());
    v.n = w[0] / g;
    v.weight_input = 1;
    const double im2col = double(v.m) * double(v.k) * double(g), input = double(prod(x, 0, x.size()));
    v.input_reuse = input > 0 ? std::max(1.0, im2col / input) : 1.0;
  } else if (op == "Gemm") {
    Dims a = known_dims(graph, node, node.inputs[0]), b = known_dims(graph, node, node.inputs.at(1));
    check(a.size() == 2 && b.size() == 2, node.label(), ": Gemm needs 2-D operands");
    bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
    v.m = ta ? a[1] : a[0];
    v.k = ta ? a[0] : a[1];
    v.n = tb ? b[0] : b[1];
    v.weight_input = 1;
  } else {
    Dims a = known_dims(graph, node, node.inputs[0]), b = known_dims(graph, node, node.inputs.at(1)),
         y = known_dims(graph, node, node.outputs.at(0));
    check(!a.empty() && !b.empty(), node.label(), ": MatMul of scalars");
    v.m = a.size() == 1 ? 1 : a[a.size() - 2];
    v.k = a.back();
    v.n = b.size() == 1 ? 1 : b.back();
    if (b.size() <= 2 && a.size() > 2) {
      v.m = prod(a, 0, a.size() - 1);  // a shared 2-D weight: the batch dims fold into M (one big GEMM)
    } else {
      size_t batch_rank = size_t(std::max<int64_t>(0, int64_t(std::max(a.size(), b.size())) - 2));
      v.groups = prod(y, 0, batch_rank);
    }
    v.weight_input = 1;
  }
  if (v.m <= 0 || v.k <= 0 || v.n <= 0 || v.groups <= 0) return std::nullopt;  // empty: no matrix work
  return v;
}

namespace {

enum class Basis { Output, Input };
struct Entry {
  Basis basis;
  std::vector<std::pair<std::string, int>> classes;  // op class, operations per element
};

const std::map<std::string, Entry>& op_table() {
  using B = Basis;
  static const std::map<std::string, Entry> table = [] {
    std::map<std::string, Entry> t;
    for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Shape", "Size", "Constant",
                           "Dropout", "Optional", "OptionalGetElement", "OptionalHasElement"})
      t[op] = {B::Output, {}};
    // Data movement: one pass of the vector unit per element moved.
    for (const char* op : {"Transpose",
                           "Concat",
                           "Slice",
                           "Gather",
                           "GatherElements",
                           "GatherND",
                           "Split",
                           "Pad",
                           "Tile",
                           "Expand",
                           "Cast",
                           "CastLike",
                           "DepthToSpace",
                           "SpaceToDepth",
                           "ConstantOfShape",
                           "ScatterND",
                           "ScatterElements",
                           "Scatter",
                           "Compress",
                           "ReverseSequence",
                           "EyeLike",
                           "Trilu",
                           "Range",
                           "OneHot",
                           "Resize",
                           "Upsample",
                           "Col2Im",
                           "CenterCropPad",
                           "Unique",
                           "NonZero",
                           "TopK",
                           "GridSample",
                           "Bernoulli",
                           "RandomNormal",
                           "RandomUniform",
                           "RandomNormalLike",
                           "RandomUniformLike",
                           "Multinomial",
                           "ImageDecoder",
                           "SplitToSequence"})
      t[op] = {B::Output, {{"move", 1}}};
    for (const char* op : {"Add",   "Sub",  "Sum",      "Neg",        "Abs",       "Floor",      "Ceil",
                           "Round", "Sign", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
                           "Not",   "And",  "Or",       "Xor",        "CumSum",    "IsNaN",      "IsInf"})
      t[op] = {B::Output, {{"add", 1}}};
    for (const char* op : {"Mul", "PRelu", "LeakyRelu", "Shrink", "ThresholdedRelu"}) t[op] = {B::Output, {{"mul", 1}}};
    for (const char* op :
         {"Max", "Min", "Relu", "Clip", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Where"})
      t[op] = {B::Output, {{"max", 1}}};
    for (const char* op : {"Div", "Reciprocal", "Mod"}) t[op] = {B::Output, {{"div", 1}}};
    for (const char* op : {"Exp", "Log", "Sqrt", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
                           "Acosh", "Atanh", "Erf", "Softplus", "Softsign"})
      t[op] = {B::Output, {{"exp", 1}}};
    t["Mean"] = {B::Output, {{"add", 1}, {"div", 1}}};
    t["Pow"] = {B::Output, {{"exp", 2}, {"mul", 1}}};
    t["Sigmoid"] = {B::Output, {{"exp", 1}, {"add", 1}, {"div", 1}}};
    t["HardSigmoid"] = {B::Output, {{"mul", 1}, {"add", 1}, {"max", 2}}};
    t["HardSwish"] = {B::Output, {{"mul", 2}, {"add", 1}, {"max", 2}}};
    t["Tanh"] = {B::Output, {{"exp", 1}, {"add", 2}, {"div", 1}}};
    t["Elu"] = {B::Output, {{"exp", 1}, {"max", 1}, {"mul", 1}}};
    t["Selu"] = {B::Output, {{"exp", 1}, {"max", 1}, {"mul", 2}}};
    t["Celu"] = {B::Output, {{"exp", 1}, {"max", 2}, {"div", 1}}};
    t["Gelu"] = {B::Output, {{"exp", 1}, {"mul", 3}, {"add", 1}}};
    t["Mish"] = {B::Output, {{"exp", 2}, {"mul", 1}, {"add", 1}}};
    t["BatchNormalization"] = {B::Output, {{"mul", 1}, {"add", 1}}};
    t["InstanceNormalization"] = {B::Input, {{"reduce", 2}, {"add", 1}, {"mul", 2}, {"div", 1}}};
    t["LayerNormalization"] = {B::Input, {{"reduce", 2}, {"add", 2}, {"mul", 2}, {"div", 1}}};
    t["GroupNormalization"] = {B::Input, {{"reduce", 2}, {"add", 2}, {"mul", 2}, {"div", 1}}};
    t["MeanVarianceNormalization"] = {B::Input, {{"reduce", 2}, {"add", 1}, {"mul", 1}, {"div", 1}}};
    t["LpNormalization"] = {B::Input, {{"reduce", 1}, {"mul", 1}, {"div", 1}}};
    t["LRN"] = {B::Input, {{"reduce", 1}, {"mul", 2}, {"exp", 2}, {"div", 1}}};
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"})
      t[op] = {B::Input, {{"max", 1}, {"exp", 1}, {"reduce", 1}, {"div", 1}}};
    for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                           "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
                           "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})
      t[op] = {B::Input, {{"reduce", 1}}};
    t["NegativeLogLikelihoodLoss"] = {B::Input, {{"move", 1}, {"reduce", 1}}};
    t["SoftmaxCrossEntropyLoss"] = {B::Input, {{"max", 1}, {"exp", 2}, {"reduce", 2}, {"div", 1}}};
    t["QuantizeLinear"] = {B::Output, {{"div", 1}, {"add", 1}, {"max", 2}}};
    t["DequantizeLinear"] = {B::Output, {{"add", 1}, {"mul", 1}}};
    t["DynamicQuantizeLinear"] = {B::Input, {{"reduce", 2}, {"div", 1}, {"add", 1}, {"max", 2}}};
    for (const char* op : {"BlackmanWindow", "HammingWindow", "HannWindow"})
      t[op] = {B::Output, {{"exp", 2}, {"mul", 2}, {"add", 1}}};  // cosines cost like exp
    t["MelWeightMatrix"] = {B::Output, {{"div", 1}, {"add", 1}, {"max", 1}}};
    t["MaxUnpool"] = {B::Output, {{"move", 1}}};
    for (const char* op : {"Adagrad", "Adam", "Momentum"})  // optimizer updates, per output element
      t[op] = {B::Output, {{"mul", 3}, {"add", 3}, {"div", 1}, {"exp", 1}}};
    t["RoiAlign"] = {B::Output, {{"mul", 16}, {"add", 16}}};  // 4 bilinear samples per output (default ratio)
    return t;
  }();
  return table;
}

// Elements of the pooling window.
int64_t window(const Node& node) {
  int64_t w = 1;
  for (int64_t k : node.attr_ints("kernel_shape", std::vector<int64_t>{})) w *= k;
  return w;
}

}  // namespace

std::optional<std::vector<VectorWork>> vector_work(const Graph& graph, const Node& node) {
  if (!node.domain.empty() && node.domain != "ai.onnx" && node.domain != "ai.onnx.preview.training")
    return std::nullopt;
  const std::string& op = node.op_type;
  int64_t out = 0;
  for (const auto& o : node.outputs) {
    if (o.empty()) continue;
    int64_t n = known_numel(graph, o);
    if (n < 0) throw UnsupportedError(node.label() + ": output shape of '" + o + "' is not known at compile time");
    out += n;
  }
  if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") {
    int64_t n = known_numel(graph, node.outputs.at(0));
    std::vector<VectorWork> w{{op == "MaxPool" ? "max" : "add", n * window(node)}};
    if (op != "MaxPool") w.push_back({"div", n});
    return w;
  }
  // Matrix ops on non-float data (integer MatMul...) and empty GEMMs run as vector MACs.
  if (op == "Conv" || op == "MatMul" || op == "Gemm") {
    int64_t in0 = known_numel(graph, node.inputs.at(0));
    if (in0 == 0 || out == 0) return std::vector<VectorWork>{};
    return std::nullopt;
  }
  auto it = op_table().find(op);
  if (it == op_table().end()) return std::nullopt;
  int64_t basis = out;
  if (it->second.basis == Basis::Input) {
    basis = known_numel(graph, node.inputs.at(0));
    if (basis < 0) throw UnsupportedError(node.label() + ": input shape is not known at compile time");
  }
  std::vector<VectorWork> work;
  if (basis == 0) return work;
  for (const auto& [cls, count] : it->second.classes) work.push_back({cls, basis * count});
  return work;
}

bool is_epilogue_op(const Node& node) {
  static const std::set<std::string> ops = {"Add", "Sub",       "Mul",         "Div",       "Relu",  "Clip",    "Max",
                                            "Min", "Erf",       "Exp",         "Sigmoid",   "Tanh",  "Sqrt",    "Neg",
                                            "Abs", "LeakyRelu", "HardSigmoid", "HardSwish", "PRelu", "Softplus"};
  return (node.domain.empty() || node.domain == "ai.onnx") && ops.count(node.op_type) > 0 && node.outputs.size() == 1;
}

}  // namespace wafer::npu
