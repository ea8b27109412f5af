// Add, Sub, Mul, Div: numpy-broadcast arithmetic on every numeric dtype.
#include "ops/op_util.h"

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
    check(a.dtype() == b.dtype(), ctx.node.label(), ": inputs have different types ", dtype_name(a.dtype()),
          " and ", dtype_name(b.dtype()));
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

// Unsigned and narrow types wrap like numpy: compute in the type itself.
template <typename C>
C wrap_add(C x, C y) {
  if constexpr (std::is_integral_v<C>) return C(std::make_unsigned_t<C>(x) + std::make_unsigned_t<C>(y));
  else return x + y;
}
template <typename C>
C wrap_sub(C x, C y) {
  if constexpr (std::is_integral_v<C>) return C(std::make_unsigned_t<C>(x) - std::make_unsigned_t<C>(y));
  else return x - y;
}
template <typename C>
C wrap_mul(C x, C y) {
  if constexpr (std::is_integral_v<C>) return C(std::make_unsigned_t<C>(x) * std::make_unsigned_t<C>(y));
  else return x * y;
}


#define WAFER_ARITH(id, NAME, EXPR)                                                                    \
  WAFER_REGISTER_OP(id, {.name = NAME,                                                                 \
                         .since = 7,                                                                   \
                         .infer = infer_broadcast,                                                     \
                         .kernel = arithmetic_kernel([](auto x, auto y, const Node& node) {            \
                           (void)node;                                                                 \
                           return EXPR;                                                                \
                         })});

WAFER_ARITH(add, "Add", wrap_add(x, y))
WAFER_ARITH(sub, "Sub", wrap_sub(x, y))
WAFER_ARITH(mul, "Mul", wrap_mul(x, y))
WAFER_ARITH(div, "Div", divide(x, y, node))
#undef WAFER_ARITH

}  // namespace
}  // namespace wafer
