#include "ops/nn_util.h"

namespace wafer {

namespace {

Dims ints_attr_or(const Node& node, const char* name, size_t rank, int64_t fill) {
  if (!node.has_attr(name)) return Dims(rank, fill);
  Dims v = node.attr_ints(name);
  check(v.size() == rank, node.label(), ": attribute ", name, " has ", v.size(), " entries, expected ", rank);
  return v;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

}  // namespace

Dims kernel_shape_attr(const Node& node, size_t rank) {
  check(node.has_attr("kernel_shape"), node.label(), ": attribute kernel_shape is required");
  Dims k = node.attr_ints("kernel_shape");
  check(k.size() == rank, node.label(), ": kernel_shape has ", k.size(), " entries for ", rank, " spatial dims");
  for (int64_t v : k) check(v > 0, node.label(), ": kernel_shape entries must be positive, got ", dims_to_string(k));
  return k;
}

SpatialGeometry sliding_window_geometry(const Node& node, const Dims& in, const Dims& kernel, GeometryOptions options) {
  size_t r = in.size();
  check(kernel.size() == r, node.label(), ": kernel has ", kernel.size(), " spatial dims, input has ", r);
  SpatialGeometry g;
  g.in = in;
  g.kernel = kernel;
  g.strides = ints_attr_or(node, "strides", r, 1);
  g.dilations = options.has_dilations ? ints_attr_or(node, "dilations", r, 1) : Dims(r, 1);
  Dims pads = ints_attr_or(node, "pads", 2 * r, 0);
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  bool ceil_mode = options.has_ceil_mode && node.attr_int("ceil_mode", 0) != 0;
  for (size_t i = 0; i < r; ++i) {
    check(g.kernel[i] > 0, node.label(), ": kernel dims must be positive, got ", dims_to_string(g.kernel));
    check(g.strides[i] > 0, node.label(), ": strides must be positive, got ", dims_to_string(g.strides));
    check(g.dilations[i] > 0, node.label(), ": dilations must be positive, got ", dims_to_string(g.dilations));
  }
  for (int64_t p : pads) check(p >= 0, node.label(), ": pads must be non-negative, got ", dims_to_string(pads));
  g.pad_begin.assign(r, 0);
  g.pad_end.assign(r, 0);
  g.out.assign(r, -1);
  for (size_t i = 0; i < r; ++i) {
    int64_t k = g.effective_kernel(i), s = g.strides[i];
    if (auto_pad == "NOTSET") {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + r];
    }
    if (in[i] < 0) continue;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[i] = ceil_div(in[i], s);
      int64_t total = std::max<int64_t>(0, (g.out[i] - 1) * s + k - in[i]);
      int64_t small = total / 2;
      // SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning.
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pad_end[i] = total - g.pad_begin[i];
    } else if (auto_pad == "VALID") {
      g.out[i] = in[i] >= k ? (in[i] - k) / s + 1 : 0;
    } else if (auto_pad == "NOTSET") {
      int64_t span = in[i] + g.pad_begin[i] + g.pad_end[i] - k;
      g.out[i] = ceil_mode ? ceil_div(span, s) + 1 : floor_div(span, s) + 1;
      // As PyTorch and ONNX Runtime: the last window must start inside the
      // input or its begin padding, not wholly in the end padding.
      if (ceil_mode && g.out[i] > 0 && (g.out[i] - 1) * s >= in[i] + g.pad_begin[i]) --g.out[i];
    } else {
      fail(node.label(), ": unknown auto_pad '", auto_pad, "'");
    }
    check(g.out[i] > 0, node.label(), ": output would be empty (input ", dims_to_string(in), ", kernel ",
          dims_to_string(kernel), ", pads and strides leave no window)");
  }
  return g;
}

Dims spatial_dims_of(const Shape& shape) {
  Dims d;
  for (size_t i = 2; i < shape.dims.size(); ++i) d.push_back(shape.dims[i].known() ? shape.dims[i].value : -1);
  return d;
}

Shape spatial_output_shape(const Dim& batch, const Dim& channels, const Dims& out) {
  Shape s;
  s.dims = {batch, channels};
  for (int64_t v : out) s.dims.push_back(v >= 0 ? Dim(v) : Dim());
  return s;
}

size_t check_spatial_input(const Node& node, const Dims& x, const char* what) {
  check(x.size() >= 3, node.label(), ": ", what, " must be [N, C, spatial...], got ", dims_to_string(x));
  if (x.size() > 5)
    throw UnsupportedError(node.label() + ": " + std::to_string(x.size() - 2) +
                           " spatial dims (at most 3 are supported)");
  return x.size() - 2;
}

Tensor to_float_compute(const Tensor& t) {
  if (t.dtype() == DType::Float32 || t.dtype() == DType::Float64) return t;
  return t.cast(DType::Float32);
}

Tensor from_float_compute(const Tensor& t, DType dtype) {
  return t.dtype() == dtype ? t : t.cast(dtype);
}

Dims to_3d(const Dims& d, int64_t fill) {
  Dims out(3 - std::min<size_t>(3, d.size()), fill);
  out.insert(out.end(), d.begin(), d.end());
  return out;
}

}  // namespace wafer
