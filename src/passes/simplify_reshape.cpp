// Layout nodes that move no data become Reshapes, so the cpu backend runs them
// as zero-copy views instead of copies:
//   Transpose(x, perm) whose perm keeps the order of x's dims of size > 1
//     (it only moves dims of size 1, e.g. [1,128,768] perm (1,0,2) -> [128,1,768])
//     -> Reshape(x, output dims)
//   Reshape(Reshape(x)) where the inner result has no other reader
//     -> Reshape(x, output dims)
// The new shape is a constant of the static output dims (no 0 or -1 entries,
// whose meaning would depend on the input), so both need known shapes.
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> SimplifyReshape::anchors() const {
  return {{"", "Transpose"}, {"", "Reshape"}};
}

namespace {

const ValueType* static_type(const RewriteContext& ctx, const std::string& v) {
  const ValueType* t = ctx.type(v);
  return t && t->shape.fully_known() ? t : nullptr;
}

// Whether the permutation keeps the relative order of the dims of size > 1.
bool moves_only_unit_dims(const Dims& in, const std::vector<int64_t>& perm) {
  int64_t last = -1;
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(in.size())) return false;
    if (in[size_t(p)] == 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

void become_reshape(RewriteContext& ctx, Node& n, const std::string& x, const Dims& out) {
  std::string shape =
      ctx.add_constant(n.outputs[0] + "_shape", Tensor::from_vector<int64_t>({int64_t(out.size())}, out));
  n.op_type = "Reshape";
  n.op_version = 13;
  n.inputs = {x, shape};
  n.attrs.clear();
}

}  // namespace

bool SimplifyReshape::rewrite(RewriteContext& ctx, Node& n) {
  if (n.outputs.size() != 1 || !n.has_input(0) || !n.domain.empty()) return false;
  const ValueType *xt = static_type(ctx, n.inputs[0]), *yt = static_type(ctx, n.outputs[0]);
  if (!xt || !yt) return false;
  Dims xd = xt->shape.concrete(), yd = yt->shape.concrete();
  if (element_count(yd) == 0 || element_count(xd) != element_count(yd)) return false;
  if (n.op_type == "Transpose") {
    std::vector<int64_t> perm(xd.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int64_t(perm.size() - 1 - i);  // default: reverse
    if (n.has_attr("perm")) perm = n.attr_ints("perm");
    if (perm.size() != xd.size() || !moves_only_unit_dims(xd, perm)) return false;
    become_reshape(ctx, n, n.inputs[0], yd);
    return true;
  }
  Node* inner = ctx.producer(n.inputs[0]);
  if (!inner || !inner->domain.empty() || inner->op_type != "Reshape" || !inner->has_input(0) ||
      ctx.sole_consumer(n.inputs[0]) != &n || !static_type(ctx, inner->inputs[0]))
    return false;
  std::string x = inner->inputs[0];
  ctx.retire(inner);
  become_reshape(ctx, n, x, yd);
  return true;
}

}  // namespace wafer
