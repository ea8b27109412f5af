#include "passes/shape_propagation.h"

#include "ir/op_registry.h"
#include "passes/pass_util.h"

namespace wafer {

bool bind_symbols(ValueType& t, const SymbolBindings& symbols) {
  bool changed = false;
  if (!t.shape.rank_known) return false;
  for (Dim& d : t.shape.dims) {
    if (d.known() || d.symbol.empty()) continue;
    if (auto it = symbols.find(d.symbol); it != symbols.end()) {
      check(it->second >= 0, "symbol '", d.symbol, "' bound to negative value ", it->second);
      d = Dim(it->second);
      changed = true;
    }
  }
  return changed;
}

ValueType merge_types(const ValueType& known, const ValueType& inferred, const Node& node, const std::string& value) {
  ValueType out = inferred;
  if (out.dtype == DType::Undefined)
    out.dtype = known.dtype;
  else if (known.dtype != DType::Undefined && known.dtype != out.dtype)
    fail(node.label(), ": output '", value, "' inferred as ", dtype_name(out.dtype), " but declared ",
         dtype_name(known.dtype));
  if (!out.shape.rank_known) {
    out.shape = known.shape;
    return out;
  }
  if (!known.shape.rank_known) return out;
  if (known.shape.rank() != out.shape.rank())
    fail(node.label(), ": output '", value, "' inferred with shape ", out.shape.str(), " but declared ",
         known.shape.str());
  for (size_t i = 0; i < out.shape.dims.size(); ++i) {
    Dim& d = out.shape.dims[i];
    const Dim& k = known.shape.dims[i];
    if (d.known() && k.known() && d.value != k.value)
      fail(node.label(), ": output '", value, "' inferred with shape ", out.shape.str(), " but declared ",
           known.shape.str());
    // Keep what is more precise: a known dim over a symbol, a symbol over "?".
    if (!d.known() && (k.known() || (d.symbol.empty() && !k.symbol.empty()))) d = k;
  }
  return out;
}

namespace {

bool bind_all(Graph& g, const SymbolBindings& symbols) {
  bool changed = false;
  if (symbols.empty()) return false;
  for (auto& [_, t] : g.types) changed |= bind_symbols(t, symbols);
  for (auto& n : g.nodes)
    for (Graph* sub : subgraphs_of(*n)) changed |= bind_all(*sub, symbols);
  return changed;
}

bool usable(const std::optional<ValueType>& t) {
  return t && t->dtype != DType::Undefined;
}

// Sets the type of body input `i` when the body leaves it out (ONNX allows that: it is
// the enclosing node's to give). The element type only, as a carried or scanned value's
// shape may change between iterations.
bool type_body_input(Graph& body, size_t i, DType dtype, Shape shape = Shape::unknown_rank()) {
  if (i >= body.inputs.size() || dtype == DType::Undefined) return false;
  auto t = body.types.find(body.inputs[i]);
  if (t != body.types.end() && t->second.dtype != DType::Undefined) return false;
  body.types[body.inputs[i]] = ValueType{dtype, std::move(shape)};
  return true;
}

bool type_body_inputs(Graph& g, Node& node) {
  auto dtype_of = [&](size_t i) {
    auto t = i < node.inputs.size() && !node.inputs[i].empty() ? g.type_of(node.inputs[i]) : std::nullopt;
    return t ? t->dtype : DType::Undefined;
  };
  bool changed = false;
  if (node.domain.empty() && node.op_type == "Loop" && node.has_attr("body")) {
    // Body inputs: iteration number (int64 scalar), condition (bool scalar), carried values.
    Graph& body = *subgraphs_of(node).front();
    changed |= type_body_input(body, 0, DType::Int64, Shape::from(Dims{}));
    changed |= type_body_input(body, 1, DType::Bool, Shape::from(Dims{}));
    for (size_t i = 2; i < node.inputs.size(); ++i) changed |= type_body_input(body, i, dtype_of(i));
  } else if (node.domain.empty() && node.op_type == "Scan" && node.has_attr("body")) {
    // Body inputs: state values, then one slice of each scanned input (Scan-8 has sequence_lens first).
    Graph& body = *subgraphs_of(node).front();
    size_t first = node.op_version < 9 ? 1 : 0;
    for (size_t i = first; i < node.inputs.size(); ++i) changed |= type_body_input(body, i - first, dtype_of(i));
  }
  return changed;
}

bool propagate(Graph& g, const SymbolBindings& symbols) {
  bool changed = false;
  for (auto& node : g.nodes) {
    changed |= type_body_inputs(g, *node);
    // Bodies first (they see this graph's types through their parent link): a control-flow
    // node's outputs are inferred from its bodies' outputs, which models may leave untyped.
    for (Graph* sub : subgraphs_of(*node)) changed |= propagate(*sub, symbols);
    changed |= infer_node_types(g, *node, symbols);
  }
  return changed;
}

}  // namespace

bool infer_node_types(Graph& g, const Node& node, const SymbolBindings& symbols) {
  const OpSchema* schema = OpRegistry::global().find(node);
  if (!schema || !schema->infer) return false;
  InferContext ctx{node, {}, {}};
  bool ranks_known = true;
  for (const auto& in : node.inputs) {
    if (in.empty()) {
      ctx.inputs.push_back(std::nullopt);
      ctx.constants.push_back(nullptr);
      continue;
    }
    auto t = g.type_of(in);
    if (!usable(t)) return false;  // an input without a dtype: nothing to infer from
    if (!t->shape.rank_known) ranks_known = false;
    ctx.inputs.push_back(t);
    ctx.constants.push_back(find_constant(g, in));
  }
  std::vector<ValueType> inferred;
  try {
    inferred = infer_node(*schema, ctx);
  } catch (const Error& e) {
    // With an input of unknown rank, inference may fail for lack of
    // information; that is "unknown", not an inconsistency.
    if (!ranks_known) return false;
    std::string what = e.what();
    if (what.find(node.label()) == std::string::npos) rethrow_with_context(e, node.label());
    throw;
  }
  bool changed = false;
  for (size_t i = 0; i < node.outputs.size() && i < inferred.size(); ++i) {
    const std::string& o = node.outputs[i];
    if (o.empty()) continue;
    ValueType t = inferred[i];
    bind_symbols(t, symbols);
    auto it = g.types.find(o);
    if (it != g.types.end()) t = merge_types(it->second, t, node, o);
    if (t.dtype == DType::Undefined && !t.shape.rank_known) continue;
    if (it == g.types.end()) {
      g.types.emplace(o, t);
      changed = true;
    } else if (!(it->second == t)) {
      it->second = t;
      changed = true;
    }
  }
  return changed;
}

bool ShapePropagation::run(Graph& graph) {
  bool changed = bind_all(graph, symbols_);
  changed |= propagate(graph, symbols_);
  return changed;
}

}  // namespace wafer
