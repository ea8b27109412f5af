#include "passes/fuse_hardswish.h"

namespace wafer {
namespace {

// Clip's bound `i` (1 min, 2 max): an input from opset 11, an attribute before.
bool clip_bound(const RewriteContext& ctx, const Node& clip, size_t i, double& value) {
  if (clip.op_version >= 11) return clip.has_input(i) && constant_scalar(ctx, clip.inputs[i], value);
  const char* attr = i == 1 ? "min" : "max";
  if (!clip.has_attr(attr)) return false;
  value = clip.attr_float(attr);
  return true;
}

bool is_op(const Node* n, const char* op) {
  return n && n->domain.empty() && n->op_type == op && n->inputs.size() == 2 && n->outputs.size() == 1;
}

}  // namespace

bool FuseHardSwish::rewrite(RewriteContext& ctx, Node& clip) {
  double lo = 0, hi = 0, three = 0, six = 0;
  if (clip.inputs.empty() || clip.outputs.size() != 1 || !clip_bound(ctx, clip, 1, lo) ||
      !clip_bound(ctx, clip, 2, hi) || lo != 0 || hi != 6)
    return false;
  Node* add = ctx.producer(clip.inputs[0]);
  if (!is_op(add, "Add") || ctx.sole_consumer(add->outputs[0]) != &clip) return false;
  int c = -1;
  for (int k = 0; k < 2; ++k)
    if (constant_scalar(ctx, add->inputs[size_t(k)], three) && three == 3) c = k;
  if (c < 0) return false;
  const std::string x = add->inputs[size_t(1 - c)];
  const ValueType* xt = ctx.type(x);
  if (!xt || xt->dtype != DType::Float32) return false;
  Node* mul = ctx.sole_consumer(clip.outputs[0]);
  if (!is_op(mul, "Mul")) return false;
  int other = other_operand(*mul, clip.outputs[0]);
  if (other < 0 || mul->inputs[size_t(other)] != x) return false;
  Node* div = ctx.sole_consumer(mul->outputs[0]);
  if (!is_op(div, "Div") || div->inputs[0] != mul->outputs[0] || !constant_scalar(ctx, div->inputs[1], six) || six != 6)
    return false;
  ctx.retire(add);
  ctx.retire(&clip);
  ctx.retire(mul);
  div->op_type = "HardSwish";
  div->op_version = 14;
  div->inputs = {x};
  div->attrs.clear();
  return true;
}

}  // namespace wafer
