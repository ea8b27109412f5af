#include "passes/promote_fp16.h"

#include "passes/pass_util.h"

namespace wafer {
namespace {

constexpr int64_t kOnnxFloat = 1, kOnnxFloat16 = 10;  // TensorProto.DataType

bool is_fp16(const Graph& g, const std::string& v) {
  auto t = g.type_of(v);
  return t && t->dtype == DType::Float16;
}

}  // namespace

bool promote_fp16_to_fp32(Graph& g) {
  for (const auto& n : g.nodes)
    if (has_subgraph(*n)) return false;
  bool any = false;
  for (auto& [_, t] : g.initializers) any |= t.dtype() == DType::Float16;
  for (const auto& n : g.nodes)
    if (n->op_type == "Cast" && n->attr_int("to", 0) == kOnnxFloat16) any = true;
  if (!any) return false;

  for (auto& [_, t] : g.initializers)
    if (t.dtype() == DType::Float16) t = t.cast(DType::Float32);
  for (auto& n : g.nodes) {
    if (!n->domain.empty()) continue;
    if (n->op_type == "Cast" && (n->attr_int("to", 0) == kOnnxFloat16 || n->attr_int("to", 0) == kOnnxFloat)) {
      // Between fp16 and fp32 both ways: fp32 to fp32 now, the identity (identity removal drops it).
      auto from = g.type_of(n->inputs.empty() ? "" : n->inputs[0]);
      if (from && (from->dtype == DType::Float16 || from->dtype == DType::Float32)) {
        n->op_type = "Identity";
        n->op_version = 16;
        n->attrs.clear();
      } else {
        n->attrs["to"] = Attribute{kOnnxFloat};
      }
    }
    if (n->op_type == "Constant" || n->op_type == "ConstantOfShape")
      for (auto& [name, a] : n->attrs)
        if (auto* t = std::get_if<Tensor>(&a.value); t && t->dtype() == DType::Float16)
          a.value = t->cast(DType::Float32);
  }
  // fp16 graph inputs: read through a Cast to fp32.
  for (const auto& in : std::vector<std::string>(g.inputs)) {
    if (!is_fp16(g, in)) continue;
    std::string wide = g.unique_name(in + "_fp32");
    replace_uses(g, in, wide);
    Node& c = g.add_node("Cast", {in}, {wide});
    c.op_version = 13;
    c.attrs["to"] = Attribute{kOnnxFloat};
    g.types[wide] = ValueType{DType::Float32, g.types[in].shape};
  }
  // fp16 graph outputs: the producer writes an fp32 value, a Cast narrows it to the output.
  for (auto& out : g.outputs) {
    if (!is_fp16(g, out) || g.is_initializer(out) || std::find(g.inputs.begin(), g.inputs.end(), out) != g.inputs.end())
      continue;
    std::string wide = g.unique_name(out + "_fp32");
    for (auto& n : g.nodes)
      for (auto& o : n->outputs)
        if (o == out) o = wide;
    for (auto& n : g.nodes)
      for (auto& i : n->inputs)
        if (i == out) i = wide;
    Node& c = g.add_node("Cast", {wide}, {out});
    c.op_version = 13;
    c.attrs["to"] = Attribute{kOnnxFloat16};
    g.types[wide] = ValueType{DType::Float32, g.types[out].shape};
  }
  // Inner values: fp32 now (shape propagation refines the rest).
  for (auto& [name, t] : g.types) {
    bool boundary = std::find(g.inputs.begin(), g.inputs.end(), name) != g.inputs.end() ||
                    std::find(g.outputs.begin(), g.outputs.end(), name) != g.outputs.end();
    if (t.dtype == DType::Float16 && !boundary) t.dtype = DType::Float32;
  }
  g.topological_sort();
  return true;
}

}  // namespace wafer
