// Det, LpNormalization, MeanVarianceNormalization.
#include "ops/math_util.h"

namespace wafer {
namespace {

// Determinant of each trailing [M, M] matrix by LU with partial pivoting in double.
std::vector<Tensor> det_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), math::kFloatTypes);
  check(x.rank() >= 2 && x.dim(x.rank() - 1) == x.dim(x.rank() - 2), ctx.node.label(),
        ": input must be [*, M, M], got ", dims_to_string(x.dims()));
  int64_t m = x.dim(x.rank() - 1);
  Dims out_dims(x.dims().begin(), x.dims().end() - 2);
  Tensor out(x.dtype(), out_dims);
  int64_t batch = out.numel();
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      std::vector<double> a(size_t(m * m));
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t i = 0; i < m * m; ++i) a[size_t(i)] = double(to_compute(src[b * m * m + i]));
        double det = 1.0;
        for (int64_t c = 0; c < m; ++c) {
          int64_t piv = c;
          for (int64_t r = c + 1; r < m; ++r)
            if (std::fabs(a[size_t(r * m + c)]) > std::fabs(a[size_t(piv * m + c)])) piv = r;
          if (a[size_t(piv * m + c)] == 0.0) {
            det = 0.0;
            break;
          }
          if (piv != c) {
            for (int64_t k = 0; k < m; ++k) std::swap(a[size_t(piv * m + k)], a[size_t(c * m + k)]);
            det = -det;
          }
          double p = a[size_t(c * m + c)];
          det *= p;
          for (int64_t r = c + 1; r < m; ++r) {
            double f = a[size_t(r * m + c)] / p;
            for (int64_t k = c; k < m; ++k) a[size_t(r * m + k)] -= f * a[size_t(c * m + k)];
          }
        }
        dst[b] = T(compute_t<T>(det));
      }
    }
  });
  return {out};
}

std::vector<ValueType> infer_det(const InferContext& ctx) {
  const ValueType& in = ctx.in(0);
  if (!in.shape.rank_known) return {typed(in.dtype, Shape::unknown_rank())};
  check(in.shape.rank() >= 2, ctx.node.label(), ": input must have rank >= 2");
  return {typed(in.dtype, Shape(std::vector<Dim>(in.shape.dims.begin(), in.shape.dims.end() - 2)))};
}

WAFER_REGISTER_OP(det, {.name = "Det", .since = 11, .infer = infer_det, .kernel = det_kernel});

// y = x / ||x||_p along one axis (p = 1 or 2). A zero norm gives NaN, as numpy.
std::vector<Tensor> lp_norm_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), math::kFloatTypes);
  check(x.rank() >= 1, ctx.node.label(), ": input must have rank >= 1");
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", -1), x.rank(), ctx.node);
  int64_t p = ctx.node.attr_int("p", 2);
  check(p == 1 || p == 2, ctx.node.label(), ": p must be 1 or 2, got ", p);
  math::ReducePlan plan = math::plan_reduce(x.dims(), {axis}, true);
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      std::vector<double> norm(size_t(plan.out_numel), 0.0);
      int64_t n = x.numel();
      StridedWalker w(x.dims(), {plan.in_to_out});
      for (int64_t i = 0; i < n; ++i, w.next()) {
        double v = double(to_compute(src[i]));
        norm[size_t(w.offset(0))] += p == 1 ? std::fabs(v) : v * v;
      }
      if (p == 2)
        for (double& v : norm) v = std::sqrt(v);
      StridedWalker w2(x.dims(), {plan.in_to_out});
      for (int64_t i = 0; i < n; ++i, w2.next())
        dst[i] = T(compute_t<T>(double(to_compute(src[i])) / norm[size_t(w2.offset(0))]));
    }
  });
  return {out};
}
WAFER_REGISTER_OP(lp_normalization,
                  {.name = "LpNormalization",
                   .cost = op_cost::vector_only(OpCost::Basis::Input, {{"reduce", 1}, {"mul", 1}, {"div", 1}}),
                   .since = 1,
                   .attrs = {{"axis", AttrType::Int}, {"p", AttrType::Int}},
                   .infer = infer_same_as_input,
                   .kernel = lp_norm_kernel});

// y = (x - mean) / (std + 1e-9) over `axes` (default [0, 2, 3]), as the ONNX
// function body; the variance is computed two-pass (never negative).
std::vector<Tensor> mvn_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), math::kFloatTypes);
  auto axes = normalize_axes(ctx.node.attr_ints("axes", std::vector<int64_t>{0, 2, 3}), x.rank(), ctx.node);
  math::ReducePlan plan = math::plan_reduce(x.dims(), axes, true);
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      int64_t n = x.numel();
      std::vector<double> mean(size_t(plan.out_numel), 0.0), var(size_t(plan.out_numel), 0.0);
      StridedWalker w(x.dims(), {plan.in_to_out});
      for (int64_t i = 0; i < n; ++i, w.next()) mean[size_t(w.offset(0))] += double(to_compute(src[i]));
      for (double& v : mean) v /= double(plan.group);
      StridedWalker w2(x.dims(), {plan.in_to_out});
      for (int64_t i = 0; i < n; ++i, w2.next()) {
        double d = double(to_compute(src[i])) - mean[size_t(w2.offset(0))];
        var[size_t(w2.offset(0))] += d * d;
      }
      for (double& v : var) v = std::sqrt(v / double(plan.group)) + 1e-9;
      StridedWalker w3(x.dims(), {plan.in_to_out});
      for (int64_t i = 0; i < n; ++i, w3.next()) {
        size_t o = size_t(w3.offset(0));
        dst[i] = T(compute_t<T>((double(to_compute(src[i])) - mean[o]) / var[o]));
      }
    }
  });
  return {out};
}
WAFER_REGISTER_OP(mvn, {.name = "MeanVarianceNormalization",
                        .cost = op_cost::composite(8, {{"reduce", 2}, {"add", 1}, {"mul", 1}, {"div", 1}}),
                        .since = 9,
                        .attrs = {{"axes", AttrType::Ints}},
                        .infer = infer_same_as_input,
                        .kernel = mvn_kernel});

}  // namespace
}  // namespace wafer
