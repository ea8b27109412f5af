// Grouped-query attention (Ainslie et al. 2023, "GQA"): each K/V head serves `rep` query heads. Exporters
// write it as a copy of K and V per query head before ordinary attention (Llama in Hugging Face:
// repeat_kv = Unsqueeze(2) -> Expand -> Reshape), which re-copies the whole KV cache rep times per layer
// and per decode step. Matched at a wafer.Attention whose K and V are both
//   Reshape(Expand(Unsqueeze(x [B,G,T,D]) [B,G,1,T,D]) [B,G,rep,T,D]) [B,G*rep,T,D]
// (the shapes, all static, pin the semantics), with one rep for both, and whose mask (if any) is the
// same for every head and every query row (dims 1 and 2 of size 1: a decode step's padding mask, or any
// mask when S = 1). Then the query heads of one group are consecutive, so Q [B,G*rep,S,D] read as
// [B,G,rep*S,D] (a free Reshape) attends to the G original K/V heads directly:
//   Y = Reshape(Attention(Reshape(Q, [B,G,rep*S,D]), x_K, x_V, mask), [B,G*rep,S,Dv]).
// A mask that differs between rows or heads (a causal prefill) keeps Q as it is and gives the Attention the
// G K/V heads themselves (wafer.Attention reads K/V head h / rep for query head h).
// The Expand copies go when dead-code elimination finds them unread.
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseGroupedQueryAttention::anchors() const {
  return {{kWaferDomain, "Attention"}};
}

namespace {

bool static_dims(const ValueType* t, size_t rank, std::vector<int64_t>& dims) {
  if (!t || !t->shape.rank_known || t->shape.dims.size() != rank) return false;
  dims.clear();
  for (const Dim& d : t->shape.dims) {
    if (!d.known()) return false;
    dims.push_back(d.value);
  }
  return true;
}

bool is_op(const Node* n, const char* op) {
  return n && n->domain.empty() && n->op_type == op && n->outputs.size() == 1 && !n->inputs.empty();
}

// The source x [B,G,T,D] and rep when `v` is the repeat_kv chain above; empty otherwise.
std::string repeated_kv(const RewriteContext& ctx, const std::string& v, int64_t& rep) {
  const Node* reshape = ctx.producer(v);
  if (!is_op(reshape, "Reshape")) return {};
  const Node* expand = ctx.producer(reshape->inputs[0]);
  if (!is_op(expand, "Expand")) return {};
  const Node* unsqueeze = ctx.producer(expand->inputs[0]);
  if (!is_op(unsqueeze, "Unsqueeze")) return {};
  const std::string& x = unsqueeze->inputs[0];
  std::vector<int64_t> xd, ud, ed, kd;
  if (!static_dims(ctx.type(x), 4, xd) || !static_dims(ctx.type(unsqueeze->outputs[0]), 5, ud) ||
      !static_dims(ctx.type(expand->outputs[0]), 5, ed) || !static_dims(ctx.type(v), 4, kd))
    return {};
  const int64_t b = xd[0], g = xd[1], t = xd[2], d = xd[3], r = ed[2];
  if (ud != std::vector<int64_t>{b, g, 1, t, d} || ed != std::vector<int64_t>{b, g, r, t, d} ||
      kd != std::vector<int64_t>{b, g * r, t, d} || r < 2)
    return {};
  rep = r;
  return x;
}

}  // namespace

bool FuseGroupedQueryAttention::rewrite(RewriteContext& ctx, Node& att) {
  if (att.inputs.size() < 3 || att.outputs.size() != 1) return false;
  int64_t rep_k = 0, rep_v = 0;
  const std::string k = repeated_kv(ctx, att.inputs[1], rep_k), v = repeated_kv(ctx, att.inputs[2], rep_v);
  if (k.empty() || v.empty() || rep_k != rep_v) return false;
  std::vector<int64_t> qd, yd;
  if (!static_dims(ctx.type(att.inputs[0]), 4, qd) || !static_dims(ctx.type(att.outputs[0]), 4, yd)) return false;
  const int64_t rep = rep_k, groups = qd[1] / rep;
  bool uniform_mask = true;
  if (att.inputs.size() > 3 && !att.inputs[3].empty()) {
    const ValueType* mt = ctx.type(att.inputs[3]);
    if (!mt || !mt->shape.rank_known || mt->shape.rank() > 4) return false;
    // Right-aligned to [B,H,S,Sk]: the head and row dims (where present) must be 1.
    const auto& md = mt->shape.dims;
    for (int64_t axis : {1, 2}) {
      int64_t i = int64_t(md.size()) - 4 + axis;
      if (i >= 0 && !(md[size_t(i)].known() && md[size_t(i)].value == 1)) uniform_mask = false;
    }
  }
  if (!uniform_mask) {  // a causal prefill mask: K/V heads read directly, query head h from K/V head h / rep
    att.inputs[1] = k;
    att.inputs[2] = v;
    return true;
  }

  Graph& g = ctx.graph();
  auto reshape = [&](const std::string& in, std::vector<int64_t> dims, const std::string& hint) {
    std::string shape = ctx.add_constant(hint + "_shape", Tensor::from_vector<int64_t>({4}, dims));
    std::string out = g.unique_name(hint);
    Node& n = g.add_node("Reshape", {in, shape}, {out}, g.unique_name(att.name + "_gqa_reshape"));
    n.op_version = 13;
    return out;
  };
  att.inputs[0] = reshape(att.inputs[0], {qd[0], groups, rep * qd[2], qd[3]}, att.inputs[0] + "_grouped");
  att.inputs[1] = k;
  att.inputs[2] = v;
  const std::string y = att.outputs[0];
  att.outputs[0] = g.unique_name(y + "_grouped");
  Node& back =
      g.add_node("Reshape", {att.outputs[0], ctx.add_constant(y + "_shape", Tensor::from_vector<int64_t>({4}, yd))},
                 {y}, g.unique_name(att.name + "_gqa_ungroup"));
  back.op_version = 13;
  return true;
}

}  // namespace wafer
