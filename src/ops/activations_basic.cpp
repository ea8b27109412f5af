// Relu: the first activation, kept apart as the simplest example of an op file.
#include "ops/op_util.h"

namespace wafer {
namespace {

std::vector<Tensor> relu(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(),
                {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int8, DType::Int16,
                 DType::Int32, DType::Int64});
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
      return {};
    } else {
      using C = compute_t<T>;
      return {map_unary<T>(x, [](C v) { return v > C(0) ? v : C(0); })};
    }
  });
}

WAFER_REGISTER_OP(relu, {.name = "Relu",
                         .cost = op_cost::elementwise({{"max", 1}}, /*epilogue=*/true),
                         .since = 6,
                         .infer = infer_same_as_input,
                         .kernel = relu});

}  // namespace
}  // namespace wafer
