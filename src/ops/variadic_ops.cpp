// Variadic elementwise Max Min Sum Mean: numpy broadcasting across all inputs.
#include "ops/math_util.h"

namespace wafer {
namespace {

enum class Fold { Max, Min, Sum, Mean };

template <Fold kind, typename C>
C combine(C acc, C v) {
  if constexpr (kind == Fold::Max || kind == Fold::Min) {
    if (math::is_nan(acc) || math::is_nan(v)) return math::is_nan(acc) ? acc : v;  // NaN propagates
    if constexpr (kind == Fold::Max)
      return v > acc ? v : acc;
    else
      return v < acc ? v : acc;
  } else {
    return math::wrapping_add(acc, v);
  }
}

template <Fold kind>
std::vector<Tensor> variadic_kernel(const KernelContext& ctx) {
  check(ctx.num_inputs() >= 1, ctx.node.label(), ": needs at least one input");
  const Tensor& first = ctx.in(0);
  bool numeric = (kind == Fold::Max || kind == Fold::Min) && ctx.version() >= 12;
  math::require_one_of(ctx.node, first.dtype(), numeric ? math::kNumericTypes : math::kFloatTypes);
  Dims out_dims = first.dims();
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.in(i);
    check(t.dtype() == first.dtype(), ctx.node.label(), ": input ", i, " has type ", dtype_name(t.dtype()),
          ", input 0 has ", dtype_name(first.dtype()));
    out_dims = broadcast_dims(out_dims, t.dims(), ctx.node);
  }
  return visit_dtype(first.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool>) {
      return {};
    } else {
      using C = compute_t<T>;
      int64_t n = element_count(out_dims);
      std::vector<C> acc(static_cast<size_t>(n));
      for (size_t k = 0; k < ctx.num_inputs(); ++k) {
        const Tensor& t = ctx.in(k);
        const T* src = t.data<T>();
        StridedWalker w(out_dims, {broadcast_strides(t.dims(), out_dims)});
        for (int64_t i = 0; i < n; ++i, w.next()) {
          C v = to_compute(src[w.offset(0)]);
          acc[size_t(i)] = k == 0 ? v : combine<kind>(acc[size_t(i)], v);
        }
      }
      Tensor out(first.dtype(), out_dims);
      T* dst = out.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        C v = acc[size_t(i)];
        if constexpr (kind == Fold::Mean) v = v / C(ctx.num_inputs());
        dst[i] = T(v);
      }
      return {out};
    }
  });
}

// One FLOP per output element for each input after the first; on the npu, `vector` per output element.
OpCost variadic_cost(VectorClasses vector, bool epilogue = false) {
  return {.vector = std::move(vector), .epilogue = epilogue, .count = [](const Graph& g, const Node& n) {
            auto out = n.outputs.empty() ? std::nullopt : known_elements(g, n.outputs[0]);
            return flops_only(out, std::max(1, n.num_present_inputs() - 1));
          }};
}

WAFER_REGISTER_OP(max, {.name = "Max",
                        .cost = variadic_cost({{"max", 1}}, /*epilogue=*/true),
                        .since = 6,
                        .infer = infer_broadcast,
                        .kernel = variadic_kernel<Fold::Max>});
WAFER_REGISTER_OP(min, {.name = "Min",
                        .cost = variadic_cost({{"max", 1}}, /*epilogue=*/true),
                        .since = 6,
                        .infer = infer_broadcast,
                        .kernel = variadic_kernel<Fold::Min>});
WAFER_REGISTER_OP(sum, {.name = "Sum",
                        .cost = variadic_cost({{"add", 1}}),
                        .since = 6,
                        .infer = infer_broadcast,
                        .kernel = variadic_kernel<Fold::Sum>});
WAFER_REGISTER_OP(mean, {.name = "Mean",
                         .cost = variadic_cost({{"add", 1}, {"div", 1}}),
                         .since = 6,
                         .infer = infer_broadcast,
                         .kernel = variadic_kernel<Fold::Mean>});

}  // namespace
}  // namespace wafer
