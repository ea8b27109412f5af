// wafer inspect MODEL: inputs and outputs with shapes, op histogram,
// parameters, MACs/FLOPs per node and in total, and what cannot run (ops the
// registry lacks, or nodes a chosen backend does not support). The report is
// about the graph after the standard optimization pipeline (shape
// propagation, folding, CSE, DCE), which is what backends compile. The analysis and the JSON are
// api::inspect_model and api::inspect_json; this file prints the text report.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <tuple>

#include "api/inspect.h"
#include "commands.h"

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

std::string type_str(const std::optional<ValueType>& t) {
  if (!t) return "unknown";
  if (t->dtype == DType::Undefined) return "?" + t->shape.str();
  return t->str();
}

using InspectEntries = std::vector<const GraphCost::Entry*>;

// The cost table's rows: graph order, or most MACs (then FLOPs) first with unknown costs before known zeros,
// which are often many.
InspectEntries cost_table_rows(const GraphCost& cost, bool in_order) {
  InspectEntries table;
  for (const auto& e : cost.nodes) table.push_back(&e);
  if (!in_order)
    std::stable_sort(table.begin(), table.end(), [](const GraphCost::Entry* a, const GraphCost::Entry* b) {
      auto key = [](const NodeCost& c) {
        int tier = !c.macs || !c.flops ? 1 : (*c.macs > 0 || *c.flops > 0) ? 2 : 0;
        return std::make_tuple(tier, c.macs.value_or(0), c.flops.value_or(0));
      };
      return key(a->cost) > key(b->cost);
    });
  return table;
}

// Model, bound symbols, inputs (as declared) and outputs.
void print_interface(const api::InspectOptions& o, const api::InspectReport& report) {
  const Model& m = report.model;
  const Graph& g = *m.graph;
  std::cout << "model " << o.model;
  if (!m.producer.empty()) std::cout << " (producer " << m.producer << ", IR version " << m.ir_version << ")";
  std::cout << "\n";
  for (const auto& [k, v] : report.symbols) std::cout << "  symbol " << k << " = " << v << "\n";
  std::cout << "inputs:\n";
  for (const auto& i : g.inputs) {
    auto it = report.declared.find(i);
    std::cout << "  " << i << ": " << type_str(it == report.declared.end() ? std::nullopt : it->second) << "\n";
  }
  const auto& defaulted = report.defaulted;
  if (!defaulted.empty()) {
    std::cout << "  (counted with";
    for (const auto& d : defaulted) std::cout << " " << d << "=1";
    std::cout << "; set other values with --shape " << defaulted.front() << "=N)\n";
  }
  std::cout << "outputs:\n";
  for (const auto& out : g.outputs) std::cout << "  " << out << ": " << type_str(g.type_of(out)) << "\n";
}

// Node count and the op histogram, most frequent first.
void print_ops(const api::InspectOptions& o, const api::InspectReport& report) {
  std::cout << "nodes: " << report.model.graph->node_count_recursive() << " nodes";
  if (!o.no_optimize) std::cout << " after optimization (" << report.nodes_before << " nodes before)";
  std::cout << "\nops:\n";
  std::vector<std::pair<std::string, int>> ops_sorted(report.ops.begin(), report.ops.end());
  std::stable_sort(ops_sorted.begin(), ops_sorted.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (const auto& [op, n] : ops_sorted) std::cout << "  " << std::left << std::setw(28) << op << n << " nodes\n";
}

// Parameters, total MACs and FLOPs (with a hint when symbolic dims left nodes uncounted), activation traffic.
void print_totals(const api::InspectReport& report) {
  const Graph& g = *report.model.graph;
  const GraphCost& cost = report.cost;
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
}

// The per-node cost table: the first `shown` rows.
void print_cost_table(const Graph& g, const InspectEntries& table, size_t shown, bool in_order) {
  std::cout << "\n"
            << (in_order ? "nodes in graph order" : "nodes by MACs") << " (" << shown << " of " << table.size()
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
    std::cout << "  " << std::left << std::setw(30) << name << std::setw(20) << e.node->op_type << std::setw(26) << out
              << std::right << std::setw(16) << opt_str(e.cost.macs, "MACs") << std::setw(16)
              << opt_str(e.cost.flops, "FLOPs") << std::setw(14) << bytes_str(e.cost.param_bytes) << std::setw(14)
              << opt_str(e.cost.bytes_read, "", true) << std::setw(14) << opt_str(e.cost.bytes_written, "", true)
              << "\n";
  }
}

// What cannot run: ops without a reference kernel, and the nodes the chosen backend does not support or
// runs on the reference kernels.
void print_support(const api::InspectOptions& o, const api::InspectReport& report) {
  if (report.unsupported.empty())
    std::cout << "\nevery op has a reference implementation\n";
  else
    std::cout << "\n" << format_unsupported(report.unsupported) << "\n";
  if (!report.backend) return;
  std::cout << "backend " << o.backend << ": ";
  if (report.not_on_backend.empty())
    std::cout << "supports every node\n";
  else {
    std::cout << report.not_on_backend.size() << " nodes not supported:\n";
    for (const Node* n : report.not_on_backend) std::cout << "  " << n->label() << "\n";
  }
  if (!report.on_fallback.empty()) {
    std::cout << "backend " << o.backend << ": " << report.on_fallback.size()
              << " nodes have no fast kernel and run on the reference kernels:\n";
    for (const auto& n : report.on_fallback) std::cout << "  " << n << "\n";
  }
}

struct InspectCliOptions : api::InspectOptions {
  bool json = false, in_order = false;
  int top = 20;
};

int print_inspect_report(const InspectCliOptions& o) {
  api::InspectReport report = api::inspect_model(o);
  if (o.json) {
    std::cout << api::inspect_json(o, report).dump(2) << "\n";
    return 0;
  }
  const Graph& g = *report.model.graph;
  const InspectEntries table = cost_table_rows(report.cost, o.in_order);
  const size_t shown = o.top > 0 ? std::min(table.size(), size_t(o.top)) : table.size();
  print_interface(o, report);
  print_ops(o, report);
  print_totals(report);
  print_cost_table(g, table, shown, o.in_order);
  print_support(o, report);
  if (o.dump) std::cout << "\n" << dump_graph(g);
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* sub = app.add_subcommand("inspect", "Describe a model: inputs, outputs, ops, parameters, MACs");
  auto o = std::make_shared<InspectCliOptions>();
  sub->add_option("model", o->model, "ONNX model file")->required();
  sub->add_option("--shape", o->shapes, "NAME=d0,d1,... fixes an input's shape, or SYMBOL=value binds a dim");
  sub->add_option("--backend", o->backend, "Also list the nodes this backend does not support");
  sub->add_option("--top", o->top, "Nodes in the cost table (0 = all)")->capture_default_str();
  sub->add_flag("--in-order", o->in_order, "Cost table in graph order instead of most MACs first");
  sub->add_flag("--no-optimize", o->no_optimize, "Only infer shapes; do not fold, merge or remove nodes");
  sub->add_flag("--dump", o->dump, "Print the graph (after optimization)");
  sub->add_flag("--json", o->json, "Print everything as one JSON object");
  set_action(sub, [o]() { return print_inspect_report(*o); });
}

}  // namespace wafer::cli
