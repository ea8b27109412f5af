// Elementwise unary math: Neg Abs Sqrt Exp Log Reciprocal, trigonometric and
// hyperbolic functions, Floor Ceil Round Sign Erf, IsNaN IsInf, Not.
#include "ops/math_util.h"

namespace wafer {
namespace {

using math::kFloatTypes;
using math::kNumericTypes;
using math::kSignedNumericTypes;

// Kernel applying f (called with compute_t<T>) to every element. FloatOnly
// ops are never instantiated for integer storage types.
template <bool FloatOnly, typename F>
KernelFn unary_kernel(std::vector<DType> allowed, F f) {
  return [allowed, f](const KernelContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.in(0);
    math::require_one_of(ctx.node, x.dtype(), allowed);
    return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
      if constexpr (std::is_same_v<T, bool> || (FloatOnly && !is_float_type_v<T>)) {
        fail(ctx.node.label(), ": unsupported type ", dtype_name(x.dtype()));
      } else {
        return {map_unary<T>(x, f)};
      }
    });
  };
}

#define WAFER_FLOAT_UNARY(id, NAME, COST, SINCE, EXPR) \
  WAFER_REGISTER_OP(id, {.name = NAME,                 \
                         .cost = COST,                 \
                         .since = SINCE,               \
                         .infer = infer_same_as_input, \
                         .kernel = unary_kernel<true>(kFloatTypes, [](auto x) { return EXPR; })});

WAFER_FLOAT_UNARY(sqrt, "Sqrt", op_cost::elementwise({{"exp", 1}}, /*epilogue=*/true), 6, std::sqrt(x))
WAFER_FLOAT_UNARY(exp, "Exp", op_cost::elementwise({{"exp", 1}}, /*epilogue=*/true), 6, std::exp(x))
WAFER_FLOAT_UNARY(log, "Log", op_cost::elementwise({{"exp", 1}}), 6, std::log(x))
WAFER_FLOAT_UNARY(reciprocal, "Reciprocal", op_cost::elementwise({{"div", 1}}), 6, decltype(x)(1) / x)
WAFER_FLOAT_UNARY(sin, "Sin", op_cost::elementwise({{"exp", 1}}), 7, std::sin(x))
WAFER_FLOAT_UNARY(cos, "Cos", op_cost::elementwise({{"exp", 1}}), 7, std::cos(x))
WAFER_FLOAT_UNARY(tan, "Tan", op_cost::elementwise({{"exp", 1}}), 7, std::tan(x))
WAFER_FLOAT_UNARY(asin, "Asin", op_cost::elementwise({{"exp", 1}}), 7, std::asin(x))
WAFER_FLOAT_UNARY(acos, "Acos", op_cost::elementwise({{"exp", 1}}), 7, std::acos(x))
WAFER_FLOAT_UNARY(atan, "Atan", op_cost::elementwise({{"exp", 1}}), 7, std::atan(x))
WAFER_FLOAT_UNARY(sinh, "Sinh", op_cost::elementwise({{"exp", 1}}), 9, std::sinh(x))
WAFER_FLOAT_UNARY(cosh, "Cosh", op_cost::elementwise({{"exp", 1}}), 9, std::cosh(x))
WAFER_FLOAT_UNARY(tanh, "Tanh", op_cost::elementwise({{"exp", 1}, {"add", 2}, {"div", 1}}, /*epilogue=*/true), 6,
                  std::tanh(x))
WAFER_FLOAT_UNARY(asinh, "Asinh", op_cost::elementwise({{"exp", 1}}), 9, std::asinh(x))
WAFER_FLOAT_UNARY(acosh, "Acosh", op_cost::elementwise({{"exp", 1}}), 9, std::acosh(x))
WAFER_FLOAT_UNARY(atanh, "Atanh", op_cost::elementwise({{"exp", 1}}), 9, std::atanh(x))
WAFER_FLOAT_UNARY(floor, "Floor", op_cost::elementwise({{"add", 1}}), 6, std::floor(x))
WAFER_FLOAT_UNARY(ceil, "Ceil", op_cost::elementwise({{"add", 1}}), 6, std::ceil(x))
// nearbyint uses the default rounding mode, round-half-to-even (numpy.round).
WAFER_FLOAT_UNARY(round, "Round", op_cost::elementwise({{"add", 1}}), 11, std::nearbyint(x))
#undef WAFER_FLOAT_UNARY

// Integers negate with two's complement wrap (-INT_MIN == INT_MIN, as numpy).
template <typename C>
C negate(C x) {
  if constexpr (std::is_integral_v<C>)
    return C(std::make_unsigned_t<decltype(+x)>(0) - std::make_unsigned_t<decltype(+x)>(x));
  else
    return -x;
}

template <typename C>
C absolute(C x) {
  if constexpr (std::is_unsigned_v<C>)
    return x;
  else if constexpr (std::is_integral_v<C>)
    return x < 0 ? negate(x) : x;
  else
    return std::fabs(x);
}

template <typename C>
C sign(C x) {
  if constexpr (std::is_unsigned_v<C>) {
    return x > C(0) ? C(1) : C(0);
  } else {
    if (math::is_nan(x)) return x;
    return x > C(0) ? C(1) : (x < C(0) ? C(-1) : C(0));
  }
}

WAFER_REGISTER_OP(neg, {.name = "Neg",
                        .cost = op_cost::elementwise({{"add", 1}}, /*epilogue=*/true),
                        .since = 6,
                        .infer = infer_same_as_input,
                        .kernel = unary_kernel<false>(kSignedNumericTypes, [](auto x) { return negate(x); })});
WAFER_REGISTER_OP(abs, {.name = "Abs",
                        .cost = op_cost::elementwise({{"add", 1}}, /*epilogue=*/true),
                        .since = 6,
                        .infer = infer_same_as_input,
                        .kernel = unary_kernel<false>(kNumericTypes, [](auto x) { return absolute(x); })});
WAFER_REGISTER_OP(sign, {.name = "Sign",
                         .cost = op_cost::elementwise({{"add", 1}}),
                         .since = 9,
                         .infer = infer_same_as_input,
                         .kernel = unary_kernel<false>(kNumericTypes, [](auto x) { return sign(x); })});
// Erf accepts integer types too; the result (in (-1, 1)) truncates to 0 there.
WAFER_REGISTER_OP(erf, {.name = "Erf",
                        .cost = op_cost::elementwise({{"exp", 1}}, /*epilogue=*/true),
                        .since = 9,
                        .infer = infer_same_as_input,
                        .kernel = unary_kernel<false>(kNumericTypes,
                                                      [](auto x) { return decltype(x)(std::erf(double(x))); })});

std::vector<Tensor> is_nan(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), kFloatTypes);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!is_float_type_v<T>)
      return {};
    else
      return {map_unary<T, bool>(x, [](auto v) { return std::isnan(v); })};
  });
}

std::vector<Tensor> is_inf(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), kFloatTypes);
  bool neg = ctx.node.attr_int("detect_negative", 1) != 0;
  bool pos = ctx.node.attr_int("detect_positive", 1) != 0;
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!is_float_type_v<T>)
      return {};
    else
      return {map_unary<T, bool>(x, [&](auto v) { return std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg)); })};
  });
}

std::vector<ValueType> infer_bool_like_input(const InferContext& ctx) {
  return {typed(DType::Bool, ctx.in(0).shape)};
}

WAFER_REGISTER_OP(isnan, {.name = "IsNaN",
                          .cost = op_cost::elementwise({{"add", 1}}),
                          .since = 9,
                          .infer = infer_bool_like_input,
                          .kernel = is_nan});
WAFER_REGISTER_OP(isinf, {.name = "IsInf",
                          .cost = op_cost::elementwise({{"add", 1}}),
                          .since = 10,
                          .attrs = {{"detect_negative", AttrType::Int}, {"detect_positive", AttrType::Int}},
                          .infer = infer_bool_like_input,
                          .kernel = is_inf});

std::vector<Tensor> logical_not(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(), {DType::Bool});
  return {map_unary<bool>(x, [](bool v) { return !v; })};
}
WAFER_REGISTER_OP(not_op, {.name = "Not",
                           .cost = op_cost::elementwise({{"add", 1}}),
                           .since = 1,
                           .infer = infer_same_as_input,
                           .kernel = logical_not});

}  // namespace
}  // namespace wafer
