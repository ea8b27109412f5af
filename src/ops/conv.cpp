// Conv, ConvInteger and QLinearConv: grouped 1-D/2-D/3-D convolution with
// strides, dilations, pads or auto_pad, on the direct loop nest of conv_core.h.
#include "ops/conv_core.h"
#include "ops/matrix_costs.h"
#include "ops/quant_util.h"

namespace wafer {

OpCounts conv_counts(const Graph& g, const Node& n, size_t w_index, size_t bias_index) {
  auto w = w_index < n.inputs.size() ? known_dims(g, n.inputs[w_index]) : std::nullopt;
  auto out = n.outputs.empty() ? std::nullopt : known_elements(g, n.outputs[0]);
  if (!w || !out || w->size() < 2) return {};
  return macs_and_flops(*out * dims_product(*w, 1), n.has_input(bias_index) ? *out : 0);
}

ConvParams conv_params(const Node& node, const Dims& x, const Dims& w) {
  size_t r = check_spatial_input(node, x, "X");
  check(w.size() == x.size(), node.label(), ": W ", dims_to_string(w), " must have the rank of X ", dims_to_string(x));
  int64_t groups = node.attr_int("group", 1);
  check(groups > 0, node.label(), ": group must be positive, got ", groups);
  ConvParams p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = w[0];
  p.groups = groups;
  check(x[1] % groups == 0 && w[0] % groups == 0, node.label(), ": channels (", x[1], " in, ", w[0],
        " out) are not divisible by group ", groups);
  check(w[1] * groups == x[1], node.label(), ": W ", dims_to_string(w), " expects ", w[1] * groups,
        " input channels, X ", dims_to_string(x), " has ", x[1]);
  Dims kernel(w.begin() + 2, w.end());
  if (node.has_attr("kernel_shape"))
    check(kernel_shape_attr(node, r) == kernel, node.label(), ": kernel_shape ",
          dims_to_string(node.attr_ints("kernel_shape")), " does not match W ", dims_to_string(w));
  for (int64_t k : kernel) check(k > 0, node.label(), ": W has an empty kernel ", dims_to_string(w));
  SpatialGeometry g = sliding_window_geometry(node, Dims(x.begin() + 2, x.end()), kernel);
  p.in = to_3d(g.in, 1);
  p.kernel = to_3d(g.kernel, 1);
  p.strides = to_3d(g.strides, 1);
  p.dilations = to_3d(g.dilations, 1);
  p.pad_begin = to_3d(g.pad_begin, 0);
  p.out = to_3d(g.out, 1);
  return p;
}

namespace {

Dims output_dims(const ConvParams& p, size_t spatial_rank) {
  Dims out{p.batch, p.out_channels};
  out.insert(out.end(), p.out.end() - int64_t(spatial_rank), p.out.end());
  return out;
}

std::vector<Tensor> conv(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& w = ctx.in(1);
  const Node& node = ctx.node;
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  check(w.dtype() == x.dtype() && (!ctx.has(2) || ctx.in(2).dtype() == x.dtype()), node.label(),
        ": X, W and B must have the same type");
  ConvParams p = conv_params(node, x.dims(), w.dims());
  if (ctx.has(2))
    check(ctx.in(2).rank() == 1 && ctx.in(2).dim(0) == p.out_channels, node.label(), ": B must be [", p.out_channels,
          "], got ", dims_to_string(ctx.in(2).dims()));
  Dims out = output_dims(p, size_t(x.rank() - 2));
  auto run = [&]<typename T>(const Tensor& xf, const Tensor& wf, const Tensor* bf) {
    Tensor y(dtype_of<T>(), out);
    conv_forward<T>(p, xf.data<T>(), wf.data<T>(), bf ? bf->data<T>() : nullptr, y.data<T>());
    return y;
  };
  if (x.dtype() == DType::Float64) return {run.operator()<double>(x, w, ctx.has(2) ? &ctx.in(2) : nullptr)};
  Tensor bf = ctx.has(2) ? to_float_compute(ctx.in(2)) : Tensor();
  Tensor y = run.operator()<float>(to_float_compute(x), to_float_compute(w), ctx.has(2) ? &bf : nullptr);
  return {from_float_compute(y, x.dtype())};
}

// int32 convolution of (x - x_zero_point) with (w - w_zero_point); the zero
// point of W may be per output channel. Padding contributes zero after the
// subtraction, i.e. X is padded with its zero point.
Tensor integer_conv(const Node& node, const Tensor& x, const Tensor* x_zp, const Tensor& w, const Tensor* w_zp,
                    const Tensor* bias) {
  require_dtype(node, x.dtype(), {DType::UInt8, DType::Int8}, "X");
  require_dtype(node, w.dtype(), {DType::UInt8, DType::Int8}, "W");
  ConvParams p = conv_params(node, x.dims(), w.dims());
  if (x_zp) check(x_zp->numel() == 1, node.label(), ": x_zero_point must be a scalar");
  Tensor xi = subtract_zero_point(x, x_zp, 0, node, "X");
  Tensor wi = subtract_zero_point(w, w_zp, 0, node, "W");
  if (bias) {
    require_dtype(node, bias->dtype(), {DType::Int32}, "B");
    check(bias->rank() == 1 && bias->dim(0) == p.out_channels, node.label(), ": B must be [", p.out_channels, "]");
  }
  Tensor y(DType::Int32, output_dims(p, size_t(x.rank() - 2)));
  conv_forward<int32_t>(p, xi.data<int32_t>(), wi.data<int32_t>(), bias ? bias->data<int32_t>() : nullptr,
                        y.data<int32_t>());
  return y;
}

std::vector<Tensor> conv_integer(const KernelContext& ctx) {
  return {integer_conv(ctx.node, ctx.in(0), ctx.has(2) ? ctx.inputs[2] : nullptr, ctx.in(1),
                       ctx.has(3) ? ctx.inputs[3] : nullptr, nullptr)};
}

// y = saturate(round(conv_int32 * x_scale * w_scale[m] / y_scale) + y_zero_point).
std::vector<Tensor> qlinear_conv(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x_scale = ctx.in(1);
  const Tensor& w = ctx.in(3);
  const Tensor& w_scale = ctx.in(4);
  const Tensor& y_scale = ctx.in(6);
  const Tensor& y_zp = ctx.in(7);
  for (const Tensor* s : {&x_scale, &w_scale, &y_scale}) require_dtype(node, s->dtype(), {DType::Float32}, "scale");
  require_dtype(node, y_zp.dtype(), {DType::UInt8, DType::Int8}, "y_zero_point");
  check(x_scale.numel() == 1 && y_scale.numel() == 1 && y_zp.numel() == 1, node.label(),
        ": x_scale, y_scale and y_zero_point must be scalars");
  Tensor acc = integer_conv(node, ctx.in(0), &ctx.in(2), w, &ctx.in(5), ctx.has(8) ? ctx.inputs[8] : nullptr);
  int64_t m = acc.dim(1), plane = acc.numel() / std::max<int64_t>(1, acc.dim(0) * m);
  check(w_scale.numel() == 1 || w_scale.numel() == m, node.label(), ": w_scale must have 1 or ", m, " elements");
  Tensor y(y_zp.dtype(), acc.dims());
  float xs = x_scale.data<float>()[0], ys = y_scale.data<float>()[0];
  const float* ws = w_scale.data<float>();
  int64_t zp = y_zp.get_int(0);
  const int32_t* src = acc.data<int32_t>();
  visit_dtype(y_zp.dtype(), [&]<typename Q>() {
    if constexpr (std::is_same_v<Q, uint8_t> || std::is_same_v<Q, int8_t>) {
      Q* dst = y.data<Q>();
      for (int64_t i = 0, total = acc.numel(); i < total; ++i) {
        float scale = xs * ws[per_axis_index(w_scale, (i / plane) % m)] / ys;
        dst[i] = saturate_round<Q>(float(src[i]) * scale, zp);
      }
    }
  });
  return {y};
}

// [N, M, out...] with symbolic N kept; spatial dims where X's are known.
Shape conv_output_shape(const Node& node, const Shape& x, const Shape& w) {
  if (!x.rank_known) return Shape::unknown_rank();
  check(x.rank() >= 3, node.label(), ": X must be [N, C, spatial...], got ", x.str());
  size_t r = size_t(x.rank() - 2);
  Dims kernel;
  if (w.rank_known) {
    check(w.rank() == x.rank(), node.label(), ": W ", w.str(), " must have the rank of X ", x.str());
    for (size_t i = 2; i < w.dims.size(); ++i) kernel.push_back(w.dims[i].known() ? w.dims[i].value : -1);
  }
  if (node.has_attr("kernel_shape")) kernel = kernel_shape_attr(node, r);
  Dim channels = w.rank_known ? w.dims[0] : Dim();
  if (std::find(kernel.begin(), kernel.end(), -1) != kernel.end() || kernel.size() != r) {
    return spatial_output_shape(x.dims[0], channels, Dims(r, -1));
  }
  SpatialGeometry g = sliding_window_geometry(node, spatial_dims_of(x), kernel);
  return spatial_output_shape(x.dims[0], channels, g.out);
}

std::vector<ValueType> infer_conv(const InferContext& ctx) {
  Shape w = ctx.has(1) ? ctx.in(1).shape : Shape::unknown_rank();
  return {typed(ctx.in(0).dtype, conv_output_shape(ctx.node, ctx.in(0).shape, w))};
}

std::vector<ValueType> infer_conv_integer(const InferContext& ctx) {
  Shape w = ctx.has(1) ? ctx.in(1).shape : Shape::unknown_rank();
  return {typed(DType::Int32, conv_output_shape(ctx.node, ctx.in(0).shape, w))};
}

std::vector<ValueType> infer_qlinear_conv(const InferContext& ctx) {
  Shape w = ctx.has(3) ? ctx.in(3).shape : Shape::unknown_rank();
  DType out = ctx.has(7) ? ctx.in(7).dtype : ctx.in(0).dtype;
  return {typed(out, conv_output_shape(ctx.node, ctx.in(0).shape, w))};
}

const std::vector<AttrSpec> conv_attrs = {{"auto_pad", AttrType::String}, {"dilations", AttrType::Ints},
                                          {"group", AttrType::Int},       {"kernel_shape", AttrType::Ints},
                                          {"pads", AttrType::Ints},       {"strides", AttrType::Ints}};

OpCost conv_cost(size_t w_index, size_t bias_index) {
  return {.count = [=](const Graph& g, const Node& n) { return conv_counts(g, n, w_index, bias_index); }};
}

// Conv as the npu's GEMM: M = batch x output pixels, K = C/group x kernel, N = M/group filters.
std::optional<GemmView> conv_gemm(const Graph& graph, const Node& node) {
  Dims x = required_dims(graph, node, node.inputs[0]), w = required_dims(graph, node, node.inputs.at(1)),
       y = required_dims(graph, node, node.outputs.at(0));
  check(x.size() >= 3 && w.size() == x.size() && y.size() == x.size(), node.label(), ": bad conv ranks");
  int64_t g = node.attr_int("group", 1);
  check(g > 0 && w[0] % g == 0, node.label(), ": bad group");
  GemmView v;
  v.groups = g;
  v.m = y[0] * dims_product(y, 2);
  v.k = w[1] * dims_product(w, 2);
  v.n = w[0] / g;
  v.weight_input = 1;
  const double im2col = double(v.m) * double(v.k) * double(g), input = double(dims_product(x));
  v.input_reuse = input > 0 ? std::max(1.0, im2col / input) : 1.0;
  return v;
}

OpCost conv_float_cost() {
  OpCost c = conv_cost(1, 2);
  c.gemm = conv_gemm;
  return c;
}

WAFER_REGISTER_OP(
    conv,
    {.name = "Conv", .cost = conv_float_cost(), .since = 1, .attrs = conv_attrs, .infer = infer_conv, .kernel = conv});
WAFER_REGISTER_OP(conv_integer, {.name = "ConvInteger",
                                 .cost = conv_cost(1, 99),
                                 .since = 10,
                                 .attrs = conv_attrs,
                                 .infer = infer_conv_integer,
                                 .kernel = conv_integer});
WAFER_REGISTER_OP(qlinear_conv, {.name = "QLinearConv",
                                 .cost = conv_cost(3, 8),
                                 .since = 10,
                                 .attrs = conv_attrs,
                                 .infer = infer_qlinear_conv,
                                 .kernel = qlinear_conv});

}  // namespace
}  // namespace wafer
