#include "backends/reference/interpreter.h"

namespace wafer {

const Tensor* Interpreter::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
    if (auto f = (*it)->find(name); f != (*it)->end()) return &f->second;
  return nullptr;
}

// Index of the last node reading each value, so tensors are freed as soon as
// nothing needs them (keeps peak memory of big models reasonable).
const std::unordered_map<std::string, int>& Interpreter::last_uses(const Graph& graph) {
  auto [it, fresh] = last_use_cache_.try_emplace(&graph);
  if (!fresh) return it->second;
  auto& last = it->second;
  for (int i = 0; i < int(graph.nodes.size()); ++i) {
    const Node& n = *graph.nodes[size_t(i)];
    for (const auto& in : n.inputs) last[in] = i;
    for (const auto& [_, a] : n.attrs)
      if (auto* g = std::get_if<std::shared_ptr<Graph>>(&a.value))
        for (const auto& v : (*g)->outer_references()) last[v] = i;
  }
  for (const auto& o : graph.outputs) last[o] = int(graph.nodes.size());
  return last;
}

std::vector<Tensor> Interpreter::run(const Graph& graph, const std::vector<Tensor>& inputs) {
  check(inputs.size() == graph.inputs.size(), "graph '", graph.name, "' has ", graph.inputs.size(),
        " input(s), got ", inputs.size());
  return run_in_scope(graph, inputs);
}

std::vector<Tensor> Interpreter::run_subgraph(const Graph& body, const std::vector<Tensor>& inputs) {
  check(inputs.size() == body.inputs.size(), "subgraph '", body.name, "' has ", body.inputs.size(),
        " input(s), got ", inputs.size());
  return run_in_scope(body, inputs);
}

std::vector<Tensor> Interpreter::run_in_scope(const Graph& graph, const std::vector<Tensor>& inputs) {
  Scope scope;
  for (const auto& [name, t] : graph.initializers) scope[name] = t;
  for (size_t i = 0; i < inputs.size(); ++i) scope[graph.inputs[i]] = inputs[i];
  scopes_.push_back(&scope);
  struct Pop {
    std::vector<Scope*>& s;
    ~Pop() { s.pop_back(); }
  } pop{scopes_};

  const auto& last = last_uses(graph);
  const auto& registry = OpRegistry::global();
  for (int i = 0; i < int(graph.nodes.size()); ++i) {
    const Node& node = *graph.nodes[size_t(i)];
    const OpSchema* schema = registry.find(node);
    if (!schema || !schema->kernel)
      throw UnsupportedError(node.label() + ": op " + node.op_type + " (version " + std::to_string(node.op_version) +
                             ") has no reference kernel");
    KernelContext ctx{node, {}, this};
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        ctx.inputs.push_back(nullptr);
        continue;
      }
      const Tensor* t = lookup(in);
      if (!t) fail(node.label(), ": input '", in, "' has no value");
      ctx.inputs.push_back(t);
    }
    std::vector<Tensor> outs;
    try {
      outs = schema->kernel(ctx);
    } catch (const Error& e) {
      std::string what = e.what();
      // Kernels usually name the node already; add it where they did not.
      if (what.find(node.label()) == std::string::npos) rethrow_with_context(e, node.label());
      throw;
    }
    size_t needed = 0;  // kernels may omit trailing optional outputs nobody asked for
    for (size_t o = 0; o < node.outputs.size(); ++o)
      if (!node.outputs[o].empty()) needed = o + 1;
    check(outs.size() >= needed, node.label(), ": kernel produced ", outs.size(), " output(s), node needs ", needed);
    for (size_t o = 0; o < node.outputs.size() && o < outs.size(); ++o)
      if (!node.outputs[o].empty()) scope[node.outputs[o]] = std::move(outs[o]);
    if (on_node) {
      std::vector<Tensor> produced;
      for (const auto& o : node.outputs) produced.push_back(o.empty() ? Tensor() : scope[o]);
      on_node(node, produced);
    }
    // Free values of this graph whose last reader was this node.
    for (const auto& in : node.inputs) {
      auto it = last.find(in);
      if (it != last.end() && it->second == i && !graph.is_initializer(in)) scope.erase(in);
    }
  }
  std::vector<Tensor> results;
  for (const auto& o : graph.outputs) {
    const Tensor* t = lookup(o);
    check(t != nullptr, "graph '", graph.name, "': output '", o, "' was not produced");
    results.push_back(*t);
  }
  return results;
}

}  // namespace wafer
