#include "ir/op_registry.h"

namespace wafer {

const Tensor& KernelContext::in(size_t i) const {
  if (!has(i)) fail(node.label(), ": required input ", i, " is missing");
  return *inputs[i];
}

const ValueType& InferContext::in(size_t i) const {
  if (!has(i)) fail(node.label(), ": type of input ", i, " is unknown");
  return *inputs[i];
}

OpRegistry& OpRegistry::global() {
  static OpRegistry registry;
  return registry;
}

void OpRegistry::add(OpSchema schema) {
  auto& list = schemas_[{schema.domain, schema.name}];
  for (const auto& s : list)
    check(schema.until < s.since || schema.since > s.until, "op ", schema.name, " registered twice for versions ",
          schema.since, "..", schema.until);
  list.push_back(std::move(schema));
}

const OpSchema* OpRegistry::find(const std::string& domain, const std::string& name, int version) const {
  auto it = schemas_.find({domain == "ai.onnx" ? "" : domain, name});
  if (it == schemas_.end()) return nullptr;
  for (const auto& s : it->second)
    if (version >= s.since && version <= s.until) return &s;
  return nullptr;
}

const OpCost* OpRegistry::cost_of(const Node& n) const {
  if (const OpSchema* s = find(n)) return &s->cost;
  auto it = schemas_.find({n.domain == "ai.onnx" ? "" : n.domain, n.op_type});
  if (it == schemas_.end() || it->second.empty()) return nullptr;
  const OpSchema* newest = &it->second.front();
  for (const auto& s : it->second)
    if (s.since > newest->since) newest = &s;
  return &newest->cost;
}

std::vector<const OpSchema*> OpRegistry::all() const {
  std::vector<const OpSchema*> out;
  for (const auto& [_, list] : schemas_)
    for (const auto& s : list) out.push_back(&s);
  return out;
}

std::vector<ValueType> infer_node(const OpSchema& schema, const InferContext& ctx) {
  std::vector<ValueType> out;
  if (schema.infer) out = schema.infer(ctx);
  out.resize(ctx.node.outputs.size());
  return out;
}

}  // namespace wafer
