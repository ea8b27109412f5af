// MatMul / Gemm -> wafer.FusedMatMul: bias Add (constant over the last dim),
// residual Add (Sum) and activation, one absorbed reader per rewrite. Gemm is
// rewritten on its own first (alpha = beta = 1, transA = 0): C becomes the
// Bias (a constant broadcast over rows) or Sum (a value of the output's type).
#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FuseMatMul::anchors() const {
  return {{"", "MatMul"}, {"", "Gemm"}, {kWaferDomain, "FusedMatMul"}};
}

namespace {

bool rewrite_gemm(RewriteContext& ctx, Node& gemm) {
  if (gemm.op_version < 7 || gemm.outputs.size() != 1 || gemm.inputs.size() < 2) return false;
  if (gemm.attr_float("alpha", 1.0f) != 1.0f || gemm.attr_int("transA", 0) != 0) return false;
  const ValueType* yt = ctx.type(gemm.outputs[0]);
  if (!yt || yt->dtype != DType::Float32 || !yt->shape.rank_known || yt->shape.rank() != 2) return false;
  std::string bias, sum;
  if (gemm.has_input(2)) {
    if (gemm.attr_float("beta", 1.0f) != 1.0f) return false;
    const std::string& c = gemm.inputs[2];
    if (const Tensor* t = ctx.constant(c)) {
      Tensor b = bias_along_axis(*t, *yt, 1);
      if (b.defined()) {
        bias = ctx.add_constant(gemm.name + "_bias", b);
      } else if (yt->shape.fully_known() && t->dims() == yt->shape.concrete() && t->dtype() == yt->dtype) {
        sum = c;
      } else {
        return false;
      }
    } else {
      const ValueType* ct = ctx.type(c);
      if (!ct || !(*ct == *yt)) return false;
      sum = c;
    }
  }
  int64_t trans_b = gemm.attr_int("transB", 0);
  gemm.attrs.erase("alpha");
  gemm.attrs.erase("beta");
  gemm.attrs.erase("transA");
  gemm.attrs.erase("transB");
  gemm.attrs["trans_b"] = Attribute{trans_b};
  gemm.attrs["activation"] = Attribute{std::string()};
  gemm.inputs.resize(2);
  if (!bias.empty() || !sum.empty()) gemm.inputs.push_back(bias);
  if (!sum.empty()) gemm.inputs.push_back(sum);
  become_wafer_op(gemm, "FusedMatMul");
  return true;
}

}  // namespace

bool FuseMatMul::rewrite(RewriteContext& ctx, Node& mm) {
  if (mm.domain.empty() && mm.op_type == "Gemm") return rewrite_gemm(ctx, mm);
  if (mm.outputs.size() != 1 || mm.inputs.size() < 2) return false;
  const ValueType* yt = ctx.type(mm.outputs[0]);
  if (!yt || !yt->shape.rank_known || yt->shape.rank() < 1) return false;
  ValueType y = *yt;
  // A bias varies along the last dim only: [N], [1,N], [1,1,N], or a scalar.
  auto bias_of = [&](const Tensor& c) { return bias_along_axis(c, y, y.shape.rank() - 1); };
  if (!absorb_epilogue(ctx, mm, bias_of, parts_)) return false;
  if (mm.domain.empty()) {
    become_wafer_op(mm, "FusedMatMul");
    mm.attrs["trans_b"] = Attribute{int64_t(0)};
    if (!mm.has_attr("activation")) mm.attrs["activation"] = Attribute{std::string()};
  }
  return true;
}

}  // namespace wafer
