// MaxUnpool: scatters X into a zero tensor at the flat positions I that a
// MaxPool reported (indices into the whole output tensor).
#include <cstring>

#include "ops/nn_util.h"

namespace wafer {
namespace {

// Default output spatial size: the input of a MaxPool that produced X.
Dims default_unpool_dims(const Node& node, const Dims& x) {
  size_t r = check_spatial_input(node, x, "X");
  Dims kernel = kernel_shape_attr(node, r);
  Dims strides = node.attr_ints("strides", Dims(r, 1));
  Dims pads = node.attr_ints("pads", Dims(2 * r, 0));
  check(strides.size() == r && pads.size() == 2 * r, node.label(), ": strides/pads do not match ", r, " spatial dims");
  Dims out{x[0], x[1]};
  for (size_t i = 0; i < r; ++i) {
    check(strides[i] > 0 && pads[i] >= 0 && pads[i + r] >= 0, node.label(), ": bad strides or pads");
    int64_t v = (x[i + 2] - 1) * strides[i] + kernel[i] - pads[i] - pads[i + r];
    check(v > 0, node.label(), ": output spatial dim ", i, " would be ", v);
    out.push_back(v);
  }
  return out;
}

std::vector<Tensor> max_unpool(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& indices = ctx.in(1);
  const Node& node = ctx.node;
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  require_dtype(node, indices.dtype(), {DType::Int64}, "I");
  check(indices.dims() == x.dims(), node.label(), ": I ", dims_to_string(indices.dims()), " must have the shape of X ",
        dims_to_string(x.dims()));
  Dims natural = default_unpool_dims(node, x.dims());
  Dims out = natural;
  if (ctx.has(2)) {
    Dims given = ctx.in(2).to_int_vector();
    check(given.size() == out.size(), node.label(), ": output_shape ", dims_to_string(given), " must have rank ",
          out.size());
    check(given[0] == out[0] && given[1] == out[1], node.label(), ": output_shape ", dims_to_string(given),
          " must keep N and C of X");
    for (size_t i = 2; i < given.size(); ++i)
      check(given[i] >= natural[i], node.label(), ": output_shape ", dims_to_string(given), " is smaller than ",
            dims_to_string(natural));
    out = given;
  }
  // As the ONNX reference and its test data: indices address the tensor of the
  // default shape, which output_shape then extends at the end of each dim.
  Tensor y(x.dtype(), out);
  size_t es = dtype_size(x.dtype());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y.raw());
  const int64_t* idx = indices.data<int64_t>();
  int64_t natural_count = element_count(natural);
  Dims out_strides = strides_of(out);
  for (int64_t i = 0; i < x.numel(); ++i) {
    check(idx[i] >= 0 && idx[i] < natural_count, node.label(), ": index ", idx[i], " is outside the unpooled ",
          dims_to_string(natural));
    int64_t rest = idx[i], at = 0;
    for (size_t d = natural.size(); d-- > 0;) {
      at += (rest % natural[d]) * out_strides[d];
      rest /= natural[d];
    }
    std::memcpy(dst + size_t(at) * es, src + size_t(i) * es, es);
  }
  return {y};
}

std::vector<ValueType> infer_max_unpool(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  if (const Tensor* shape = ctx.constant(2)) return {typed(x.dtype, Shape::from(shape->to_int_vector()))};
  if (ctx.has(2) || !x.shape.fully_known()) {
    if (!x.shape.rank_known) return {typed(x.dtype, Shape::unknown_rank())};
    Shape s = x.shape;
    for (size_t i = 2; i < s.dims.size(); ++i) s.dims[i] = Dim();
    return {typed(x.dtype, s)};
  }
  return {typed(x.dtype, Shape::from(default_unpool_dims(ctx.node, x.shape.concrete())))};
}

WAFER_REGISTER_OP(max_unpool, {.name = "MaxUnpool",
                               .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                               .since = 9,
                               .infer = infer_max_unpool,
                               .kernel = max_unpool});

}  // namespace
}  // namespace wafer
