// wafer.RMSNorm(X, scale), attribute epsilon: root-mean-square layer normalization over the last axis
// (Zhang & Sennrich 2019), the norm of Llama-style decoders:
//   Y = X / sqrt(mean(X^2 over the last axis) + epsilon) * scale       (scale: [d], d = X's last dim)
// Float32 (the cpu pipeline's fuse_rms_norm.cpp makes it from the exported decomposition); the mean of
// squares is summed in double.
#include <cmath>

#include "ops/op_util.h"

namespace wafer {
namespace {

std::vector<Tensor> rms_norm(const KernelContext& ctx) {
  const Tensor &x = ctx.in(0), &scale = ctx.in(1);
  check(x.dtype() == DType::Float32 && scale.dtype() == DType::Float32, ctx.node.label(),
        ": RMSNorm takes float32 X and scale");
  check(x.rank() >= 1, ctx.node.label(), ": X must have at least one dim");
  const int64_t d = x.dims().back();
  check(scale.numel() == d, ctx.node.label(), ": scale has ", scale.numel(), " elements, X's last dim is ", d);
  const double eps = ctx.node.attr_float("epsilon", 1e-6f);
  Tensor y(DType::Float32, x.dims());
  const float *px = x.data<float>(), *ps = scale.data<float>();
  float* py = y.data<float>();
  for (int64_t r = 0; d > 0 && r < x.numel() / d; ++r) {
    const float* row = px + r * d;
    double sum = 0;
    for (int64_t i = 0; i < d; ++i) sum += double(row[i]) * row[i];
    const double inv = 1.0 / std::sqrt(sum / double(d) + eps);
    for (int64_t i = 0; i < d; ++i) py[r * d + i] = float(row[i] * inv * ps[i]);
  }
  return {y};
}

WAFER_REGISTER_OP(wafer_rms_norm, {.name = "RMSNorm",
                                   .domain = "wafer",
                                   .since = 1,
                                   .attrs = {{"epsilon", AttrType::Float}},
                                   .infer = infer_same_as_input,
                                   .kernel = rms_norm});

}  // namespace
}  // namespace wafer
