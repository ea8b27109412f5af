// Rotate-half rotary embedding -> wafer.RotaryEmbedding(X, cos, sin) (src/ops/rotary.cpp). Matched from
// the Add:
//   Add(Mul(X, cos), Mul(Concat(Neg(Slice(X, h:d)), Slice(X, 0:h), axis -1), sin))
// Adds and Muls in either operand order; the Slices on the last axis with constant bounds (step 1), d = X's
// last dim (static, even), h = d/2; cos and sin float32, broadcasting to X's shape. Every intermediate
// must have no other reader (the Slices and the Neg may be read only inside the pattern).
#include <algorithm>

#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseRotary::anchors() const {
  return {{"", "Add"}};
}

namespace {

bool is_op(const Node* n, const char* op) {
  return n && n->domain.empty() && n->op_type == op && n->outputs.size() == 1;
}

// [begin, end) of a Slice of `x` on its last axis (rank r, size d) with constant bounds and step 1.
bool last_axis_slice(const RewriteContext& ctx, const Node* n, const std::string& x, int64_t r, int64_t d,
                     int64_t& begin, int64_t& end) {
  if (!is_op(n, "Slice") || n->op_version < 10 || n->inputs.size() < 3 || n->inputs[0] != x) return false;
  const Tensor *s = ctx.constant(n->inputs[1]), *e = ctx.constant(n->inputs[2]);
  const Tensor* a = n->has_input(3) ? ctx.constant(n->inputs[3]) : nullptr;
  const Tensor* st = n->has_input(4) ? ctx.constant(n->inputs[4]) : nullptr;
  if (!s || !e || s->numel() != 1 || e->numel() != 1 || (n->has_input(3) && (!a || a->numel() != 1)) ||
      (n->has_input(4) && (!st || st->numel() != 1 || st->get_int(0) != 1)))
    return false;
  int64_t axis = a ? a->get_int(0) : 0;
  if (axis < 0) axis += r;
  if (axis != r - 1) return false;
  auto clamp = [d](int64_t v) { return std::clamp(v < 0 ? v + d : v, int64_t(0), d); };
  begin = clamp(s->get_int(0));
  end = clamp(e->get_int(0));
  return true;
}

// X when `v` is Concat(Neg(Slice(X, h:d)), Slice(X, 0:h)) on the last axis, its parts read only there.
std::string rotate_half_of(const RewriteContext& ctx, const std::string& v, std::vector<Node*>& chain) {
  Node* cat = ctx.producer(v);
  if (!is_op(cat, "Concat") || cat->inputs.size() != 2) return {};
  Node* neg = ctx.producer(cat->inputs[0]);
  Node* first = ctx.producer(cat->inputs[1]);
  if (!is_op(neg, "Neg") || !first || ctx.sole_consumer(neg->outputs[0]) != cat ||
      ctx.sole_consumer(first->outputs[0]) != cat)
    return {};
  Node* second = ctx.producer(neg->inputs[0]);
  if (!second || ctx.sole_consumer(second->outputs[0]) != neg || second->inputs.empty()) return {};
  const std::string x = second->inputs[0];
  const ValueType* xt = ctx.type(x);
  if (!xt || xt->dtype != DType::Float32 || !xt->shape.rank_known || xt->shape.rank() < 1) return {};
  const int64_t r = xt->shape.rank();
  const Dim last = xt->shape.dims.back();
  if (!last.known() || last.value % 2 != 0 || last.value == 0) return {};
  const int64_t d = last.value, h = d / 2;
  int64_t axis = cat->attr_int("axis");
  if (axis < 0) axis += r;
  int64_t b1 = 0, e1 = 0, b2 = 0, e2 = 0;
  if (axis != r - 1 || !last_axis_slice(ctx, second, x, r, d, b2, e2) || !last_axis_slice(ctx, first, x, r, d, b1, e1))
    return {};
  if (b2 != h || e2 != d || b1 != 0 || e1 != h) return {};
  chain.insert(chain.end(), {cat, neg, first, second});
  return x;
}

// Whether `t` broadcasts to `x`'s static shape (never the other way) and covers its last axis exactly.
bool broadcasts_to(const ValueType& t, const ValueType& x) {
  const auto &td = t.shape.dims, &xd = x.shape.dims;
  if (td.empty() || td.size() > xd.size() || !(td.back() == xd.back())) return false;
  for (size_t i = 0; i < td.size(); ++i) {
    const Dim &a = td[td.size() - 1 - i], &b = xd[xd.size() - 1 - i];
    if (!a.known() || !b.known() || (a.value != b.value && a.value != 1)) return false;
  }
  return true;
}

// The other operand of a two-input Mul read only by `reader` that has `v` as one operand.
bool mul_with(const RewriteContext& ctx, const std::string& m, const Node* reader, Node*& mul) {
  mul = ctx.producer(m);
  return is_op(mul, "Mul") && mul->inputs.size() == 2 && ctx.sole_consumer(m) == reader;
}

}  // namespace

bool FuseRotary::rewrite(RewriteContext& ctx, Node& add) {
  if (!is_op(&add, "Add") || add.inputs.size() != 2) return false;
  for (int rot_at = 0; rot_at < 2; ++rot_at) {
    Node *plain = nullptr, *rotated = nullptr;
    if (!mul_with(ctx, add.inputs[size_t(1 - rot_at)], &add, plain) ||
        !mul_with(ctx, add.inputs[size_t(rot_at)], &add, rotated) || plain == rotated)
      continue;
    for (int half_at = 0; half_at < 2; ++half_at) {
      std::vector<Node*> chain;
      const std::string x = rotate_half_of(ctx, rotated->inputs[size_t(half_at)], chain);
      if (x.empty()) continue;
      const std::string sin = rotated->inputs[size_t(1 - half_at)];
      int x_at = plain->inputs[0] == x ? 0 : plain->inputs[1] == x ? 1 : -1;
      if (x_at < 0) continue;
      const std::string cos = plain->inputs[size_t(1 - x_at)];
      const ValueType *xt = ctx.type(x), *yt = ctx.type(add.outputs[0]), *ct = ctx.type(cos), *st = ctx.type(sin);
      if (!yt || !(*yt == *xt) || !ct || !st || ct->dtype != DType::Float32 || st->dtype != DType::Float32 ||
          !ct->shape.rank_known || !st->shape.rank_known)
        continue;
      if (!broadcasts_to(*ct, *xt) || !broadcasts_to(*st, *xt)) continue;
      chain.push_back(plain);
      chain.push_back(rotated);
      for (Node* n : chain) ctx.retire(n);
      add.inputs = {x, cos, sin};
      add.attrs.clear();
      become_wafer_op(add, "RotaryEmbedding");
      return true;
    }
  }
  return false;
}

}  // namespace wafer
