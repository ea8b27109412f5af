// ConvTranspose: the gradient of Conv with respect to its input. Each input
// element scatters input * kernel into the output; pads crop the full result,
// output_padding extends it at the end, output_shape picks pads to reach it.
#include "ops/conv_transpose_geometry.h"
#include "ops/nn_util.h"

namespace wafer {

TransposeGeometry transpose_geometry(const Node& node, const Dims& in, const Dims& kernel) {
  size_t r = in.size();
  auto ints_or = [&](const char* name, size_t n, int64_t fill) {
    if (!node.has_attr(name)) return Dims(n, fill);
    Dims v = node.attr_ints(name);
    check(v.size() == n, node.label(), ": attribute ", name, " has ", v.size(), " entries, expected ", n);
    return v;
  };
  TransposeGeometry g{in, kernel, ints_or("strides", r, 1), ints_or("dilations", r, 1), Dims(r, 0), Dims(r, -1)};
  Dims pads = ints_or("pads", 2 * r, 0);
  Dims output_padding = ints_or("output_padding", r, 0);
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  check(auto_pad == "NOTSET" || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" || auto_pad == "VALID",
        node.label(), ": unknown auto_pad '", auto_pad, "'");
  Dims output_shape;
  if (node.has_attr("output_shape")) {
    output_shape = node.attr_ints("output_shape");
    if (output_shape.size() == r + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    check(output_shape.size() == r, node.label(), ": output_shape has ", output_shape.size(), " entries for ", r,
          " spatial dims");
  }
  for (size_t i = 0; i < r; ++i) {
    check(g.strides[i] > 0 && g.dilations[i] > 0 && kernel[i] > 0, node.label(),
          ": strides, dilations and kernel dims must be positive");
    check(pads[i] >= 0 && pads[i + r] >= 0 && output_padding[i] >= 0, node.label(),
          ": pads and output_padding must be non-negative");
    if (in[i] < 0) continue;
    int64_t full = g.strides[i] * (in[i] - 1) + output_padding[i] + (kernel[i] - 1) * g.dilations[i] + 1;
    int64_t total = 0;
    bool upper = auto_pad == "SAME_UPPER";
    if (!output_shape.empty())
      total = full - output_shape[i];
    else if (upper || auto_pad == "SAME_LOWER")
      total = full - in[i] * g.strides[i];
    if (!output_shape.empty() || upper || auto_pad == "SAME_LOWER") {
      // As the spec: SAME_UPPER puts the odd pad at the end, anything else at the beginning.
      // An output_shape larger than the full result extends it at the end (as the ONNX test
      // data and ONNX Runtime do), so a negative total never shifts the start.
      g.pad_begin[i] = std::max<int64_t>(0, upper ? total / 2 : total - total / 2);
      g.out[i] = full - total;
    } else {
      g.pad_begin[i] = auto_pad == "VALID" ? 0 : pads[i];
      g.out[i] = full - (auto_pad == "VALID" ? 0 : pads[i] + pads[i + r]);
    }
    check(g.out[i] > 0, node.label(), ": output spatial dim ", i, " would be ", g.out[i]);
  }
  return g;
}

namespace {

template <typename T>
void conv_transpose_forward(const TransposeGeometry& g3, int64_t batch, int64_t c, int64_t m, int64_t groups,
                            const T* x, const T* w, const T* bias, T* y) {
  const int64_t cg = c / groups, mg = m / groups;
  const Dims &in = g3.in, &k = g3.kernel, &s = g3.strides, &d = g3.dilations, &pb = g3.pad_begin, &out = g3.out;
  const int64_t in_plane = in[0] * in[1] * in[2], out_plane = out[0] * out[1] * out[2], ksize = k[0] * k[1] * k[2];
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t oc = 0; oc < mg; ++oc) {
        T* yp = y + (n * m + g * mg + oc) * out_plane;
        std::fill(yp, yp + out_plane, bias ? bias[g * mg + oc] : T(0));
      }
      for (int64_t ic = 0; ic < cg; ++ic) {
        const T* xp = x + (n * c + g * cg + ic) * in_plane;
        for (int64_t oc = 0; oc < mg; ++oc) {
          const T* wk = w + ((g * cg + ic) * mg + oc) * ksize;
          T* yp = y + (n * m + g * mg + oc) * out_plane;
          for (int64_t kd = 0; kd < k[0]; ++kd)
            for (int64_t kh = 0; kh < k[1]; ++kh)
              for (int64_t kw = 0; kw < k[2]; ++kw) {
                const T wv = wk[(kd * k[1] + kh) * k[2] + kw];
                // Input columns whose output column iw*s - pb + kw*d lies in [0, out).
                const int64_t off = kw * d[2] - pb[2];
                int64_t lo = off >= 0 ? 0 : (-off + s[2] - 1) / s[2];
                int64_t hi = out[2] - 1 - off < 0 ? -1 : std::min(in[2] - 1, (out[2] - 1 - off) / s[2]);
                for (int64_t id = 0; id < in[0]; ++id) {
                  const int64_t od = id * s[0] - pb[0] + kd * d[0];
                  if (od < 0 || od >= out[0]) continue;
                  for (int64_t ih = 0; ih < in[1]; ++ih) {
                    const int64_t oh = ih * s[1] - pb[1] + kh * d[1];
                    if (oh < 0 || oh >= out[1]) continue;
                    const T* xrow = xp + (id * in[1] + ih) * in[2];
                    T* yrow = yp + (od * out[1] + oh) * out[2] + off;
                    for (int64_t iw = lo; iw <= hi; ++iw) yrow[iw * s[2]] += wv * xrow[iw];
                  }
                }
              }
        }
      }
    }
}

std::vector<Tensor> conv_transpose(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  const Tensor& w = ctx.in(1);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  check(w.dtype() == x.dtype() && (!ctx.has(2) || ctx.in(2).dtype() == x.dtype()), node.label(),
        ": X, W and B must have the same type");
  size_t r = check_spatial_input(node, x.dims(), "X");
  check(w.rank() == x.rank(), node.label(), ": W ", dims_to_string(w.dims()), " must have the rank of X");
  int64_t groups = node.attr_int("group", 1);
  check(groups > 0 && x.dim(1) % groups == 0, node.label(), ": input channels ", x.dim(1), " not divisible by group ",
        groups);
  check(w.dim(0) == x.dim(1), node.label(), ": W ", dims_to_string(w.dims()), " expects ", w.dim(0),
        " input channels, X has ", x.dim(1));
  int64_t m = w.dim(1) * groups;
  Dims kernel(w.dims().begin() + 2, w.dims().end());
  if (node.has_attr("kernel_shape"))
    check(kernel_shape_attr(node, r) == kernel, node.label(), ": kernel_shape does not match W ",
          dims_to_string(w.dims()));
  if (ctx.has(2)) check(ctx.in(2).rank() == 1 && ctx.in(2).dim(0) == m, node.label(), ": B must be [", m, "]");
  TransposeGeometry g = transpose_geometry(node, Dims(x.dims().begin() + 2, x.dims().end()), kernel);
  TransposeGeometry g3{to_3d(g.in, 1),        to_3d(g.kernel, 1),    to_3d(g.strides, 1),
                       to_3d(g.dilations, 1), to_3d(g.pad_begin, 0), to_3d(g.out, 1)};
  Dims out_dims{x.dim(0), m};
  out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
  auto run = [&]<typename T>(const Tensor& xf, const Tensor& wf, const Tensor* bf) {
    Tensor y(dtype_of<T>(), out_dims);
    conv_transpose_forward<T>(g3, x.dim(0), x.dim(1), m, groups, xf.data<T>(), wf.data<T>(),
                              bf ? bf->data<T>() : nullptr, y.data<T>());
    return y;
  };
  if (x.dtype() == DType::Float64) return {run.operator()<double>(x, w, ctx.has(2) ? &ctx.in(2) : nullptr)};
  Tensor bf = ctx.has(2) ? to_float_compute(ctx.in(2)) : Tensor();
  Tensor y = run.operator()<float>(to_float_compute(x), to_float_compute(w), ctx.has(2) ? &bf : nullptr);
  return {from_float_compute(y, x.dtype())};
}

std::vector<ValueType> infer_conv_transpose(const InferContext& ctx) {
  const Shape& x = ctx.in(0).shape;
  if (!x.rank_known) return {typed(ctx.in(0).dtype, Shape::unknown_rank())};
  check(x.rank() >= 3, ctx.node.label(), ": X must be [N, C, spatial...], got ", x.str());
  size_t r = size_t(x.rank() - 2);
  Shape w = ctx.has(1) ? ctx.in(1).shape : Shape::unknown_rank();
  Dims kernel(r, -1);
  Dim channels;
  if (w.rank_known && w.rank() == x.rank()) {
    for (size_t i = 0; i < r; ++i) kernel[i] = w.dims[i + 2].known() ? w.dims[i + 2].value : -1;
    if (w.dims[1].known()) channels = Dim(w.dims[1].value * ctx.node.attr_int("group", 1));
  }
  if (ctx.node.has_attr("kernel_shape")) kernel = kernel_shape_attr(ctx.node, r);
  if (std::find(kernel.begin(), kernel.end(), -1) != kernel.end())
    return {typed(ctx.in(0).dtype, spatial_output_shape(x.dims[0], channels, Dims(r, -1)))};
  TransposeGeometry g = transpose_geometry(ctx.node, spatial_dims_of(x), kernel);
  return {typed(ctx.in(0).dtype, spatial_output_shape(x.dims[0], channels, g.out))};
}

// Every input element scatters into (M/group) x kernel outputs, plus the bias add.
OpCounts conv_transpose_counts(const Graph& g, const Node& n) {
  auto w = n.inputs.size() > 1 ? known_dims(g, n.inputs[1]) : std::nullopt;
  auto x = n.inputs.empty() ? std::nullopt : known_elements(g, n.inputs[0]);
  auto out = n.outputs.empty() ? std::nullopt : known_elements(g, n.outputs[0]);
  if (!w || !x || !out || w->size() < 2) return {};
  return macs_and_flops(*x * dims_product(*w, 1), n.has_input(2) ? *out : 0);
}

WAFER_REGISTER_OP(conv_transpose, {.name = "ConvTranspose",
                                   .cost = {.count = conv_transpose_counts},
                                   .since = 1,
                                   .infer = infer_conv_transpose,
                                   .kernel = conv_transpose});

}  // namespace
}  // namespace wafer
