// Decomposed layer norm -> ONNX LayerNormalization (17). Matched from the Div:
//   m = ReduceMean(X, axes)        the last k axes, keepdims = 1
//   d = Sub(X, m)                  read by the variance and the Div only
//   v = ReduceMean(Pow(d, 2) | Mul(d, d), same axes)
//   n = Div(d, Sqrt(Add(v, eps) | Add(eps, v)))
//   y = Add(Mul(n, gamma), beta)   both optional, constants in either operand order
// gamma and beta become initializers of the normalized shape (ones when gamma
// is absent). Every intermediate must have no other reader.
#include <algorithm>

#include "ops/op_util.h"
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseLayerNorm::anchors() const {
  return {{"", "Div"}};
}

namespace {

bool is_op(const Node* n, const char* op, size_t inputs) {
  return n && n->domain.empty() && n->op_type == op && n->inputs.size() >= inputs && n->outputs.size() == 1;
}

// Axes of a ReduceMean with keepdims = 1, normalized to [0, rank); empty when not matched.
std::vector<int64_t> mean_axes(const RewriteContext& ctx, const Node& n, int64_t rank) {
  if (n.attr_int("keepdims", 1) != 1) return {};
  std::vector<int64_t> axes;
  if (n.op_version >= 18) {
    if (!n.has_input(1)) return {};
    const Tensor* t = ctx.constant(n.inputs[1]);
    if (!t) return {};
    axes = t->to_int_vector();
  } else {
    axes = n.attr_ints("axes", std::vector<int64_t>{});
  }
  for (auto& a : axes) {
    if (a < -rank || a >= rank) return {};
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

// A constant per-element parameter as a tensor of the normalized dims, or undefined.
Tensor as_norm_param(const Tensor& p, const Dims& norm_dims, DType dtype, const Node& node) {
  if (p.dtype() != dtype) return {};
  Dims d = p.dims();
  while (d.size() > norm_dims.size() && d.front() == 1) d.erase(d.begin());
  if (d.size() > norm_dims.size()) return {};
  try {
    return broadcast_to(p.reshaped(d), norm_dims, node).clone();
  } catch (const Error&) {
    return {};
  }
}

}  // namespace

bool FuseLayerNorm::rewrite(RewriteContext& ctx, Node& div) {
  if (!is_op(&div, "Div", 2)) return false;
  const std::string d = div.inputs[0];
  Node* sqrt = ctx.producer(div.inputs[1]);
  Node* sub = ctx.producer(d);
  if (!is_op(sqrt, "Sqrt", 1) || !is_op(sub, "Sub", 2) || ctx.sole_consumer(sqrt->outputs[0]) != &div) return false;
  Node* add_eps = ctx.producer(sqrt->inputs[0]);
  if (!is_op(add_eps, "Add", 2) || ctx.sole_consumer(add_eps->outputs[0]) != sqrt) return false;
  double eps = 0;
  int vi = -1;
  for (int i = 0; i < 2; ++i)
    if (constant_scalar(ctx, add_eps->inputs[size_t(1 - i)], eps)) vi = i;
  if (vi < 0) return false;
  Node* var = ctx.producer(add_eps->inputs[size_t(vi)]);
  if (!is_op(var, "ReduceMean", 1) || ctx.sole_consumer(var->outputs[0]) != add_eps) return false;
  Node* sq = ctx.producer(var->inputs[0]);
  if (!sq || ctx.sole_consumer(sq->outputs[0]) != var) return false;
  double two = 0;
  bool is_pow = is_op(sq, "Pow", 2) && sq->inputs[0] == d && constant_scalar(ctx, sq->inputs[1], two) && two == 2.0;
  bool is_mul = is_op(sq, "Mul", 2) && sq->inputs[0] == d && sq->inputs[1] == d;
  if (!(is_pow || is_mul) || ctx.uses(d) != (is_pow ? 2 : 3) || ctx.is_output(d)) return false;
  const std::string x = sub->inputs[0];
  Node* mean = ctx.producer(sub->inputs[1]);
  if (!is_op(mean, "ReduceMean", 1) || mean->inputs[0] != x || ctx.sole_consumer(mean->outputs[0]) != sub) return false;

  const ValueType* xt = ctx.type(x);
  if (!xt || !xt->shape.rank_known || xt->shape.rank() < 1) return false;
  if (xt->dtype != DType::Float32 && xt->dtype != DType::Float64) return false;
  int64_t rank = xt->shape.rank();
  std::vector<int64_t> axes = mean_axes(ctx, *mean, rank);
  if (axes.empty() || axes != mean_axes(ctx, *var, rank)) return false;
  int64_t axis = axes.front();
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != axis + int64_t(i) || axes.back() != rank - 1) return false;
  Dims norm_dims;
  for (int64_t i = axis; i < rank; ++i) {
    if (!xt->shape.dims[size_t(i)].known()) return false;
    norm_dims.push_back(xt->shape.dims[size_t(i)].value);
  }

  // Optional affine tail.
  std::vector<Node*> retired = {mean, sub, sq, var, add_eps, sqrt};
  Node* last = &div;
  Tensor gamma, beta;
  if (Node* mul = ctx.sole_consumer(div.outputs[0]); is_op(mul, "Mul", 2)) {
    int o = other_operand(*mul, div.outputs[0]);
    const Tensor* g = o < 0 ? nullptr : ctx.constant(mul->inputs[size_t(o)]);
    if (g) gamma = as_norm_param(*g, norm_dims, xt->dtype, div);
    if (gamma.defined()) {
      retired.push_back(last);
      last = mul;
    }
  }
  if (gamma.defined())
    if (Node* add = ctx.sole_consumer(last->outputs[0]); is_op(add, "Add", 2)) {
      int o = other_operand(*add, last->outputs[0]);
      const Tensor* b = o < 0 ? nullptr : ctx.constant(add->inputs[size_t(o)]);
      if (b) beta = as_norm_param(*b, norm_dims, xt->dtype, div);
      if (beta.defined()) {
        retired.push_back(last);
        last = add;
      }
    }
  if (!gamma.defined()) {
    gamma = Tensor(xt->dtype, norm_dims);
    visit_dtype(xt->dtype, [&]<typename T>() {
      if constexpr (std::is_floating_point_v<T>) std::fill_n(gamma.data<T>(), gamma.numel(), T(1));
    });
  }
  std::string prefix = div.name.empty() ? "layer_norm" : div.name;
  std::vector<std::string> inputs = {x, ctx.add_constant(prefix + "_scale", gamma)};
  if (beta.defined()) inputs.push_back(ctx.add_constant(prefix + "_bias", beta));
  for (Node* n : retired) ctx.retire(n);
  last->op_type = "LayerNormalization";
  last->domain = "";
  last->op_version = 17;
  last->inputs = inputs;
  last->attrs.clear();
  last->attrs["axis"] = Attribute{axis};
  last->attrs["epsilon"] = Attribute{float(eps)};
  return true;
}

}  // namespace wafer
