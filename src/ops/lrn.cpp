// LRN: local response normalization across channels,
//   y = x / (bias + alpha / size * sum of x^2 over nearby channels)^beta,
// the window covering channels [c - floor((size-1)/2), c + ceil((size-1)/2)].
#include <cmath>

#include "ops/nn_util.h"

namespace wafer {
namespace {

std::vector<Tensor> lrn(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  check(x.rank() >= 2, node.label(), ": X must be [N, C, ...], got ", dims_to_string(x.dims()));
  int64_t size = node.attr_int("size");
  check(size > 0, node.label(), ": size must be positive, got ", size);
  double alpha = node.attr_float("alpha", 1e-4f), beta = node.attr_float("beta", 0.75f),
         bias = node.attr_float("bias", 1.0f);
  int64_t n = x.dim(0), c = x.dim(1), inner = n * c == 0 ? 0 : x.numel() / (n * c);
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  Tensor y(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      for (int64_t b = 0; b < n; ++b)
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t j = 0; j < inner; ++j) {
            C sum = 0;
            for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
              C v = to_compute(src[(b * c + k) * inner + j]);
              sum += v * v;
            }
            C v = to_compute(src[(b * c + ch) * inner + j]);
            dst[(b * c + ch) * inner + j] = T(C(v / std::pow(C(bias) + C(alpha) / C(size) * sum, C(beta))));
          }
    }
  });
  return {y};
}

WAFER_REGISTER_OP(lrn, {.name = "LRN",
                        .cost = op_cost::vector_only(OpCost::Basis::Input,
                                                     {{"reduce", 1}, {"mul", 2}, {"exp", 2}, {"div", 1}}),
                        .since = 1,
                        .attrs = {{"size", AttrType::Int, true},
                                  {"alpha", AttrType::Float},
                                  {"beta", AttrType::Float},
                                  {"bias", AttrType::Float}},
                        .infer = infer_same_as_input,
                        .kernel = lrn});

}  // namespace
}  // namespace wafer
