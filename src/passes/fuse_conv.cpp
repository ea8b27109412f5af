// Conv -> wafer.FusedConv: bias Add, residual Add (Sum) and activation, one
// absorbed reader per rewrite, so Conv -> Add(bias) -> Add(residual) -> Relu
// ends as one FusedConv after three rewrites of the fixed point. Every float32
// Conv becomes a FusedConv, with nothing to absorb too.
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseConv::anchors() const {
  return {{"", "Conv"}, {kWaferDomain, "FusedConv"}};
}

bool FuseConv::rewrite(RewriteContext& ctx, Node& conv) {
  if (conv.outputs.size() != 1 || conv.inputs.size() < 2) return false;
  const ValueType* yt = ctx.type(conv.outputs[0]);
  if (!yt || yt->dtype != DType::Float32) return false;
  ValueType y = *yt;
  // A bias-like constant varies along the channel axis (1) only: [M,1,1], [1,M,1,1], or a scalar.
  auto bias_of = [&](const Tensor& c) { return bias_along_axis(c, y, 1); };
  bool absorbed = absorb_epilogue(ctx, conv, bias_of, parts_);
  // Every float32 Conv becomes a FusedConv, so the CPU backend has one conv op to run.
  if (conv.domain.empty()) {
    become_wafer_op(conv, "FusedConv");
    if (!conv.has_attr("activation")) conv.attrs["activation"] = Attribute{std::string()};
    return true;
  }
  return absorbed;
}

}  // namespace wafer
