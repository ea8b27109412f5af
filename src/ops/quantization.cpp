// QuantizeLinear, DequantizeLinear (per tensor, and per axis from version 13)
// and DynamicQuantizeLinear.
#include <algorithm>

#include "ops/quant_util.h"

namespace wafer {
namespace {

// Axis along which 1-D scales apply (version 13+), and the extent of one
// step along it (the product of the dims after it).
struct AxisLayout {
  int64_t axis = 0, extent = 1, inner = 1;
};

AxisLayout axis_layout(const KernelContext& ctx, const Tensor& x, const Tensor& scale) {
  AxisLayout l;
  if (scale.numel() == 1 && scale.rank() <= 1) return l;
  check(ctx.version() >= 13, ctx.node.label(), ": per-axis scales need version 13, scale is ",
        dims_to_string(scale.dims()));
  check(scale.rank() == 1, ctx.node.label(), ": scale must be a scalar or 1-D, got ", dims_to_string(scale.dims()));
  l.axis = normalize_axis(ctx.node.attr_int("axis", 1), x.rank(), ctx.node);
  l.extent = x.dim(l.axis);
  check(scale.numel() == l.extent, ctx.node.label(), ": scale has ", scale.numel(), " elements, dim ", l.axis,
        " of the input has ", l.extent);
  for (int64_t d = l.axis + 1; d < x.rank(); ++d) l.inner *= x.dim(d);
  return l;
}

int64_t axis_index(const AxisLayout& l, int64_t i) {
  return l.extent == 1 ? 0 : (i / l.inner) % l.extent;
}

void check_zero_point(const KernelContext& ctx, const Tensor& zp, const Tensor& scale) {
  check(zp.dims() == scale.dims() || (zp.numel() == 1 && scale.numel() == 1), ctx.node.label(), ": zero point ",
        dims_to_string(zp.dims()), " must have the shape of the scale ", dims_to_string(scale.dims()));
}

std::vector<Tensor> quantize_linear(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& scale = ctx.in(1);
  require_dtype(ctx.node, x.dtype(), {DType::Float32, DType::Int32, DType::Float16, DType::BFloat16, DType::Float64},
                "x");
  require_dtype(ctx.node, scale.dtype(), {DType::Float32, DType::Float16, DType::BFloat16, DType::Float64}, "y_scale");
  DType out_type = ctx.has(2) ? ctx.in(2).dtype() : DType::UInt8;
  require_dtype(ctx.node, out_type, {DType::UInt8, DType::Int8}, "y_zero_point");
  if (ctx.has(2)) check_zero_point(ctx, ctx.in(2), scale);
  AxisLayout l = axis_layout(ctx, x, scale);
  Tensor xf = x.cast(DType::Float32), sf = scale.cast(DType::Float32);
  const float* px = xf.data<float>();
  const float* ps = sf.data<float>();
  Tensor y(out_type, x.dims());
  visit_dtype(out_type, [&]<typename Q>() {
    if constexpr (std::is_same_v<Q, uint8_t> || std::is_same_v<Q, int8_t>) {
      const Q* zp = ctx.has(2) ? ctx.in(2).data<Q>() : nullptr;
      Q* dst = y.data<Q>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t a = axis_index(l, i);
        dst[i] = saturate_round<Q>(px[i] / ps[a], zp ? zp[a] : 0);
      }
    }
  });
  return {y};
}

std::vector<Tensor> dequantize_linear(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& scale = ctx.in(1);
  require_dtype(ctx.node, x.dtype(), {DType::UInt8, DType::Int8, DType::Int32}, "x");
  require_dtype(ctx.node, scale.dtype(), {DType::Float32}, "x_scale");
  AxisLayout l = axis_layout(ctx, x, scale);
  Tensor zp;
  if (ctx.has(2)) {
    check(ctx.in(2).dtype() == x.dtype(), ctx.node.label(), ": x_zero_point must have the type of x");
    check_zero_point(ctx, ctx.in(2), scale);
    zp = ctx.in(2).cast(DType::Int32);
  }
  Tensor xi = x.cast(DType::Int32);
  const int32_t* px = xi.data<int32_t>();
  const float* ps = scale.data<float>();
  Tensor y(DType::Float32, x.dims());
  float* dst = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t a = axis_index(l, i);
    int64_t z = zp.defined() ? zp.data<int32_t>()[a] : 0;
    dst[i] = float(int64_t(px[i]) - z) * ps[a];
  }
  return {y};
}

// Scale and zero point chosen so that [min(x, 0), max(x, 0)] maps onto [0, 255].
std::vector<Tensor> dynamic_quantize_linear(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(), {DType::Float32}, "x");
  const float* px = x.data<float>();
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    check(std::isfinite(px[i]), ctx.node.label(), ": input holds a non-finite value");
    lo = std::min(lo, px[i]);
    hi = std::max(hi, px[i]);
  }
  float scale = (hi - lo) / 255.0f;
  uint8_t zp = scale == 0 ? 0 : saturate_round<uint8_t>((0.0f - lo) / scale);
  Tensor y(DType::UInt8, x.dims());
  uint8_t* dst = y.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) dst[i] = scale == 0 ? zp : saturate_round<uint8_t>(px[i] / scale, zp);
  return {y, Tensor::scalar<float>(scale), Tensor::scalar<uint8_t>(zp)};
}

std::vector<ValueType> infer_quantize(const InferContext& ctx) {
  DType out = ctx.has(2) ? ctx.in(2).dtype : DType::UInt8;
  return {typed(out, ctx.in(0).shape)};
}

std::vector<ValueType> infer_dequantize(const InferContext& ctx) {
  return {typed(DType::Float32, ctx.in(0).shape)};
}

std::vector<ValueType> infer_dynamic_quantize(const InferContext& ctx) {
  return {typed(DType::UInt8, ctx.in(0).shape), typed(DType::Float32, Shape()), typed(DType::UInt8, Shape())};
}

WAFER_REGISTER_OP(quantize_linear, {.name = "QuantizeLinear",
                                    .cost = op_cost::elementwise({{"div", 1}, {"add", 1}, {"max", 2}}),
                                    .since = 10,
                                    .infer = infer_quantize,
                                    .kernel = quantize_linear});
WAFER_REGISTER_OP(dequantize_linear, {.name = "DequantizeLinear",
                                      .cost = op_cost::elementwise({{"add", 1}, {"mul", 1}}),
                                      .since = 10,
                                      .infer = infer_dequantize,
                                      .kernel = dequantize_linear});
WAFER_REGISTER_OP(dynamic_quantize_linear,
                  {.name = "DynamicQuantizeLinear",
                   .cost = op_cost::vector_only(OpCost::Basis::Input,
                                                {{"reduce", 2}, {"div", 1}, {"add", 1}, {"max", 2}}),
                   .since = 11,
                   .infer = infer_dynamic_quantize,
                   .kernel = dynamic_quantize_linear});

}  // namespace
}  // namespace wafer
