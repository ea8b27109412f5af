// Add, Sub, Mul, Div: numpy-broadcast arithmetic on every numeric dtype.
#include "ops/math_util.h"

namespace wafer {
namespace {

// Integer division in ONNX follows C (truncation); division by zero is
// undefined there, so we make it an error rather than a crash.
template <typename T>
auto divide(T a, T b, const Node& node) {
  if constexpr (std::is_integral_v<T>) {
    check(b != 0, node.label(), ": integer division by zero");
    if constexpr (std::is_signed_v<T>)
      if (a == std::numeric_limits<T>::min() && b == T(-1)) return a;  // wraps, as numpy does
  }
  return T(a / b);
}

template <typename Op>
KernelFn arithmetic_kernel(Op op) {
  return [op](const KernelContext& ctx) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    check(a.dtype() == b.dtype(), ctx.node.label(), ": inputs have different types ", dtype_name(a.dtype()), " and ",
          dtype_name(b.dtype()));
    check(a.dtype() != DType::Bool, ctx.node.label(), ": arithmetic on bool is not defined");
    return visit_dtype(a.dtype(), [&]<typename T>() -> std::vector<Tensor> {
      if constexpr (std::is_same_v<T, bool>) {
        return {};
      } else {
        using C = compute_t<T>;
        return {map_binary<T>(a, b, ctx.node, [&](C x, C y) { return op(x, y, ctx.node); })};
      }
    });
  };
}

#define WAFER_ARITH(id, NAME, COST, EXPR)                                                   \
  WAFER_REGISTER_OP(id, {.name = NAME,                                                      \
                         .cost = COST,                                                      \
                         .since = 7,                                                        \
                         .infer = infer_broadcast,                                          \
                         .kernel = arithmetic_kernel([](auto x, auto y, const Node& node) { \
                           (void)node;                                                      \
                           return EXPR;                                                     \
                         })});

// Integers wrap like numpy (see math::wrapping_add: no signed overflow UB).
WAFER_ARITH(add, "Add", op_cost::elementwise({{"add", 1}}, /*epilogue=*/true), math::wrapping_add(x, y))
WAFER_ARITH(sub, "Sub", op_cost::elementwise({{"add", 1}}, /*epilogue=*/true), math::wrapping_sub(x, y))
WAFER_ARITH(mul, "Mul", op_cost::elementwise({{"mul", 1}}, /*epilogue=*/true), math::wrapping_mul(x, y))
WAFER_ARITH(div, "Div", op_cost::elementwise({{"div", 1}}, /*epilogue=*/true), divide(x, y, node))
#undef WAFER_ARITH

}  // namespace
}  // namespace wafer
