// Reshape(MatMul(A, W)) -> MatMul(Reshape(A), W) when the Reshape keeps the
// last dim: it only regroups the output rows, which are A's rows times W in
// the same order. torch's seq-first attention ends in
//   Gemm (out proj, [S*B, E]) -> Reshape [S, B, E] -> Transpose -> Add(residual)
// and with the Reshape above the matmul (and the Transpose a Reshape, see
// simplify_reshape.cpp) the residual Add follows the matmul directly, so
// fuse-matmul absorbs it as Sum. W must be 2-D (no batch dims to line up);
// a FusedMatMul with a Sum keeps its Reshape (the Sum has the old shape).
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> HoistReshape::anchors() const {
  return {{"", "Reshape"}};
}

namespace {

std::optional<Dims> static_dims(const RewriteContext& ctx, const std::string& v) {
  if (const Tensor* c = ctx.constant(v)) return c->dims();
  const ValueType* t = ctx.type(v);
  if (!t || !t->shape.fully_known()) return std::nullopt;
  return t->shape.concrete();
}

}  // namespace

bool HoistReshape::rewrite(RewriteContext& ctx, Node& r) {
  if (r.outputs.size() != 1 || !r.has_input(0)) return false;
  Node* mm = ctx.producer(r.inputs[0]);
  if (!mm || mm->outputs.size() != 1 || mm->inputs.size() < 2) return false;
  bool matmul = mm->domain.empty() && mm->op_type == "MatMul" && mm->inputs.size() == 2;
  bool fused = mm->domain == kWaferDomain && mm->op_type == "FusedMatMul" && !mm->has_input(3);
  if ((!matmul && !fused) || ctx.sole_consumer(r.inputs[0]) != &r) return false;
  auto a = static_dims(ctx, mm->inputs[0]), w = static_dims(ctx, mm->inputs[1]);
  auto y = static_dims(ctx, mm->outputs[0]), z = static_dims(ctx, r.outputs[0]);
  if (!a || !w || !y || !z || a->size() < 2 || w->size() != 2 || z->size() < 2 || z->back() != y->back() ||
      element_count(*y) == 0)
    return false;
  Dims a2 = *z;
  a2.back() = a->back();
  Graph& g = ctx.graph();
  std::string shape = ctx.add_constant(r.outputs[0] + "_rows", Tensor::from_vector<int64_t>({int64_t(a2.size())}, a2));
  std::string a_new = g.unique_name(mm->inputs[0] + "_rows");
  Node& re = g.add_node("Reshape", {mm->inputs[0], shape}, {a_new}, g.unique_name(r.name + "_hoisted"));
  re.op_version = 13;
  g.types[a_new] = ValueType{ctx.type(mm->inputs[0])->dtype, Shape::from(a2)};
  mm->inputs[0] = a_new;
  mm->outputs[0] = r.outputs[0];
  ctx.retire(&r);
  return true;
}

}  // namespace wafer
