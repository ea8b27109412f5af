// Cast and CastLike between every numeric dtype (and bool). Strings are
// recognised but unsupported: Wafer tensors do not hold strings.
#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

DType cast_target(const Node& node) {
  int64_t to = node.attr_int("to");
  if (to == int64_t(DType::String)) throw UnsupportedError(node.label() + ": cast to string is not supported");
  check(to >= 0 && to <= 1000 && dtype_is_valid_onnx(int(to)), node.label(), ": cannot cast to element type ", to);
  return DType(int(to));
}

Tensor cast_to(const Tensor& x, DType to, const Node& node) {
  if (x.dtype() == DType::String || to == DType::String)
    throw UnsupportedError(node.label() + ": casts involving strings are not supported");
  if (x.dtype() == to) return x;
  return x.cast(to);
}

std::vector<Tensor> cast(const KernelContext& ctx) {
  return {cast_to(ctx.in(0), cast_target(ctx.node), ctx.node)};
}
std::vector<ValueType> cast_infer(const InferContext& ctx) {
  DType to = cast_target(ctx.node);
  return {typed(to, ctx.has(0) ? ctx.in(0).shape : Shape::unknown_rank())};
}
WAFER_REGISTER_OP(cast, {.name = "Cast",
                         .cost = op_cost::movement(),
                         .since = 6,
                         .until = 13,
                         .attrs = {{"to", AttrType::Int, true}},
                         .infer = cast_infer,
                         .kernel = cast});

std::vector<Tensor> cast_like(const KernelContext& ctx) {
  return {cast_to(ctx.in(0), ctx.in(1).dtype(), ctx.node)};
}
std::vector<ValueType> cast_like_infer(const InferContext& ctx) {
  if (!known(ctx, {1})) return {};
  if (ctx.in(1).dtype == DType::String) throw UnsupportedError(ctx.node.label() + ": cast to string is not supported");
  return {typed(ctx.in(1).dtype, ctx.has(0) ? ctx.in(0).shape : Shape::unknown_rank())};
}
WAFER_REGISTER_OP(cast_like, {.name = "CastLike",
                              .cost = op_cost::movement(),
                              .since = 15,
                              .until = 15,
                              .infer = cast_like_infer,
                              .kernel = cast_like});

}  // namespace
}  // namespace wafer
