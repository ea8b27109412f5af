// SiLU -> wafer.Silu: Mul(x, Sigmoid(x)) | Mul(Sigmoid(x), x), the Sigmoid read only by the Mul (the
// gate of SwiGLU, torch's F.silu exported). After a MatMul, fuse_matmul then folds wafer.Silu into
// FusedMatMul's activation (oneDNN's swish post-op), as it does wafer.Gelu.
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseSilu::anchors() const {
  return {{"", "Sigmoid"}};
}

bool FuseSilu::rewrite(RewriteContext& ctx, Node& sigmoid) {
  if (sigmoid.inputs.size() != 1 || sigmoid.outputs.size() != 1) return false;
  const std::string& x = sigmoid.inputs[0];
  const ValueType* xt = ctx.type(x);
  if (!xt || xt->dtype != DType::Float32) return false;
  Node* mul = ctx.sole_consumer(sigmoid.outputs[0]);
  if (!mul || !mul->domain.empty() || mul->op_type != "Mul" || mul->inputs.size() != 2 || mul->outputs.size() != 1)
    return false;
  int other = other_operand(*mul, sigmoid.outputs[0]);
  if (other < 0 || mul->inputs[size_t(other)] != x) return false;
  ctx.retire(&sigmoid);
  mul->inputs = {x};
  mul->attrs.clear();
  become_wafer_op(*mul, "Silu");
  return true;
}

}  // namespace wafer
