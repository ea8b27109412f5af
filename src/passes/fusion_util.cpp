#include "passes/fusion_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "passes/pass_util.h"

namespace wafer {

RewriteContext::RewriteContext(Graph& g) : g_(g) {
  refresh();
}

void RewriteContext::refresh() {
  producers_ = g_.producers();
  uses_ = g_.use_counts();
  consumers_.clear();
  for (auto& n : g_.nodes)
    for (const auto& in : n->inputs)
      if (!in.empty()) {
        auto& c = consumers_[in];
        if (std::find(c.begin(), c.end(), n.get()) == c.end()) c.push_back(n.get());
      }
}

Node* RewriteContext::producer(const std::string& v) const {
  auto it = producers_.find(v);
  return it == producers_.end() ? nullptr : it->second;
}

int RewriteContext::uses(const std::string& v) const {
  auto it = uses_.find(v);
  return it == uses_.end() ? 0 : it->second;
}

bool RewriteContext::is_output(const std::string& v) const {
  return is_graph_output(g_, v);
}

Node* RewriteContext::sole_consumer(const std::string& v) const {
  if (uses(v) != 1 || is_output(v)) return nullptr;
  auto it = consumers_.find(v);
  if (it == consumers_.end() || it->second.size() != 1) return nullptr;  // read from a subgraph
  Node* c = it->second[0];
  // Read once in total, so exactly one input slot of c holds v.
  return c;
}

const Tensor* RewriteContext::constant(const std::string& v) const {
  return find_constant(g_, v);
}

const ValueType* RewriteContext::type(const std::string& v) const {
  auto it = g_.types.find(v);
  return it == g_.types.end() ? nullptr : &it->second;
}

std::string RewriteContext::add_constant(const std::string& hint, Tensor t) {
  std::string name = g_.unique_name(hint);
  while (defines(g_, name)) name = g_.unique_name(hint);
  g_.types[name] = ValueType{t.dtype(), Shape::from(t.dims())};
  g_.initializers[name] = std::move(t);
  return name;
}

void RewriteContext::commit() {
  if (!retired_.empty()) {
    std::vector<std::string> gone;
    for (auto& n : g_.nodes)
      if (retired_.count(n.get())) gone.insert(gone.end(), n->outputs.begin(), n->outputs.end());
    std::erase_if(g_.nodes, [&](const std::unique_ptr<Node>& n) { return retired_.count(n.get()) != 0; });
    retired_.clear();
    // Drop the types of values nobody produces any more (a surviving node may
    // have taken over a retired node's output name: its type stays).
    auto live = g_.producers();
    for (const auto& v : gone)
      if (!live.count(v) && !defines(g_, v)) g_.types.erase(v);
  }
  g_.topological_sort();
  refresh();
}

bool RewriteRule::run(Graph& graph) {
  RewriteContext ctx(graph);
  auto want = anchors();
  bool changed = false;
  // Every rewrite removes or renames at least one node, so this terminates;
  // the bound is a guard against a rule that does not.
  size_t budget = 4 * graph.nodes.size() + 16;
  bool again = true;
  while (again && budget-- > 0) {
    again = false;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      Node& n = *graph.nodes[i];
      if (std::find(want.begin(), want.end(), std::make_pair(n.domain, n.op_type)) == want.end()) continue;
      if (has_subgraph(n)) continue;
      if (rewrite(ctx, n)) {
        ctx.commit();
        changed = again = true;
        break;
      }
    }
  }
  return changed;
}

bool constant_scalar(const RewriteContext& ctx, const std::string& v, double& value) {
  const Tensor* t = ctx.constant(v);
  if (!t || t->numel() != 1 || t->dtype() == DType::String) return false;
  value = t->get_double(0);
  return true;
}

bool near(double a, double b, double rel) {
  return std::fabs(a - b) <= rel * std::max(1.0, std::fabs(b));
}

int other_operand(const Node& n, const std::string& v) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == v && n.inputs[1] != v) return 1;
  if (n.inputs[1] == v && n.inputs[0] != v) return 0;
  return -1;
}

void become_wafer_op(Node& n, const std::string& op_type) {
  n.op_type = op_type;
  n.domain = kWaferDomain;
  n.op_version = 1;
}

bool match_activation(const RewriteContext& ctx, const Node& n, Activation& act) {
  if (n.inputs.empty() || n.outputs.size() != 1) return false;
  if (n.domain == kWaferDomain && (n.op_type == "Gelu" || n.op_type == "Silu")) {
    act = {n.op_type, {}};
    return true;
  }
  if (!n.domain.empty()) return false;
  const std::string& op = n.op_type;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || (op == "HardSwish" && n.op_version >= 14)) {
    act = {op, {}};
    return true;
  }
  if (op == "LeakyRelu") {
    act = {op, {n.attr_float("alpha", 0.01f)}};
    return true;
  }
  if (op == "HardSigmoid") {
    act = {op, {n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)}};
    return true;
  }
  if (op == "Gelu") {
    if (n.attr_string("approximate", "none") != "none") return false;
    act = {op, {}};
    return true;
  }
  if (op == "Clip") {
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    if (n.op_version < 11) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      double v = 0;
      if (n.has_input(1)) {
        if (!constant_scalar(ctx, n.inputs[1], v)) return false;
        lo = float(v);
      }
      if (n.has_input(2)) {
        if (!constant_scalar(ctx, n.inputs[2], v)) return false;
        hi = float(v);
      }
    }
    act = {op, {lo, hi}};
    return true;
  }
  return false;
}

}  // namespace wafer

namespace wafer {

namespace {
void set_activation(Node& n, const Activation& act) {
  n.attrs["activation"] = Attribute{act.name};
  n.attrs["activation_params"] = Attribute{act.params};
}

bool same_known_type(const ValueType* a, const ValueType* b) {
  return a && b && a->dtype == b->dtype && a->shape.rank_known && a->shape == b->shape;
}
}  // namespace

Tensor bias_along_axis(const Tensor& c, const ValueType& y, int64_t axis) {
  if (!y.shape.rank_known || axis < 0 || axis >= y.shape.rank() || c.dtype() != y.dtype) return {};
  if (c.rank() > y.shape.rank()) return {};
  const Dim& len = y.shape.dims[size_t(axis)];
  if (!len.known()) return {};
  int64_t offset = y.shape.rank() - c.rank();  // c's dim i aligns with y's dim offset + i
  for (int64_t i = 0; i < c.rank(); ++i) {
    int64_t d = c.dim(i);
    if (offset + i == axis ? (d != 1 && d != len.value) : d != 1) return {};
  }
  Tensor bias(c.dtype(), {len.value});
  size_t es = dtype_size(c.dtype());
  const auto* src = static_cast<const std::byte*>(c.raw());
  auto* dst = static_cast<std::byte*>(bias.raw());
  for (int64_t i = 0; i < len.value; ++i)
    std::copy_n(src + (c.numel() == 1 ? 0 : size_t(i) * es), es, dst + size_t(i) * es);
  return bias;
}

bool absorb_epilogue(RewriteContext& ctx, Node& fused, const std::function<Tensor(const Tensor&)>& bias_of,
                     EpilogueParts parts) {
  if (fused.outputs.size() != 1 || fused.inputs.size() < 2) return false;
  if (!fused.attr_string("activation", "").empty()) return false;
  const std::string y = fused.outputs[0];
  const ValueType* yt = ctx.type(y);
  if (!yt || yt->dtype != DType::Float32) return false;
  Node* c = ctx.sole_consumer(y);
  if (!c || c->outputs.size() != 1 || c->outputs[0].empty()) return false;
  bool has_sum = fused.has_input(3);
  if (c->op_type == "Add" && c->domain.empty()) {
    int o = other_operand(*c, y);
    if (o < 0) return false;
    const std::string& other = c->inputs[size_t(o)];
    if (const Tensor* t = ctx.constant(other)) {
      if (!parts.bias_activation) return false;
      Tensor bias = bias_of(*t);
      if (!bias.defined()) return false;
      if (fused.has_input(2)) {
        const Tensor* old = ctx.constant(fused.inputs[2]);
        if (!old || old->dtype() != DType::Float32 || old->numel() != bias.numel()) return false;
        Tensor sum(DType::Float32, {bias.numel()});
        for (int64_t i = 0; i < bias.numel(); ++i) sum.data<float>()[i] = old->data<float>()[i] + bias.data<float>()[i];
        bias = sum;
      }
      if (fused.inputs.size() < 3) fused.inputs.resize(3);
      fused.inputs[2] = ctx.add_constant(fused.name + "_bias", bias);
    } else {
      if (!parts.residual) return false;
      if (has_sum || !same_known_type(ctx.type(other), yt) || !same_known_type(ctx.type(c->outputs[0]), yt))
        return false;
      fused.inputs.resize(4);
      fused.inputs[3] = other;
    }
  } else {
    Activation act;
    if (!parts.bias_activation || !match_activation(ctx, *c, act)) return false;
    set_activation(fused, act);
  }
  fused.outputs[0] = c->outputs[0];
  ctx.graph().types.erase(y);  // nothing produces y any more
  ctx.retire(c);
  return true;
}

}  // namespace wafer
