// wafer.RotaryEmbedding(X, cos, sin): rotary position embedding in the rotate-half form (Su et al. 2021,
// "RoFormer", eq. 34, as GPT-NeoX and Llama apply it) over the last axis of X (even size d, h = d/2):
//   Y = X * cos + rotate_half(X) * sin,   rotate_half(X)[i] = -X[i + h] for i < h, X[i - h] otherwise
// cos and sin broadcast to X (numpy rules; their last dim is d). Float32. Made by the cpu pipeline's
// fuse_rotary.cpp from the exported Slice/Neg/Concat/Mul/Add decomposition.
#include "ops/op_util.h"

namespace wafer {
namespace {

std::vector<Tensor> rotary(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  check(x.dtype() == DType::Float32 && ctx.in(1).dtype() == DType::Float32 && ctx.in(2).dtype() == DType::Float32,
        ctx.node.label(), ": RotaryEmbedding takes float32 X, cos and sin");
  check(x.rank() >= 1 && x.dims().back() % 2 == 0, ctx.node.label(), ": X's last dim must be even, X is ",
        dims_to_string(x.dims()));
  const Tensor c = broadcast_to(ctx.in(1), x.dims(), ctx.node), s = broadcast_to(ctx.in(2), x.dims(), ctx.node);
  const int64_t d = x.dims().back(), h = d / 2;
  Tensor y(DType::Float32, x.dims());
  const float *px = x.data<float>(), *pc = c.data<float>(), *ps = s.data<float>();
  float* py = y.data<float>();
  for (int64_t r = 0; d > 0 && r < x.numel() / d; ++r)
    for (int64_t i = 0; i < d; ++i) {
      int64_t k = r * d + i;
      float rotated = i < h ? -px[k + h] : px[k - h];
      py[k] = px[k] * pc[k] + rotated * ps[k];
    }
  return {y};
}

WAFER_REGISTER_OP(
    wafer_rotary,
    {.name = "RotaryEmbedding", .domain = "wafer", .since = 1, .infer = infer_same_as_input, .kernel = rotary});

}  // namespace
}  // namespace wafer
