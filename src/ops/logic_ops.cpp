// Logical And Or Xor and comparisons Equal Greater Less GreaterOrEqual
// LessOrEqual, with numpy broadcasting; all produce bool.
#include "ops/math_util.h"

namespace wafer {
namespace {

template <typename F>
KernelFn logical_kernel(F f) {
  return [f](const KernelContext& ctx) -> std::vector<Tensor> {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    require_dtype(ctx.node, a.dtype(), {DType::Bool});
    require_dtype(ctx.node, b.dtype(), {DType::Bool});
    return {map_binary<bool>(a, b, ctx.node, f)};
  };
}

WAFER_REGISTER_OP(and_op, {.name = "And",
                           .cost = op_cost::elementwise({{"add", 1}}),
                           .since = 7,
                           .infer = infer_broadcast_bool,
                           .kernel = logical_kernel([](bool x, bool y) { return x && y; })});
WAFER_REGISTER_OP(or_op, {.name = "Or",
                          .cost = op_cost::elementwise({{"add", 1}}),
                          .since = 7,
                          .infer = infer_broadcast_bool,
                          .kernel = logical_kernel([](bool x, bool y) { return x || y; })});
WAFER_REGISTER_OP(xor_op, {.name = "Xor",
                           .cost = op_cost::elementwise({{"add", 1}}),
                           .since = 7,
                           .infer = infer_broadcast_bool,
                           .kernel = logical_kernel([](bool x, bool y) { return x != y; })});

// Comparison in the compute type (half types compare as float; NaN compares
// false except for !=, which no ONNX op exposes).
template <typename F>
KernelFn compare_kernel(bool allow_bool, F f) {
  return [allow_bool, f](const KernelContext& ctx) -> std::vector<Tensor> {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    check(a.dtype() == b.dtype(), ctx.node.label(), ": inputs have different types ", dtype_name(a.dtype()), " and ",
          dtype_name(b.dtype()));
    check(allow_bool || a.dtype() != DType::Bool, ctx.node.label(), ": bool inputs are not supported");
    return visit_dtype(a.dtype(), [&]<typename T>() -> std::vector<Tensor> {
      using C = compute_t<T>;
      return {map_binary<T, bool>(a, b, ctx.node, [&](C x, C y) { return f(x, y); })};
    });
  };
}

WAFER_REGISTER_OP(equal, {.name = "Equal",
                          .cost = op_cost::elementwise({{"max", 1}}),
                          .since = 7,
                          .infer = infer_broadcast_bool,
                          .kernel = compare_kernel(true, [](auto x, auto y) { return x == y; })});
WAFER_REGISTER_OP(greater, {.name = "Greater",
                            .cost = op_cost::elementwise({{"max", 1}}),
                            .since = 7,
                            .infer = infer_broadcast_bool,
                            .kernel = compare_kernel(false, [](auto x, auto y) { return x > y; })});
WAFER_REGISTER_OP(less, {.name = "Less",
                         .cost = op_cost::elementwise({{"max", 1}}),
                         .since = 7,
                         .infer = infer_broadcast_bool,
                         .kernel = compare_kernel(false, [](auto x, auto y) { return x < y; })});
WAFER_REGISTER_OP(greater_or_equal, {.name = "GreaterOrEqual",
                                     .cost = op_cost::elementwise({{"max", 1}}),
                                     .since = 12,
                                     .infer = infer_broadcast_bool,
                                     .kernel = compare_kernel(false, [](auto x, auto y) { return x >= y; })});
WAFER_REGISTER_OP(less_or_equal, {.name = "LessOrEqual",
                                  .cost = op_cost::elementwise({{"max", 1}}),
                                  .since = 12,
                                  .infer = infer_broadcast_bool,
                                  .kernel = compare_kernel(false, [](auto x, auto y) { return x <= y; })});

}  // namespace
}  // namespace wafer
