// Decomposed RMS norm -> wafer.RMSNorm (src/ops/rms_norm.cpp). Matched from the Sqrt:
//   v = ReduceMean(Pow(X, 2) | Mul(X, X), last axis, keepdims 1)
//   s = Sqrt(Add(v, eps) | Add(eps, v))
//   n = Mul(X, Div(1, s)) | Mul(X, Reciprocal(s)) | Div(X, s)    (Mul in either operand order)
//   y = Mul(n, gamma) | Mul(gamma, n)                              optional, gamma a constant [d]
// (torch's `weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))` exports the first form.)
// Every intermediate must have no other reader; X float32.
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseRmsNorm::anchors() const {
  return {{"", "Sqrt"}};
}

namespace {

bool is_op(const Node* n, const char* op, size_t inputs) {
  return n && n->domain.empty() && n->op_type == op && n->inputs.size() == inputs && n->outputs.size() == 1;
}

// X when `v` is Pow(X, 2) or Mul(X, X) read only by `reader`.
std::string squared(const RewriteContext& ctx, const std::string& v, const Node* reader) {
  Node* n = ctx.producer(v);
  if (ctx.sole_consumer(v) != reader) return {};
  double p = 0;
  if (is_op(n, "Pow", 2) && constant_scalar(ctx, n->inputs[1], p) && p == 2) return n->inputs[0];
  if (is_op(n, "Mul", 2) && n->inputs[0] == n->inputs[1]) return n->inputs[0];
  return {};
}

}  // namespace

bool FuseRmsNorm::rewrite(RewriteContext& ctx, Node& sqrt) {
  if (!is_op(&sqrt, "Sqrt", 1)) return false;
  // Upwards: Add(ReduceMean(X^2), eps).
  Node* add = ctx.producer(sqrt.inputs[0]);
  if (!is_op(add, "Add", 2) || ctx.sole_consumer(add->outputs[0]) != &sqrt) return false;
  double eps = 0;
  int mean_at = constant_scalar(ctx, add->inputs[1], eps) ? 0 : constant_scalar(ctx, add->inputs[0], eps) ? 1 : -1;
  if (mean_at < 0 || eps < 0) return false;
  Node* mean = ctx.producer(add->inputs[size_t(mean_at)]);
  if (!mean || !mean->domain.empty() || mean->op_type != "ReduceMean" || mean->inputs.empty() ||
      ctx.sole_consumer(mean->outputs[0]) != add || mean->attr_int("keepdims", 1) != 1)
    return false;
  const std::string x = squared(ctx, mean->inputs[0], mean);
  const ValueType* xt = x.empty() ? nullptr : ctx.type(x);
  if (!xt || xt->dtype != DType::Float32 || !xt->shape.rank_known || xt->shape.rank() < 1) return false;
  const int64_t rank = xt->shape.rank();
  const Dim last = xt->shape.dims.back();
  if (!last.known()) return false;
  std::vector<int64_t> axes;
  if (mean->op_version >= 18) {
    const Tensor* t = mean->inputs.size() > 1 ? ctx.constant(mean->inputs[1]) : nullptr;
    if (!t) return false;
    axes = t->to_int_vector();
  } else {
    axes = mean->attr_ints("axes", std::vector<int64_t>{});
  }
  if (axes.size() != 1 || (axes[0] != -1 && axes[0] != rank - 1)) return false;
  Node* pow = ctx.producer(mean->inputs[0]);

  // Downwards: X * (1 / s), X * Reciprocal(s) or X / s.
  std::vector<Node*> chain = {pow, mean, add, &sqrt};
  Node* next = ctx.sole_consumer(sqrt.outputs[0]);
  Node* norm = nullptr;
  double one = 0;
  if (is_op(next, "Div", 2) && next->inputs[1] == sqrt.outputs[0] && next->inputs[0] == x) {
    norm = next;
  } else {
    bool inverse = (is_op(next, "Div", 2) && next->inputs[1] == sqrt.outputs[0] &&
                    constant_scalar(ctx, next->inputs[0], one) && one == 1) ||
                   is_op(next, "Reciprocal", 1);
    if (!inverse) return false;
    chain.push_back(next);
    Node* mul = ctx.sole_consumer(next->outputs[0]);
    if (!is_op(mul, "Mul", 2) || other_operand(*mul, next->outputs[0]) < 0 ||
        mul->inputs[size_t(other_operand(*mul, next->outputs[0]))] != x)
      return false;
    norm = mul;
  }
  const ValueType* nt = ctx.type(norm->outputs[0]);
  if (!nt || !(*nt == *xt)) return false;

  // The optional gain: a constant with d elements, broadcast over the rows only.
  std::string gamma, y = norm->outputs[0];
  Node* gain = ctx.sole_consumer(norm->outputs[0]);
  if (is_op(gain, "Mul", 2) && other_operand(*gain, norm->outputs[0]) >= 0) {
    const std::string& c = gain->inputs[size_t(other_operand(*gain, norm->outputs[0]))];
    const Tensor* t = ctx.constant(c);
    const ValueType* gt = ctx.type(gain->outputs[0]);
    bool rows_only = t && t->dtype() == DType::Float32 && t->numel() == last.value && t->rank() <= rank &&
                     (t->rank() == 0 || t->dims().back() == last.value) && gt && *gt == *xt;
    if (rows_only) {
      gamma = ctx.add_constant(c + "_rms_gain", t->reshaped({last.value}));
      chain.push_back(norm);
      norm = gain;
      y = gain->outputs[0];
    }
  }
  if (gamma.empty())
    gamma = ctx.add_constant(x + "_rms_gain",
                             Tensor::from_vector<float>({last.value}, std::vector<float>(size_t(last.value), 1.f)));
  for (Node* n : chain) ctx.retire(n);
  norm->inputs = {x, gamma};
  norm->attrs.clear();
  norm->attrs["epsilon"] = Attribute{float(eps)};
  become_wafer_op(*norm, "RMSNorm");
  return true;
}

}  // namespace wafer
