// wafer inspect MODEL: inputs and outputs with shapes, op histogram,
// parameters, MACs/FLOPs per node and in total, and what cannot run (ops the
// registry lacks, or nodes a chosen backend does not support). The report is
// about the graph after the standard optimization pipeline (shape
// propagation, folding, CSE, DCE), which is what backends compile.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "backends/backend.h"
#include "commands.h"
#include "frontend/onnx/importer.h"
#include "ir/cost.h"
#include "model_options.h"
#include "passes/pass_manager.h"
#include "passes/shape_propagation.h"

namespace wafer::cli {

namespace {

// 118013952 -> "118.01 M"; small numbers stay exact.
std::string si(int64_t v) {
  const char* prefixes[] = {"", " k", " M", " G", " T", " P"};
  double x = double(v);
  int p = 0;
  while (std::abs(x) >= 1000 && p < 5) {
    x /= 1000;
    ++p;
  }
  std::ostringstream out;
  if (p == 0)
    out << v;
  else
    out << std::fixed << std::setprecision(2) << x << prefixes[p];
  return out.str();
}

std::string with_unit(int64_t v, const std::string& unit) {
  std::string s = si(v);
  return s + " " + unit;
}

// "118.01 M MACs (118013952 MACs)", or "12 MACs" when the short form is exact.
std::string exact(int64_t v, const std::string& unit) {
  std::string s = with_unit(v, unit);
  if (std::abs(v) >= 1000) s += " (" + std::to_string(v) + " " + unit + ")";
  return s;
}

std::string bytes_str(int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = double(b);
  int u = 0;
  while (x >= 1024 && u < 4) {
    x /= 1024;
    ++u;
  }
  std::ostringstream out;
  if (u == 0)
    out << b << " B";
  else
    out << std::fixed << std::setprecision(2) << x << " " << units[u];
  return out.str();
}

std::string opt_str(const std::optional<int64_t>& v, const std::string& unit, bool bytes = false) {
  if (!v) return "unknown";
  return bytes ? bytes_str(*v) : with_unit(*v, unit);
}

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

std::string type_str(const std::optional<ValueType>& t) {
  if (!t) return "unknown";
  if (t->dtype == DType::Undefined) return "?" + t->shape.str();
  return t->str();
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

void add_inspect_command(CLI::App& app) {
  auto* sub = app.add_subcommand("inspect", "Describe a model: inputs, outputs, ops, parameters, MACs");
  struct Opts {
    std::string model, backend;
    std::vector<std::string> shapes;
    bool json = false, dump = false, no_optimize = false, in_order = false;
    int top = 20;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX model file")->required();
  sub->add_option("--shape", o->shapes, "NAME=d0,d1,... fixes an input's shape, or SYMBOL=value binds a dim");
  sub->add_option("--backend", o->backend, "Also list the nodes this backend does not support");
  sub->add_option("--top", o->top, "Nodes in the cost table (0 = all)")->capture_default_str();
  sub->add_flag("--in-order", o->in_order, "Cost table in graph order instead of most MACs first");
  sub->add_flag("--no-optimize", o->no_optimize, "Only infer shapes; do not fold, merge or remove nodes");
  sub->add_flag("--dump", o->dump, "Print the graph (after optimization)");
  sub->add_flag("--json", o->json, "Print everything as one JSON object");
  set_action(sub, [o]() {
    ImportOptions import_opts;
    import_opts.reject_unsupported = false;
    Model m = import_onnx_file(o->model, import_opts);
    Graph& g = *m.graph;
    SymbolBindings symbols;
    apply_shape_options(g, o->shapes, symbols);
    // Inputs as the model declares them (symbolic dims by name), and symbolic
    // dims left unbound counted at 1 so that MACs are per sample, not unknown.
    std::map<std::string, std::optional<ValueType>> declared;
    std::vector<std::string> defaulted;
    for (const auto& i : g.inputs) {
      declared[i] = g.type_of(i);
      if (auto t = g.type_of(i); t && t->shape.rank_known)
        for (const Dim& d : t->shape.dims)
          if (!d.known() && !d.symbol.empty() && !symbols.count(d.symbol)) {
            symbols[d.symbol] = 1;
            defaulted.push_back(d.symbol);
          }
    }
    size_t nodes_before = g.node_count_recursive();
    std::vector<PassStats> stats;
    if (o->no_optimize) {
      ShapePropagation(symbols).run(g);
    } else {
      OptimizeOptions opts;
      opts.symbols = symbols;
      opts.stats = &stats;
      optimize(g, opts);
    }
    GraphCost cost = graph_cost(g);
    std::map<std::string, int> ops;
    histogram(g, ops);
    std::vector<std::pair<std::string, int>> ops_sorted(ops.begin(), ops.end());
    std::stable_sort(ops_sorted.begin(), ops_sorted.end(), [](auto& a, auto& b) { return a.second > b.second; });
    auto unsupported = find_unsupported_ops(g);
    std::vector<const Node*> not_on_backend;
    std::vector<std::string> on_fallback;  // nodes the backend runs on reference kernels
    std::unique_ptr<Backend> backend;
    if (!o->backend.empty()) {
      CompileOptions copts;
      copts.symbols = symbols;
      backend = make_backend(o->backend, &copts);
      backend_unsupported(g, *backend, not_on_backend);
      if (not_on_backend.empty()) on_fallback = backend->fallback_nodes(g, copts);
    }
    std::vector<const GraphCost::Entry*> table;
    for (const auto& e : cost.nodes) table.push_back(&e);
    if (!o->in_order)
      std::stable_sort(table.begin(), table.end(), [](const GraphCost::Entry* a, const GraphCost::Entry* b) {
        // Most MACs (then FLOPs) first; unknown costs before known zeros, which are often many.
        auto key = [](const NodeCost& c) {
          int tier = !c.macs || !c.flops ? 1 : (*c.macs > 0 || *c.flops > 0) ? 2 : 0;
          return std::make_tuple(tier, c.macs.value_or(0), c.flops.value_or(0));
        };
        return key(a->cost) > key(b->cost);
      });
    size_t shown = o->top > 0 ? std::min(table.size(), size_t(o->top)) : table.size();

    if (o->json) {
      nlohmann::json j;
      j["model"] = o->model;
      j["producer"] = m.producer;
      j["ir_version"] = m.ir_version;
      j["opsets"] = g.opsets;
      j["symbols"] = symbols;
      j["symbols_defaulted_to_1"] = defaulted;
      for (const auto& i : g.inputs) {
        auto t = shape_json(declared[i]);
        t["name"] = i;
        j["inputs"].push_back(t);
      }
      for (const auto& out : g.outputs) {
        auto t = shape_json(g.type_of(out));
        t["name"] = out;
        j["outputs"].push_back(t);
      }
      j["optimized"] = !o->no_optimize;
      j["node_count_before"] = nodes_before;
      j["node_count"] = g.node_count_recursive();
      j["op_histogram"] = ops;
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
      for (const auto& u : unsupported)
        j["unsupported_ops"].push_back(
            {{"op", u.op_type}, {"domain", u.domain}, {"opset", u.opset}, {"node", u.node_name}});
      if (backend) {
        j["backend"] = o->backend;
        j["backend_unsupported_nodes"] = nlohmann::json::array();
        for (const Node* n : not_on_backend)
          j["backend_unsupported_nodes"].push_back({{"name", n->name}, {"op", n->op_type}, {"domain", n->domain}});
        j["backend_fallback_nodes"] = on_fallback;
      }
      for (const auto& s : stats)
        j["passes"].push_back({{"name", s.name}, {"runs", s.runs}, {"changed", s.changed}, {"ms", s.ms}});
      if (o->dump) j["dump"] = dump_graph(g);
      std::cout << j.dump(2) << "\n";
      return 0;
    }

    std::cout << "model " << o->model;
    if (!m.producer.empty()) std::cout << " (producer " << m.producer << ", IR version " << m.ir_version << ")";
    std::cout << "\n";
    for (const auto& [k, v] : symbols) std::cout << "  symbol " << k << " = " << v << "\n";
    std::cout << "inputs:\n";
    for (const auto& i : g.inputs) std::cout << "  " << i << ": " << type_str(declared[i]) << "\n";
    if (!defaulted.empty()) {
      std::cout << "  (counted with";
      for (const auto& d : defaulted) std::cout << " " << d << "=1";
      std::cout << "; set other values with --shape " << defaulted.front() << "=N)\n";
    }
    std::cout << "outputs:\n";
    for (const auto& out : g.outputs) std::cout << "  " << out << ": " << type_str(g.type_of(out)) << "\n";
    std::cout << "nodes: " << g.node_count_recursive() << " nodes";
    if (!o->no_optimize) std::cout << " after optimization (" << nodes_before << " nodes before)";
    std::cout << "\nops:\n";
    for (const auto& [op, n] : ops_sorted) std::cout << "  " << std::left << std::setw(28) << op << n << " nodes\n";
    std::cout << "parameters: " << exact(cost.param_count, "elements") << ", " << bytes_str(cost.param_bytes);
    if (cost.param_bytes >= 1024) std::cout << " (" << cost.param_bytes << " bytes)";
    std::cout << "\ntotal: " << exact(cost.macs, "MACs") << ", " << exact(cost.flops, "FLOPs");
    if (cost.unknown_macs || cost.unknown_flops)
      std::cout << "; not counted: " << cost.unknown_macs << " nodes with unknown MACs, " << cost.unknown_flops
                << " nodes with unknown FLOPs";
    if (cost.unknown_macs || cost.unknown_flops) {
      std::set<std::string> unbound;
      for (const auto& i : g.inputs)
        if (auto t = g.type_of(i); t && t->shape.rank_known)
          for (const Dim& d : t->shape.dims)
            if (!d.known() && !d.symbol.empty()) unbound.insert(d.symbol);
      if (!unbound.empty()) {
        std::cout << "\n  (bind symbolic dims to count them, e.g. --shape " << *unbound.begin() << "=1; unbound:";
        for (const auto& u : unbound) std::cout << " " << u;
        std::cout << ")";
      }
    }
    std::cout << "\nactivations: " << bytes_str(cost.bytes_read) << " read, " << bytes_str(cost.bytes_written)
              << " written (nodes with known shapes)\n";
    std::cout << "\n"
              << (o->in_order ? "nodes in graph order" : "nodes by MACs") << " (" << shown << " of " << table.size()
              << "):\n";
    std::cout << std::left << std::setw(32) << "  node" << std::setw(20) << "op" << std::setw(26) << "output"
              << std::right << std::setw(16) << "MACs" << std::setw(16) << "FLOPs" << std::setw(14) << "weights"
              << std::setw(14) << "read" << std::setw(14) << "written"
              << "\n";
    for (size_t i = 0; i < shown; ++i) {
      const auto& e = *table[i];
      std::string out =
          e.node->outputs.empty() || e.node->outputs[0].empty() ? "-" : type_str(g.type_of(e.node->outputs[0]));
      std::string name = e.node->name.size() > 29 ? e.node->name.substr(0, 26) + "..." : e.node->name;
      std::cout << "  " << std::left << std::setw(30) << name << std::setw(20) << e.node->op_type << std::setw(26)
                << out << std::right << std::setw(16) << opt_str(e.cost.macs, "MACs") << std::setw(16)
                << opt_str(e.cost.flops, "FLOPs") << std::setw(14) << bytes_str(e.cost.param_bytes) << std::setw(14)
                << opt_str(e.cost.bytes_read, "", true) << std::setw(14) << opt_str(e.cost.bytes_written, "", true)
                << "\n";
    }
    if (unsupported.empty())
      std::cout << "\nevery op has a reference implementation\n";
    else
      std::cout << "\n" << format_unsupported(unsupported) << "\n";
    if (backend) {
      std::cout << "backend " << o->backend << ": ";
      if (not_on_backend.empty())
        std::cout << "supports every node\n";
      else {
        std::cout << not_on_backend.size() << " nodes not supported:\n";
        for (const Node* n : not_on_backend) std::cout << "  " << n->label() << "\n";
      }
      if (!on_fallback.empty()) {
        std::cout << "backend " << o->backend << ": " << on_fallback.size()
                  << " nodes have no fast kernel and run on the reference kernels:\n";
        for (const auto& n : on_fallback) std::cout << "  " << n << "\n";
      }
    }
    if (o->dump) std::cout << "\n" << dump_graph(g);
    return 0;
  });
}

}  // namespace wafer::cli
