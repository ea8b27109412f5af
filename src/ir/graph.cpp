#include "ir/graph.h"

#include <functional>
#include <set>
#include <sstream>
#include <unordered_set>

namespace wafer {

std::string_view attr_type_name(AttrType t) {
  static const char* names[] = {"int", "float", "string", "tensor", "graph", "ints", "floats", "strings"};
  return names[int(t)];
}

Dims Shape::concrete() const {
  check(fully_known(), "shape ", str(), " is not fully known");
  Dims d;
  for (const Dim& x : dims) d.push_back(x.value);
  return d;
}

std::string Shape::str() const {
  if (!rank_known) return "[*]";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    s += dims[i].str();
  }
  s += ']';
  return s;
}

std::string ValueType::str() const {
  return std::string(dtype_name(dtype)) + shape.str();
}

// ---- Node -------------------------------------------------------------------

namespace {
template <typename T>
const T& get_attr(const Node& n, const std::string& name, AttrType type) {
  auto it = n.attrs.find(name);
  if (it == n.attrs.end()) fail(n.label(), ": missing required attribute '", name, "'");
  const T* v = std::get_if<T>(&it->second.value);
  if (!v)
    fail(n.label(), ": attribute '", name, "' is ", attr_type_name(it->second.type()), ", expected ",
         attr_type_name(type));
  return *v;
}
}  // namespace

int64_t Node::attr_int(const std::string& n, std::optional<int64_t> fallback) const {
  if (fallback && !has_attr(n)) return *fallback;
  return get_attr<int64_t>(*this, n, AttrType::Int);
}
float Node::attr_float(const std::string& n, std::optional<float> fallback) const {
  if (fallback && !has_attr(n)) return *fallback;
  return get_attr<float>(*this, n, AttrType::Float);
}
std::string Node::attr_string(const std::string& n, std::optional<std::string> fallback) const {
  if (fallback && !has_attr(n)) return *fallback;
  return get_attr<std::string>(*this, n, AttrType::String);
}
std::vector<int64_t> Node::attr_ints(const std::string& n, std::optional<std::vector<int64_t>> fallback) const {
  if (fallback && !has_attr(n)) return *fallback;
  return get_attr<std::vector<int64_t>>(*this, n, AttrType::Ints);
}
std::vector<float> Node::attr_floats(const std::string& n, std::optional<std::vector<float>> fallback) const {
  if (fallback && !has_attr(n)) return *fallback;
  return get_attr<std::vector<float>>(*this, n, AttrType::Floats);
}
std::vector<std::string> Node::attr_strings(const std::string& n) const {
  return get_attr<std::vector<std::string>>(*this, n, AttrType::Strings);
}
const Tensor& Node::attr_tensor(const std::string& n) const {
  return get_attr<Tensor>(*this, n, AttrType::Tensor);
}
const Graph& Node::attr_graph(const std::string& n) const {
  return *get_attr<std::shared_ptr<Graph>>(*this, n, AttrType::Graph);
}

std::string Node::label() const {
  std::string s = op_type;
  if (!domain.empty()) s = domain + "." + s;
  return s + " \"" + name + "\"";
}

int Node::num_present_inputs() const {
  int n = 0;
  for (const auto& i : inputs) n += !i.empty();
  return n;
}

// ---- Graph ------------------------------------------------------------------

Node& Graph::add_node(std::string op_type, std::vector<std::string> ins, std::vector<std::string> outs,
                      std::string node_name) {
  auto n = std::make_unique<Node>();
  n->op_type = std::move(op_type);
  n->inputs = std::move(ins);
  n->outputs = std::move(outs);
  n->name = node_name.empty() ? unique_name(n->op_type) : std::move(node_name);
  nodes.push_back(std::move(n));
  return *nodes.back();
}

const Tensor* Graph::initializer(const std::string& v) const {
  auto it = initializers.find(v);
  return it == initializers.end() ? nullptr : &it->second;
}

std::optional<ValueType> Graph::type_of(const std::string& v) const {
  if (auto it = types.find(v); it != types.end()) return it->second;
  if (const Tensor* t = initializer(v)) return ValueType{t->dtype(), Shape::from(t->dims())};
  if (parent) return parent->type_of(v);
  return std::nullopt;
}

std::unordered_map<std::string, Node*> Graph::producers() const {
  std::unordered_map<std::string, Node*> p;
  for (const auto& n : nodes)
    for (const auto& o : n->outputs)
      if (!o.empty()) p[o] = n.get();
  return p;
}

std::unordered_map<std::string, int> Graph::use_counts() const {
  std::unordered_map<std::string, int> uses;
  for (const auto& n : nodes) {
    for (const auto& i : n->inputs)
      if (!i.empty()) uses[i]++;
    for (const auto& [_, a] : n->attrs)
      if (auto* g = std::get_if<std::shared_ptr<Graph>>(&a.value))
        for (const auto& v : (*g)->outer_references()) uses[v]++;
  }
  for (const auto& o : outputs) uses[o]++;
  return uses;
}

std::vector<std::string> Graph::outer_references() const {
  std::unordered_set<std::string> defined(inputs.begin(), inputs.end());
  for (const auto& [k, _] : initializers) defined.insert(k);
  std::vector<std::string> refs;
  std::unordered_set<std::string> seen;
  auto note = [&](const std::string& v) {
    if (!v.empty() && !defined.count(v) && seen.insert(v).second) refs.push_back(v);
  };
  for (const auto& n : nodes) {
    for (const auto& i : n->inputs) note(i);
    for (const auto& [_, a] : n->attrs)
      if (auto* g = std::get_if<std::shared_ptr<Graph>>(&a.value))
        for (const auto& v : (*g)->outer_references()) note(v);
    for (const auto& o : n->outputs)
      if (!o.empty()) defined.insert(o);
  }
  for (const auto& o : outputs) note(o);
  return refs;
}

void Graph::topological_sort() {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i]->outputs)
      if (!o.empty()) {
        auto [it, fresh] = producer.emplace(o, i);
        check(fresh, "value '", o, "' is produced by both ", nodes[it->second]->label(), " and ", nodes[i]->label());
      }
  // Dependencies of node i: producers of its inputs and of values its subgraphs read.
  auto deps = [&](size_t i) {
    std::vector<size_t> d;
    auto add = [&](const std::string& v) {
      if (v.empty()) return;
      if (auto it = producer.find(v); it != producer.end()) d.push_back(it->second);
    };
    for (const auto& in : nodes[i]->inputs) add(in);
    for (const auto& [_, a] : nodes[i]->attrs)
      if (auto* g = std::get_if<std::shared_ptr<Graph>>(&a.value))
        for (const auto& v : (*g)->outer_references()) add(v);
    return d;
  };
  // Iterative DFS keeping the original order where possible; 0 new, 1 on stack, 2 done.
  std::vector<int> state(nodes.size(), 0);
  std::vector<size_t> order;
  order.reserve(nodes.size());
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (state[root]) continue;
    std::vector<std::pair<size_t, std::vector<size_t>>> stack;
    stack.emplace_back(root, deps(root));
    state[root] = 1;
    while (!stack.empty()) {
      auto& [node, pending] = stack.back();
      if (pending.empty()) {
        state[node] = 2;
        order.push_back(node);
        stack.pop_back();
        continue;
      }
      size_t next = pending.back();
      pending.pop_back();
      if (state[next] == 1)
        fail("graph '", name, "' has a cycle through ", nodes[next]->label(), " and ", nodes[node]->label());
      if (state[next] == 0) {
        state[next] = 1;
        stack.emplace_back(next, deps(next));
      }
    }
  }
  std::vector<std::unique_ptr<Node>> sorted;
  sorted.reserve(nodes.size());
  for (size_t i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);
}

namespace {

// Every value defined anywhere in `g`: inputs, initializers, node outputs.
std::unordered_set<std::string> all_values(const Graph& g) {
  std::unordered_set<std::string> v(g.inputs.begin(), g.inputs.end());
  for (const auto& [k, _] : g.initializers) v.insert(k);
  for (const auto& n : g.nodes)
    for (const auto& o : n->outputs)
      if (!o.empty()) v.insert(o);
  return v;
}

// `outer` holds the values of each enclosing graph (built once per graph, so
// checking a subgraph costs its own size, not that of the whole model).
void verify_in(const Graph& g, std::vector<const std::unordered_set<std::string>*>& outer) {
  std::unordered_set<std::string> defined(g.inputs.begin(), g.inputs.end());
  for (const auto& [k, _] : g.initializers) defined.insert(k);
  auto visible = [&](const std::string& v) {
    if (defined.count(v)) return true;
    // Values of enclosing graphs are checked when those graphs are verified;
    // here we only need them to exist somewhere up the chain.
    for (const auto* scope : outer)
      if (scope->count(v)) return true;
    return false;
  };
  std::optional<std::unordered_set<std::string>> mine;  // built on the first subgraph
  for (const auto& n : g.nodes) {
    check(!n->op_type.empty(), "graph '", g.name, "': a node has no op_type");
    for (size_t i = 0; i < n->inputs.size(); ++i)
      if (!n->inputs[i].empty() && !visible(n->inputs[i]))
        fail(n->label(), ": input ", i, " '", n->inputs[i], "' is not defined before use");
    for (const auto& [attr_name, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) {
        check((*sub)->parent == &g, n->label(), ": subgraph '", attr_name, "' has a wrong parent link");
        if (!mine) mine = all_values(g);
        outer.push_back(&*mine);
        try {
          verify_in(**sub, outer);
        } catch (const Error& e) {
          outer.pop_back();
          rethrow_with_context(e, n->label() + " subgraph '" + attr_name + "'");
        }
        outer.pop_back();
      }
    for (const auto& o : n->outputs) {
      if (o.empty()) continue;
      check(defined.insert(o).second, n->label(), ": output '", o, "' is already defined");
    }
  }
  for (const auto& o : g.outputs) check(visible(o), "graph '", g.name, "': output '", o, "' is never produced");
}

}  // namespace

void Graph::verify() const {
  std::vector<std::unordered_set<std::string>> ancestors;
  for (const Graph* p = parent; p; p = p->parent) ancestors.push_back(all_values(*p));
  std::vector<const std::unordered_set<std::string>*> outer;
  for (const auto& a : ancestors) outer.push_back(&a);
  verify_in(*this, outer);
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>();
  g->name = name;
  g->inputs = inputs;
  g->outputs = outputs;
  g->initializers = initializers;
  g->types = types;
  g->opsets = opsets;
  g->parent = parent;
  g->name_counter_ = name_counter_;
  for (const auto& n : nodes) {
    auto c = std::make_unique<Node>(*n);
    for (auto& [_, a] : c->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) {
        std::shared_ptr<Graph> copy = (*sub)->clone();
        copy->parent = g.get();
        a.value = copy;
      }
    g->nodes.push_back(std::move(c));
  }
  return g;
}

size_t Graph::node_count_recursive() const {
  size_t n = nodes.size();
  for (const auto& node : nodes)
    for (const auto& [_, a] : node->attrs)
      if (auto* g = std::get_if<std::shared_ptr<Graph>>(&a.value)) n += (*g)->node_count_recursive();
  return n;
}

std::string Graph::unique_name(const std::string& prefix) {
  std::unordered_set<std::string> taken;
  for (const auto& n : nodes) {
    taken.insert(n->name);
    for (const auto& o : n->outputs) taken.insert(o);
  }
  for (;;) {
    std::string candidate = prefix + "_" + std::to_string(name_counter_++);
    if (!taken.count(candidate) && !initializers.count(candidate) && !types.count(candidate)) return candidate;
  }
}

// ---- Text dump --------------------------------------------------------------

namespace {
std::string attr_to_string(const Attribute& a) {
  std::ostringstream out;
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, float>) {
          out << v;
        } else if constexpr (std::is_same_v<V, std::string>) {
          out << '"' << v << '"';
        } else if constexpr (std::is_same_v<V, Tensor>) {
          out << "tensor<" << dtype_name(v.dtype()) << dims_to_string(v.dims()) << ">";
        } else if constexpr (std::is_same_v<V, std::shared_ptr<Graph>>) {
          out << "graph(" << v->nodes.size() << " nodes)";
        } else {
          out << '[';
          for (size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
          out << ']';
        }
      },
      a.value);
  return out.str();
}
}  // namespace

std::string dump_graph(const Graph& g, int indent) {
  std::string pad(size_t(indent), ' ');
  std::ostringstream out;
  auto typed = [&](const std::string& v) {
    auto t = g.type_of(v);
    return t ? v + ": " + t->str() : v;
  };
  out << pad << "graph " << g.name << " {\n";
  for (const auto& i : g.inputs) out << pad << "  input " << typed(i) << "\n";
  for (const auto& [name, t] : g.initializers)
    out << pad << "  const " << name << ": " << dtype_name(t.dtype()) << dims_to_string(t.dims()) << "\n";
  for (const auto& n : g.nodes) {
    out << pad << "  ";
    for (size_t i = 0; i < n->outputs.size(); ++i) out << (i ? ", " : "") << typed(n->outputs[i]);
    out << " = " << (n->domain.empty() ? "" : n->domain + ".") << n->op_type << "(";
    for (size_t i = 0; i < n->inputs.size(); ++i) out << (i ? ", " : "") << n->inputs[i];
    out << ")";
    bool first = true;
    for (const auto& [k, a] : n->attrs) {
      if (a.type() == AttrType::Graph) continue;
      out << (first ? " {" : ", ") << k << "=" << attr_to_string(a);
      first = false;
    }
    if (!first) out << "}";
    out << "  # " << n->name << "\n";
    for (const auto& [k, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) {
        out << pad << "    " << k << ":\n" << dump_graph(**sub, indent + 4);
      }
  }
  for (const auto& o : g.outputs) out << pad << "  output " << typed(o) << "\n";
  out << pad << "}\n";
  return out.str();
}

std::string batch_symbol(const Graph& g) {
  std::string sym;
  for (const auto& name : g.inputs) {
    auto type = g.type_of(name);
    if (!type || !type->shape.rank_known || type->shape.rank() == 0) return "";
    const Dim& d = type->shape.dims[0];
    if (d.known() || d.symbol.empty() || (!sym.empty() && d.symbol != sym)) return "";
    sym = d.symbol;
  }
  return sym;
}

}  // namespace wafer
