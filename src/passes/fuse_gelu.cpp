// Erf-form GELU -> wafer.Gelu. Matched from the Erf:
//   h = Div(x, sqrt2) | Mul(x, 1/sqrt2) | Mul(1/sqrt2, x);  e = Erf(h);  a = Add(e, 1) | Add(1, e)
// and then one of (each Mul in either operand order):
//   Mul(Mul(x, a), 0.5)      Mul(Mul(a, 0.5), x)      Mul(Mul(x, 0.5), a)
// Every intermediate must have no other reader. A GELU right after a MatMul
// becomes wafer.Gelu too; fuse-matmul then folds it into FusedMatMul.
#include <cmath>

#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseGelu::anchors() const {
  return {{"", "Erf"}};
}

namespace {

bool is_op(const Node* n, const char* op) {
  return n && n->domain.empty() && n->op_type == op && n->inputs.size() == 2 && n->outputs.size() == 1;
}

// When `n` is Mul(v, c) or Mul(c, v) with c a constant near `value`: v, else "".
std::string mul_by(const RewriteContext& ctx, const Node* n, double value) {
  if (!is_op(n, "Mul")) return {};
  for (int i = 0; i < 2; ++i) {
    double c = 0;
    if (constant_scalar(ctx, n->inputs[size_t(i)], c) && near(c, value)) return n->inputs[size_t(1 - i)];
  }
  return {};
}

}  // namespace

bool FuseGelu::rewrite(RewriteContext& ctx, Node& erf) {
  const double sqrt2 = std::sqrt(2.0);
  if (erf.inputs.size() != 1 || erf.outputs.size() != 1) return false;
  Node* h = ctx.producer(erf.inputs[0]);
  if (!h || ctx.sole_consumer(h->outputs[0]) != &erf) return false;
  std::string x;
  double c = 0;
  if (is_op(h, "Div") && constant_scalar(ctx, h->inputs[1], c) && near(c, sqrt2)) x = h->inputs[0];
  if (x.empty()) x = mul_by(ctx, h, 1.0 / sqrt2);
  if (x.empty()) return false;

  Node* add = ctx.sole_consumer(erf.outputs[0]);
  if (!is_op(add, "Add")) return false;
  int o = other_operand(*add, erf.outputs[0]);
  if (o < 0 || !constant_scalar(ctx, add->inputs[size_t(o)], c) || !near(c, 1.0)) return false;
  const std::string a = add->outputs[0];
  Node* m1 = ctx.sole_consumer(a);
  if (!is_op(m1, "Mul")) return false;
  int mo = other_operand(*m1, a);
  if (mo < 0) return false;
  const std::string other = m1->inputs[size_t(mo)];

  Node* last = nullptr;
  std::vector<Node*> middle;
  if (other == x) {  // Mul(x, a) then * 0.5
    Node* m2 = ctx.sole_consumer(m1->outputs[0]);
    if (mul_by(ctx, m2, 0.5) != m1->outputs[0]) return false;
    middle = {m1};
    last = m2;
  } else if (double half = 0; constant_scalar(ctx, other, half) && near(half, 0.5)) {  // Mul(a, 0.5) then * x
    Node* m2 = ctx.sole_consumer(m1->outputs[0]);
    if (!is_op(m2, "Mul") || other_operand(*m2, m1->outputs[0]) < 0 ||
        m2->inputs[size_t(other_operand(*m2, m1->outputs[0]))] != x)
      return false;
    middle = {m1};
    last = m2;
  } else {  // Mul(Mul(x, 0.5), a)
    Node* hx = ctx.producer(other);
    if (!hx || ctx.sole_consumer(other) != m1 || mul_by(ctx, hx, 0.5) != x) return false;
    middle = {hx};
    last = m1;
  }
  for (Node* n : {h, &erf, add}) ctx.retire(n);
  for (Node* n : middle) ctx.retire(n);
  last->inputs = {x};
  last->attrs.clear();
  become_wafer_op(*last, "Gelu");
  return true;
}

}  // namespace wafer
