// Scaled dot-product attention -> wafer.Attention(Q, K, V, Mask?). Matched
// from the Softmax (over the last axis):
//   s = MatMul(Q', Kt')          Q' = Q | Div(Q, c) | Mul(Q, c), Kt' likewise
//   s = Div(s, c) | Mul(s, c)    optional (Mul in either operand order)
//   s = Add(s, mask)             optional, either order; must not broadcast s
//   y = MatMul(Softmax(s), V)
// scale = the product of all the scalings. Q [B,H,S,D], Kt [B,H,D,Sk],
// V [B,H,Sk,Dv], all of rank 4 with the same B and H; or all of rank 3
// ([B*H,S,D], as torch's nn.MultiheadAttention exports): then Q, K, V get an
// Unsqueeze of axis 0 and the output a Squeeze, keeping the op's 4-D contract.
// K: when Kt is Transpose(x, perm), K = Transpose(x, perm with its last two
// entries swapped), or x itself when that is the identity; otherwise
// K = Transpose(Kt) swapping the last two dims. The head split/merge
// Reshape/Transpose around the block stay ordinary nodes.
#include <numeric>

#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseAttention::anchors() const {
  return {{"", "Softmax"}};
}

namespace {

bool is_op(const Node* n, const char* op, size_t inputs) {
  return n && n->domain.empty() && n->op_type == op && n->inputs.size() == inputs && n->outputs.size() == 1;
}

const ValueType* f32_of_rank(const RewriteContext& ctx, const std::string& v, int64_t rank) {
  const ValueType* t = ctx.type(v);
  return t && t->dtype == DType::Float32 && t->shape.rank_known && t->shape.rank() == rank ? t : nullptr;
}

// When `v` is made by Div(x, c) / Mul(x, c) / Mul(c, x) (c a nonzero scalar
// constant) read only by `reader`: that node, with x and the factor.
Node* scaling(const RewriteContext& ctx, const std::string& v, const Node* reader, std::string& x, double& factor) {
  Node* n = ctx.producer(v);
  if (!(is_op(n, "Div", 2) || is_op(n, "Mul", 2)) || ctx.sole_consumer(v) != reader) return nullptr;
  double c = 0;
  int src = -1;
  if (constant_scalar(ctx, n->inputs[1], c))
    src = 0;
  else if (n->op_type == "Mul" && constant_scalar(ctx, n->inputs[0], c))
    src = 1;
  if (src < 0 || c == 0) return nullptr;
  x = n->inputs[size_t(src)];
  factor = n->op_type == "Div" ? 1.0 / c : c;
  return n;
}

// The Q.Kt MatMul behind the scores `v` (after an optional scaling), or nullptr.
Node* trace_scores(const RewriteContext& ctx, const std::string& v, const Node* reader, double& scale,
                   std::vector<Node*>& chain) {
  std::string x = v;
  double f = 1.0;
  if (Node* s = scaling(ctx, v, reader, x, f)) {
    chain.push_back(s);
    reader = s;
  }
  Node* mm = ctx.producer(x);
  if (!is_op(mm, "MatMul", 2) || ctx.sole_consumer(x) != reader) return nullptr;
  scale = f;
  chain.push_back(mm);
  return mm;
}

std::string add_axes_const(RewriteContext& ctx) {
  return ctx.add_constant("attention_axis0", Tensor::from_vector<int64_t>({1}, {0}));
}

}  // namespace

bool FuseAttention::rewrite(RewriteContext& ctx, Node& sm) {
  if (!is_op(&sm, "Softmax", 1)) return false;
  const ValueType* st = ctx.type(sm.inputs[0]);
  if (!st || st->dtype != DType::Float32 || !st->shape.rank_known) return false;
  const int64_t rank = st->shape.rank();
  if (rank != 3 && rank != 4) return false;
  // Before opset 13 Softmax flattens from `axis` (default 1); with axis = rank-1 that is the last axis too.
  int64_t axis = sm.attr_int("axis", sm.op_version >= 13 ? -1 : 1);
  if (axis != -1 && axis != rank - 1) return false;

  std::vector<Node*> chain = {&sm};
  std::string mask;
  double scale = 1.0;
  Node* qk = nullptr;
  Node* p = ctx.producer(sm.inputs[0]);
  if (is_op(p, "Add", 2) && ctx.sole_consumer(p->outputs[0]) == &sm) {
    for (int i = 0; i < 2 && !qk; ++i) {
      std::vector<Node*> c = {p};
      Node* m = trace_scores(ctx, p->inputs[size_t(i)], p, scale, c);
      const ValueType* scores = m ? ctx.type(p->inputs[size_t(i)]) : nullptr;
      const ValueType* mt = ctx.type(p->inputs[size_t(1 - i)]);
      // The mask may broadcast to the scores, never the other way.
      if (m && scores && mt && mt->dtype == DType::Float32 && mt->shape.rank_known && mt->shape.rank() <= rank &&
          *scores == *st) {
        qk = m;
        mask = p->inputs[size_t(1 - i)];
        chain.insert(chain.end(), c.begin(), c.end());
      }
    }
  } else {
    qk = trace_scores(ctx, sm.inputs[0], &sm, scale, chain);
  }
  if (!qk) return false;
  Node* out = ctx.sole_consumer(sm.outputs[0]);
  if (!is_op(out, "MatMul", 2) || out->inputs[0] != sm.outputs[0] || out->inputs[1] == sm.outputs[0]) return false;

  // Scalings of Q or Kt before the MatMul.
  std::string q = qk->inputs[0], kt = qk->inputs[1];
  for (std::string* operand : {&q, &kt}) {
    std::string x;
    double f = 1.0;
    if (q == kt) break;
    if (Node* s = scaling(ctx, *operand, qk, x, f)) {
      chain.push_back(s);
      scale *= f;
      *operand = x;
    }
  }
  const std::string v = out->inputs[1];
  const ValueType *qt = f32_of_rank(ctx, q, rank), *ktt = f32_of_rank(ctx, kt, rank), *vt = f32_of_rank(ctx, v, rank);
  if (!qt || !ktt || !vt || !f32_of_rank(ctx, out->outputs[0], rank)) return false;
  for (size_t i = 0; i + 2 < size_t(rank); ++i) {
    const Dim& d = qt->shape.dims[i];
    if (!(d.known() || !d.symbol.empty()) || ktt->shape.dims[i] != d || vt->shape.dims[i] != d) return false;
  }

  Graph& g = ctx.graph();
  const std::string base = out->name.empty() ? "attention" : out->name;
  auto add_node = [&](const std::string& op, std::vector<std::string> in, const std::string& hint) -> Node& {
    std::string o = g.unique_name(hint);
    Node& n = g.add_node(op, std::move(in), {o}, g.unique_name(base + "_" + op));
    n.op_version = 13;
    return n;
  };
  std::vector<int64_t> swap_last(static_cast<size_t>(rank));
  std::iota(swap_last.begin(), swap_last.end(), 0);
  std::swap(swap_last[size_t(rank - 2)], swap_last[size_t(rank - 1)]);
  std::string k;
  Node* tr = ctx.producer(kt);
  std::vector<int64_t> perm =
      tr && is_op(tr, "Transpose", 1) ? tr->attr_ints("perm", std::vector<int64_t>{}) : std::vector<int64_t>{};
  if (perm.size() == size_t(rank)) {
    // Kt = Transpose(x, perm), so K = Transpose(x, perm with the last two entries swapped).
    std::swap(perm[size_t(rank - 2)], perm[size_t(rank - 1)]);
    std::vector<int64_t> identity(static_cast<size_t>(rank));
    std::iota(identity.begin(), identity.end(), 0);
    if (perm == identity) {
      k = tr->inputs[0];  // the old Transpose goes when DCE finds it unread
    } else {
      Node& t = add_node("Transpose", {tr->inputs[0]}, kt + "_k");
      t.attrs["perm"] = Attribute{perm};
      k = t.outputs[0];
    }
  } else {
    Node& t = add_node("Transpose", {kt}, kt + "_k");
    t.attrs["perm"] = Attribute{swap_last};
    k = t.outputs[0];
  }
  for (Node* n : chain) ctx.retire(n);
  std::vector<std::string> ins = {q, k, v};
  std::string y = out->outputs[0];
  if (rank == 3) {
    std::string axes = add_axes_const(ctx);
    for (auto& in : ins) in = add_node("Unsqueeze", {in, axes}, in + "_4d").outputs[0];
    std::string y4 = g.unique_name(y + "_4d");
    add_node("Squeeze", {y4, axes}, y + "_squeezed").outputs[0] = y;
    out->outputs[0] = y4;
  }
  if (!mask.empty()) ins.push_back(mask);
  out->inputs = ins;
  out->attrs.clear();
  out->attrs["scale"] = Attribute{float(scale)};
  become_wafer_op(*out, "Attention");
  return true;
}

}  // namespace wafer
