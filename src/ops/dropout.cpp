// Dropout. In inference (no training_mode, or ratio 0) it is the identity and
// its mask is all true. Training with ratio > 0 drops elements with a seeded
// generator (the `seed` attribute, else 0): deterministic, but not the random
// stream ONNX Runtime or numpy would draw.
#include <random>

#include "ops/nn_util.h"

namespace wafer {
namespace {

std::vector<Tensor> dropout(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "data");
  double ratio = node.attr_float("ratio", 0.5f);  // an attribute before version 12
  bool training = false;
  if (ctx.version() >= 12) {
    ratio = ctx.has(1) ? ctx.in(1).get_double(0) : 0.5;
    if (ctx.has(1)) check(ctx.in(1).numel() == 1, node.label(), ": ratio must be a scalar");
    if (ctx.has(2)) {
      check(ctx.in(2).numel() == 1, node.label(), ": training_mode must be a scalar");
      training = ctx.in(2).get_int(0) != 0;
    }
  }
  check(ratio >= 0 && ratio < 1, node.label(), ": ratio must be in [0, 1), got ", ratio);
  // Before version 10 the mask has the type of the data, from 10 on it is bool.
  DType mask_type = ctx.version() >= 10 ? DType::Bool : x.dtype();
  if (!training || ratio == 0) {
    Tensor mask = Tensor(DType::Bool, x.dims());
    std::fill(mask.data<bool>(), mask.data<bool>() + mask.numel(), true);
    return {x, mask.cast(mask_type)};
  }
  std::mt19937_64 rng(uint64_t(node.attr_int("seed", 0)));
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Tensor mask(DType::Bool, x.dims());
  bool* m = mask.data<bool>();
  for (int64_t i = 0; i < x.numel(); ++i) m[i] = uniform(rng) >= ratio;
  Tensor y(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      C scale = C(1.0 / (1.0 - ratio));
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) dst[i] = m[i] ? T(to_compute(src[i]) * scale) : T(C(0));
    }
  });
  return {y, mask.cast(mask_type)};
}

std::vector<ValueType> infer_dropout(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  return {x, typed(ctx.node.op_version >= 10 ? DType::Bool : x.dtype, x.shape)};
}

WAFER_REGISTER_OP(dropout,
                  {.name = "Dropout", .cost = op_cost::view(), .since = 7, .infer = infer_dropout, .kernel = dropout});

}  // namespace
}  // namespace wafer
