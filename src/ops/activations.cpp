// Activations: Sigmoid Elu Selu Celu LeakyRelu ThresholdedRelu HardSigmoid
// HardSwish Softplus Softsign Shrink Mish PRelu Clip.
#include "ops/math_util.h"

namespace wafer {
namespace {

using math::kFloatTypes;
using math::kNumericTypes;

// Float-only activation: make(node) returns the per-element function (so
// attributes are read once), called with the compute type.
template <typename Make>
KernelFn float_activation(Make make) {
  return [make](const KernelContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.in(0);
    math::require_one_of(ctx.node, x.dtype(), kFloatTypes);
    return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
      if constexpr (!is_float_type_v<T>) {
        return {};
      } else {
        using C = compute_t<T>;
        auto f = make.template operator()<C>(ctx.node);
        return {map_unary<T>(x, f)};
      }
    });
  };
}

// log(1 + exp(x)) without overflow for large x.
template <typename C>
C softplus(C x) {
  return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

#define WAFER_ACTIVATION(id, NAME, COST, SINCE, ATTRS, ...) \
  WAFER_REGISTER_OP(id, {.name = NAME,                      \
                         .cost = COST,                      \
                         .since = SINCE,                    \
                         .attrs = ATTRS,                    \
                         .infer = infer_same_as_input,      \
                         .kernel = float_activation([]<typename C>(const Node& node) __VA_ARGS__)});

using Attrs = std::vector<AttrSpec>;

WAFER_ACTIVATION(sigmoid, "Sigmoid", op_cost::elementwise({{"exp", 1}, {"add", 1}, {"div", 1}}, /*epilogue=*/true), 6,
                 Attrs{}, {
                   (void)node;
                   // Both branches avoid exp overflow.
                   return [](C x) {
                     return x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x));
                   };
                 })
WAFER_ACTIVATION(elu, "Elu", op_cost::elementwise({{"exp", 1}, {"max", 1}, {"mul", 1}}), 6,
                 (Attrs{{"alpha", AttrType::Float}}), {
                   C alpha = C(node.attr_float("alpha", 1.0f));
                   return [alpha](C x) { return x >= C(0) ? x : alpha * std::expm1(x); };
                 })
WAFER_ACTIVATION(selu, "Selu", op_cost::elementwise({{"exp", 1}, {"max", 1}, {"mul", 2}}), 6,
                 (Attrs{{"alpha", AttrType::Float}, {"gamma", AttrType::Float}}), {
                   C alpha = C(node.attr_float("alpha", 1.67326319217681884765625f));
                   C gamma = C(node.attr_float("gamma", 1.05070102710723876953125f));
                   return [alpha, gamma](C x) { return x > C(0) ? gamma * x : gamma * (alpha * std::exp(x) - alpha); };
                 })
WAFER_ACTIVATION(celu, "Celu", op_cost::elementwise({{"exp", 1}, {"max", 2}, {"div", 1}}), 12,
                 (Attrs{{"alpha", AttrType::Float}}), {
                   C alpha = C(node.attr_float("alpha", 1.0f));
                   check(alpha != C(0), node.label(), ": alpha must not be 0");
                   return [alpha](C x) { return std::max(C(0), x) + std::min(C(0), alpha * std::expm1(x / alpha)); };
                 })
WAFER_ACTIVATION(leaky_relu, "LeakyRelu", op_cost::elementwise({{"mul", 1}}, /*epilogue=*/true), 6,
                 (Attrs{{"alpha", AttrType::Float}}), {
                   C alpha = C(node.attr_float("alpha", 0.01f));
                   return [alpha](C x) { return x >= C(0) ? x : alpha * x; };
                 })
WAFER_ACTIVATION(thresholded_relu, "ThresholdedRelu", op_cost::elementwise({{"mul", 1}}), 10,
                 (Attrs{{"alpha", AttrType::Float}}), {
                   C alpha = C(node.attr_float("alpha", 1.0f));
                   return [alpha](C x) { return x > alpha ? x : C(0); };
                 })
WAFER_ACTIVATION(hard_sigmoid, "HardSigmoid",
                 op_cost::elementwise({{"mul", 1}, {"add", 1}, {"max", 2}}, /*epilogue=*/true), 6,
                 (Attrs{{"alpha", AttrType::Float}, {"beta", AttrType::Float}}), {
                   C alpha = C(node.attr_float("alpha", 0.2f));
                   C beta = C(node.attr_float("beta", 0.5f));
                   return [alpha, beta](C x) { return std::max(C(0), std::min(C(1), alpha * x + beta)); };
                 })
WAFER_ACTIVATION(hard_swish, "HardSwish", op_cost::elementwise({{"mul", 2}, {"add", 1}, {"max", 2}}, /*epilogue=*/true),
                 14, Attrs{}, {
                   (void)node;
                   return [](C x) { return x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5))); };
                 })
WAFER_ACTIVATION(softplus, "Softplus", op_cost::elementwise({{"exp", 1}}, /*epilogue=*/true), 1, Attrs{}, {
  (void)node;
  return [](C x) { return softplus(x); };
})
WAFER_ACTIVATION(softsign, "Softsign", op_cost::elementwise({{"exp", 1}}), 1, Attrs{}, {
  (void)node;
  return [](C x) { return x / (C(1) + std::fabs(x)); };
})
WAFER_ACTIVATION(mish, "Mish", op_cost::elementwise({{"exp", 2}, {"mul", 1}, {"add", 1}}), 18, Attrs{}, {
  (void)node;
  return [](C x) { return x * std::tanh(softplus(x)); };
})
#undef WAFER_ACTIVATION

// Shrink takes every numeric type; integers compute in double and convert back.
std::vector<Tensor> shrink(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), kNumericTypes);
  double bias = ctx.node.attr_float("bias", 0.0f);
  double lambd = ctx.node.attr_float("lambd", 0.5f);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool>) {
      return {};
    } else {
      Tensor out(x.dtype(), x.dims());
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      for (int64_t i = 0, n = x.numel(); i < n; ++i) {
        double v = double(to_compute(src[i]));
        double r = v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0);
        dst[i] = math::saturate_cast<T>(r);
      }
      return {out};
    }
  });
}
WAFER_REGISTER_OP(shrink, {.name = "Shrink",
                           .cost = op_cost::elementwise({{"mul", 1}}),
                           .since = 9,
                           .attrs = {{"bias", AttrType::Float}, {"lambd", AttrType::Float}},
                           .infer = infer_same_as_input,
                           .kernel = shrink});

// PRelu: slope broadcasts against x (unidirectionally in the spec; numpy
// broadcasting here, as the reference implementation does).
std::vector<Tensor> prelu(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& slope = ctx.in(1);
  math::require_one_of(ctx.node, x.dtype(),
                       {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                        DType::UInt32, DType::UInt64});
  check(slope.dtype() == x.dtype(), ctx.node.label(), ": slope type ", dtype_name(slope.dtype()),
        " differs from input type ", dtype_name(x.dtype()));
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool>) {
      return {};
    } else {
      using C = compute_t<T>;
      return {map_binary<T>(x, slope, ctx.node, [](C v, C s) {
        if constexpr (std::is_unsigned_v<C>)
          return v;  // never negative
        else
          return v < C(0) ? math::wrapping_mul(v, s) : v;
      })};
    }
  });
}
WAFER_REGISTER_OP(prelu, {.name = "PRelu",
                          .cost = op_cost::elementwise({{"mul", 1}}, /*epilogue=*/true),
                          .since = 7,
                          .infer = infer_broadcast,
                          .kernel = prelu});

// Clip: bounds are attributes before opset 11 and optional scalar inputs after.
std::vector<Tensor> clip(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  if (ctx.version() < 12)
    math::require_one_of(ctx.node, x.dtype(), kFloatTypes);
  else
    math::require_one_of(ctx.node, x.dtype(), kNumericTypes);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool>) {
      return {};
    } else {
      using C = compute_t<T>;
      C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
      if constexpr (is_float_type_v<T>) lo = -std::numeric_limits<C>::infinity(), hi = -lo;
      if (ctx.version() < 11) {
        if constexpr (is_float_type_v<T>) {
          lo = C(ctx.node.attr_float("min", -std::numeric_limits<float>::infinity()));
          hi = C(ctx.node.attr_float("max", std::numeric_limits<float>::infinity()));
        }
      } else {
        auto bound = [&](size_t i, C& v) {
          if (!ctx.has(i)) return;
          const Tensor& b = ctx.in(i);
          check(b.dtype() == x.dtype(), ctx.node.label(), ": bound type ", dtype_name(b.dtype()),
                " differs from input type ", dtype_name(x.dtype()));
          check(b.numel() == 1, ctx.node.label(), ": min/max must be scalars, got shape ", dims_to_string(b.dims()));
          v = to_compute(b.data<T>()[0]);
        };
        bound(1, lo);
        bound(2, hi);
      }
      // min(max(x, lo), hi): when lo > hi every element becomes hi (numpy.clip);
      // NaN passes through.
      return {map_unary<T>(x, [lo, hi](C v) {
        if (math::is_nan(v)) return v;
        return v < lo ? (lo > hi ? hi : lo) : (v > hi ? hi : v);
      })};
    }
  });
}
WAFER_REGISTER_OP(clip, {.name = "Clip",
                         .cost = op_cost::elementwise({{"max", 1}}, /*epilogue=*/true),
                         .since = 6,
                         .attrs = {{"min", AttrType::Float}, {"max", AttrType::Float}},
                         .infer = infer_same_as_input,
                         .kernel = clip});

}  // namespace
}  // namespace wafer
