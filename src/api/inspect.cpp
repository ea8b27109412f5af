#include "api/inspect.h"

#include "api/model_loading.h"
#include "passes/shape_propagation.h"

namespace wafer::api {

namespace {

nlohmann::json opt_json(const std::optional<int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json shape_json(const std::optional<ValueType>& t) {
  nlohmann::json j;
  if (!t) {
    j["dtype"] = nullptr;
    j["shape"] = nullptr;
    return j;
  }
  j["dtype"] = t->dtype == DType::Undefined ? nlohmann::json(nullptr) : nlohmann::json(dtype_name(t->dtype));
  if (!t->shape.rank_known) {
    j["shape"] = nullptr;
    return j;
  }
  j["shape"] = nlohmann::json::array();
  for (const Dim& d : t->shape.dims)
    j["shape"].push_back(d.known()          ? nlohmann::json(d.value)
                         : d.symbol.empty() ? nlohmann::json("?")
                                            : nlohmann::json(d.symbol));
  return j;
}

void histogram(const Graph& g, std::map<std::string, int>& h) {
  for (const auto& n : g.nodes) {
    h[(n->domain.empty() ? "" : n->domain + ".") + n->op_type]++;
    for (const auto& [_, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) histogram(**sub, h);
  }
}

void backend_unsupported(const Graph& g, const Backend& b, std::vector<const Node*>& out) {
  for (const auto& n : g.nodes) {
    if (!b.supports(*n)) out.push_back(n.get());
    for (const auto& [_, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) backend_unsupported(**sub, b, out);
  }
}

}  // namespace

InspectReport inspect_model(const InspectOptions& o) {
  InspectReport r;
  ImportOptions import_opts;
  import_opts.reject_unsupported = false;
  r.model = import_onnx_file(o.model, import_opts);
  Graph& g = *r.model.graph;
  SymbolBindings& symbols = r.symbols;
  apply_shape_options(g, o.shapes, symbols);
  // Inputs as the model declares them (symbolic dims by name), and symbolic
  // dims left unbound counted at 1 so that MACs are per sample, not unknown.
  for (const auto& i : g.inputs) {
    r.declared[i] = g.type_of(i);
    if (auto t = g.type_of(i); t && t->shape.rank_known)
      for (const Dim& d : t->shape.dims)
        if (!d.known() && !d.symbol.empty() && !symbols.count(d.symbol)) {
          symbols[d.symbol] = 1;
          r.defaulted.push_back(d.symbol);
        }
  }
  r.nodes_before = g.node_count_recursive();
  if (o.no_optimize) {
    ShapePropagation(symbols).run(g);
  } else {
    OptimizeOptions opts;
    opts.symbols = symbols;
    opts.stats = &r.stats;
    optimize(g, opts);
  }
  r.cost = graph_cost(g);
  histogram(g, r.ops);
  r.unsupported = find_unsupported_ops(g);
  if (!o.backend.empty()) {
    CompileOptions copts;
    copts.symbols = symbols;
    r.backend = make_backend(o.backend, &copts);
    backend_unsupported(g, *r.backend, r.not_on_backend);
    if (r.not_on_backend.empty()) r.on_fallback = r.backend->fallback_nodes(g, copts);
  }
  return r;
}

nlohmann::json inspect_json(const InspectOptions& o, const InspectReport& r) {
  const Graph& g = *r.model.graph;
  const GraphCost& cost = r.cost;
  nlohmann::json j;
  j["model"] = o.model;
  j["producer"] = r.model.producer;
  j["ir_version"] = r.model.ir_version;
  j["opsets"] = g.opsets;
  j["symbols"] = r.symbols;
  j["symbols_defaulted_to_1"] = r.defaulted;
  for (const auto& i : g.inputs) {
    auto it = r.declared.find(i);
    auto t = shape_json(it == r.declared.end() ? std::nullopt : it->second);
    t["name"] = i;
    j["inputs"].push_back(t);
  }
  for (const auto& out : g.outputs) {
    auto t = shape_json(g.type_of(out));
    t["name"] = out;
    j["outputs"].push_back(t);
  }
  j["optimized"] = !o.no_optimize;
  j["node_count_before"] = r.nodes_before;
  j["node_count"] = g.node_count_recursive();
  j["op_histogram"] = r.ops;
  j["parameter_count"] = cost.param_count;
  j["parameter_bytes"] = cost.param_bytes;
  j["total_macs"] = cost.macs;
  j["total_flops"] = cost.flops;
  j["total_activation_bytes_read"] = cost.bytes_read;
  j["total_activation_bytes_written"] = cost.bytes_written;
  j["nodes_with_unknown_macs"] = cost.unknown_macs;
  j["nodes_with_unknown_flops"] = cost.unknown_flops;
  j["nodes"] = nlohmann::json::array();
  for (const auto& e : cost.nodes) {
    nlohmann::json n;
    n["name"] = e.node->name;
    n["op"] = e.node->op_type;
    if (!e.node->domain.empty()) n["domain"] = e.node->domain;
    for (const auto& out : e.node->outputs) {
      auto t = shape_json(out.empty() ? std::nullopt : g.type_of(out));
      t["name"] = out;
      n["outputs"].push_back(t);
    }
    n["macs"] = opt_json(e.cost.macs);
    n["flops"] = opt_json(e.cost.flops);
    n["param_bytes"] = e.cost.param_bytes;
    n["activation_bytes_read"] = opt_json(e.cost.bytes_read);
    n["activation_bytes_written"] = opt_json(e.cost.bytes_written);
    j["nodes"].push_back(n);
  }
  j["unsupported_ops"] = nlohmann::json::array();
  for (const auto& u : r.unsupported)
    j["unsupported_ops"].push_back(
        {{"op", u.op_type}, {"domain", u.domain}, {"opset", u.opset}, {"node", u.node_name}});
  if (r.backend) {
    j["backend"] = o.backend;
    j["backend_unsupported_nodes"] = nlohmann::json::array();
    for (const Node* n : r.not_on_backend)
      j["backend_unsupported_nodes"].push_back({{"name", n->name}, {"op", n->op_type}, {"domain", n->domain}});
    j["backend_fallback_nodes"] = r.on_fallback;
  }
  for (const auto& s : r.stats)
    j["passes"].push_back({{"name", s.name}, {"runs", s.runs}, {"changed", s.changed}, {"ms", s.ms}});
  if (o.dump) j["dump"] = dump_graph(g);
  return j;
}

}  // namespace wafer::api
