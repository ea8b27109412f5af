// Resize (v10, v11, v13) and Upsample (v7, v9): separable nearest / linear /
// cubic interpolation. Each output coordinate along each axis maps back to an
// input coordinate (coordinate_transformation_mode) and then to a few input
// taps with weights; the N-D result is the product of the per-axis weights.
#include <cmath>

#include "ops/misc_util.h"
#include "ops/op_util.h"

namespace wafer {
namespace {

enum class Mode { Nearest, Linear, Cubic };

struct Tap {
  int64_t index;
  double weight;
};

struct AxisPlan {
  std::vector<std::vector<Tap>> taps;  // per output index
  std::vector<bool> outside;           // tf_crop_and_resize: output takes extrapolation_value
};

struct ResizeSpec {
  Mode mode = Mode::Nearest;
  std::string coord = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";
  bool legacy_nearest = false;  // Resize-10 / Upsample: floor when upsampling, ceil when downsampling
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
  std::vector<double> scales;
  Dims out_dims;
  std::vector<double> roi;  // [starts..., ends...] or empty
};

Mode parse_mode(const Node& node, const std::string& m) {
  if (m == "nearest") return Mode::Nearest;
  if (m == "linear" || m == "bilinear") return Mode::Linear;  // "bilinear" is Upsample-7's spelling
  if (m == "cubic") return Mode::Cubic;
  fail(node.label(), ": unknown mode '", m, "'");
}

std::vector<double> cubic_coeffs(double r, double a) {
  double s = 1 - r;
  return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
          ((a + 2) * s - (a + 3)) * s * s + 1, ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a};
}

int64_t round_nearest(double x, const std::string& mode, const Node& node) {
  double f = std::floor(x);
  if (x == f) return int64_t(f);
  double frac = x - f;
  if (mode == "round_prefer_floor") return int64_t(frac <= 0.5 ? f : f + 1);
  if (mode == "round_prefer_ceil") return int64_t(frac < 0.5 ? f : f + 1);
  if (mode == "floor") return int64_t(f);
  if (mode == "ceil") return int64_t(f + 1);
  fail(node.label(), ": unknown nearest_mode '", mode, "'");
}

AxisPlan plan_axis(const ResizeSpec& s, size_t axis, int64_t in, int64_t out, const Node& node) {
  AxisPlan plan;
  plan.taps.resize(size_t(out));
  plan.outside.assign(size_t(out), false);
  double scale = s.scales[axis];
  double out_len = scale * double(in);  // the specification's "length_resized" in float
  for (int64_t x = 0; x < out; ++x) {
    double xo = 0;
    const std::string& c = s.coord;
    if (c == "half_pixel") {
      xo = (double(x) + 0.5) / scale - 0.5;
    } else if (c == "pytorch_half_pixel") {
      xo = out > 1 ? (double(x) + 0.5) / scale - 0.5 : -0.5;
    } else if (c == "align_corners") {
      xo = out_len == 1 ? 0 : double(x) * double(in - 1) / (out_len - 1);
    } else if (c == "asymmetric") {
      xo = double(x) / scale;
    } else if (c == "tf_half_pixel_for_nn") {
      xo = (double(x) + 0.5) / scale;
    } else if (c == "tf_crop_and_resize") {
      size_t rank = s.roi.size() / 2;
      double start = s.roi[axis], end = s.roi[axis + rank];
      xo = out_len == 1 ? (end - start) * double(in - 1) / 2
                        : double(x) * (end - start) * double(in - 1) / (out_len - 1);
      xo += start * double(in - 1);
      if (xo < 0 || xo > double(in - 1)) {
        plan.outside[size_t(x)] = true;
        continue;
      }
    } else {
      fail(node.label(), ": unknown coordinate_transformation_mode '", c, "'");
    }
    auto& taps = plan.taps[size_t(x)];
    auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
    if (s.mode == Mode::Nearest) {
      int64_t i = 0;
      if (s.legacy_nearest)
        i = scale < 1 ? int64_t(std::ceil(xo)) : int64_t(std::floor(xo));
      else
        i = round_nearest(xo, s.nearest_mode, node);
      taps.push_back({clamp(i), 1.0});
      continue;
    }
    // An exact input coordinate is treated as ratio 1 from the previous index,
    // as the reference implementation does, so that it picks the sample itself.
    double base = std::floor(xo);
    double ratio = xo - base;
    if (ratio == 0) {
      base -= 1;
      ratio = 1;
    }
    std::vector<double> w;
    int64_t first = 0;
    if (s.mode == Mode::Linear) {
      w = {1 - ratio, ratio};
      first = int64_t(base);
    } else {
      w = cubic_coeffs(ratio, s.cubic_a);
      first = int64_t(base) - 1;
    }
    if (s.exclude_outside) {
      double sum = 0;
      for (size_t k = 0; k < w.size(); ++k) {
        int64_t i = first + int64_t(k);
        if (i < 0 || i >= in) w[k] = 0;
        sum += w[k];
      }
      check(sum != 0, node.label(), ": exclude_outside leaves no weight at output index ", x);
      for (double& v : w) v /= sum;
    }
    for (size_t k = 0; k < w.size(); ++k)
      if (w[k] != 0) taps.push_back({clamp(first + int64_t(k)), w[k]});
  }
  return plan;
}

template <typename T>
Tensor resize_typed(const Tensor& x, const ResizeSpec& s, const Node& node) {
  size_t rank = size_t(x.rank());
  check_output_size(node, s.out_dims, x.dtype());
  if (element_count(s.out_dims) == 0) return Tensor(x.dtype(), s.out_dims);
  std::vector<AxisPlan> plans;
  for (size_t a = 0; a < rank; ++a) plans.push_back(plan_axis(s, a, x.dim(int64_t(a)), s.out_dims[a], node));
  Tensor out(x.dtype(), s.out_dims);
  int64_t n = out.numel();
  if (n == 0) return out;
  check(x.numel() > 0, node.label(), ": cannot resize an empty input to a non-empty output");
  Dims in_strides = strides_of(x.dims());
  const T* src = x.data<T>();
  T* dst = out.data<T>();
  Dims idx(rank, 0);
  std::vector<size_t> tap(rank, 0);
  for (int64_t o = 0; o < n; ++o) {
    bool outside = false;
    for (size_t a = 0; a < rank; ++a) outside = outside || plans[a].outside[size_t(idx[a])];
    double acc = 0;
    if (outside) {
      acc = s.extrapolation;
    } else {
      // Sum over the cartesian product of the per-axis taps.
      std::fill(tap.begin(), tap.end(), 0);
      for (bool more = true; more;) {
        double w = 1;
        int64_t off = 0;
        for (size_t a = 0; a < rank; ++a) {
          const Tap& t = plans[a].taps[size_t(idx[a])][tap[a]];
          w *= t.weight;
          off += t.index * in_strides[a];
        }
        acc += w * double(to_compute(src[off]));
        more = false;  // odometer step over the tap indices
        for (size_t a = rank; a > 0 && !more; --a) {
          if (++tap[a - 1] < plans[a - 1].taps[size_t(idx[a - 1])].size())
            more = true;
          else
            tap[a - 1] = 0;
        }
      }
    }
    if constexpr (std::is_integral_v<T>)
      dst[o] = T(std::round(acc));
    else
      dst[o] = T(compute_t<T>(acc));
    for (size_t a = rank; a > 0; --a) {
      if (++idx[a - 1] < s.out_dims[a - 1]) break;
      idx[a - 1] = 0;
    }
  }
  return out;
}

// Output dims from scales (floor(in * scale)) or sizes; fills spec.scales too.
void resolve_output(ResizeSpec& s, const Dims& in, const Tensor* scales, const Tensor* sizes, const Node& node) {
  size_t rank = in.size();
  if (sizes && sizes->numel() > 0) {
    check(!scales || scales->numel() == 0, node.label(), ": only one of 'scales' and 'sizes' may be given");
    check(size_t(sizes->numel()) == rank, node.label(), ": sizes has ", sizes->numel(), " values for rank ", rank);
    s.out_dims = sizes->to_int_vector();
    s.scales.clear();
    for (size_t a = 0; a < rank; ++a) {
      check(s.out_dims[a] >= 0, node.label(), ": negative size ", s.out_dims[a]);
      check(in[a] > 0 || s.out_dims[a] == 0, node.label(), ": cannot resize an empty axis to ", s.out_dims[a]);
      s.scales.push_back(in[a] > 0 ? double(s.out_dims[a]) / double(in[a]) : 1.0);
    }
    return;
  }
  check(scales && scales->numel() > 0, node.label(), ": one of 'scales' and 'sizes' must be given");
  check(size_t(scales->numel()) == rank, node.label(), ": scales has ", scales->numel(), " values for rank ", rank);
  s.scales.clear();
  s.out_dims.clear();
  for (size_t a = 0; a < rank; ++a) {
    // Scales arrive as float32; keep that precision so floor(in * scale) matches.
    double sc = double(float(scales->get_double(int64_t(a))));
    check(sc > 0 && std::isfinite(sc), node.label(), ": scales must be positive, got ", sc);
    s.scales.push_back(sc);
    double o = std::floor(double(in[a]) * sc);
    check(o < 1e15, node.label(), ": output size ", o, " is too large");
    s.out_dims.push_back(int64_t(o));
  }
}

ResizeSpec read_spec(const Node& node, int version) {
  ResizeSpec s;
  s.mode = parse_mode(node, node.attr_string("mode", "nearest"));
  if (node.op_type == "Upsample" || version < 11) {
    s.coord = "asymmetric";
    s.legacy_nearest = true;
    check(s.mode != Mode::Cubic, node.label(), ": cubic mode needs Resize-11 or later");
    return s;
  }
  s.coord = node.attr_string("coordinate_transformation_mode", "half_pixel");
  s.nearest_mode = node.attr_string("nearest_mode", "round_prefer_floor");
  s.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  s.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  s.extrapolation = node.attr_float("extrapolation_value", 0.0f);
  return s;
}

std::vector<Tensor> run_resize(const KernelContext& ctx, ResizeSpec& s) {
  const Tensor& x = ctx.in(0);
  check(x.dtype() != DType::Bool || s.mode == Mode::Nearest, ctx.node.label(), ": only nearest mode supports bool");
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> { return {resize_typed<T>(x, s, ctx.node)}; });
}

std::vector<Tensor> resize_kernel(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  ResizeSpec s = read_spec(node, ctx.version());
  if (ctx.version() < 11) {
    resolve_output(s, x.dims(), &ctx.in(1), nullptr, node);
  } else {
    resolve_output(s, x.dims(), ctx.has(2) ? &ctx.in(2) : nullptr, ctx.has(3) ? &ctx.in(3) : nullptr, node);
    if (s.coord == "tf_crop_and_resize") {
      check(ctx.has(1), node.label(), ": tf_crop_and_resize needs the 'roi' input");
      const Tensor& roi = ctx.in(1);
      check(roi.numel() == 2 * x.rank(), node.label(), ": roi needs ", 2 * x.rank(), " values, got ", roi.numel());
      for (int64_t i = 0; i < roi.numel(); ++i) s.roi.push_back(roi.get_double(i));
    }
  }
  return run_resize(ctx, s);
}

std::vector<Tensor> upsample_kernel(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  ResizeSpec s = read_spec(node, ctx.version());
  if (ctx.version() < 9) {
    std::vector<float> sc = node.attr_floats("scales");
    Tensor scales = Tensor::from_vector<float>({int64_t(sc.size())}, sc);
    resolve_output(s, x.dims(), &scales, nullptr, node);
  } else {
    resolve_output(s, x.dims(), &ctx.in(1), nullptr, node);
  }
  return run_resize(ctx, s);
}

// Shape of the output when scales or sizes are constants.
std::vector<ValueType> infer_resize(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  const Node& node = ctx.node;
  int version = node.op_version;
  const Tensor* scales = nullptr;
  const Tensor* sizes = nullptr;
  std::optional<Tensor> attr_scales;
  if (node.op_type == "Upsample" && version < 9) {
    auto v = node.attr_floats("scales");
    attr_scales = Tensor::from_vector<float>({int64_t(v.size())}, v);
    scales = &*attr_scales;
  } else if (node.op_type == "Upsample" || version < 11) {
    scales = ctx.constant(1);
  } else {
    scales = ctx.constant(2);
    sizes = ctx.constant(3);
  }
  if (!x.shape.rank_known) return {typed(x.dtype, Shape::unknown_rank())};
  if (sizes && sizes->numel() > 0) return {typed(x.dtype, Shape::from(sizes->to_int_vector()))};
  Shape out = x.shape;
  for (Dim& d : out.dims) d = Dim();
  if (scales && scales->numel() == x.shape.rank()) {
    for (size_t a = 0; a < out.dims.size(); ++a) {
      double sc = double(float(scales->get_double(int64_t(a))));
      double o = std::floor(double(x.shape.dims[a].value) * sc);
      if (x.shape.dims[a].known() && o < 1e15)
        out.dims[a] = Dim(int64_t(o));
      else if (sc == 1.0)
        out.dims[a] = x.shape.dims[a];
    }
  }
  return {typed(x.dtype, out)};
}

// Nearest-neighbour resizing copies (no FLOPs); the interpolating modes have no FLOP count yet. On the
// npu either is one vector-unit pass per output element.
OpCost resize_cost() {
  return {.vector = VectorClasses{{"move", 1}}, .count = [](const Graph&, const Node& n) -> OpCounts {
            if (n.attr_string("mode", "nearest") == "nearest") return {int64_t(0), int64_t(0)};
            return {};
          }};
}

WAFER_REGISTER_OP(resize, {.name = "Resize",
                           .cost = resize_cost(),
                           .since = 10,
                           .until = 13,
                           .attrs = {{"mode", AttrType::String},
                                     {"coordinate_transformation_mode", AttrType::String},
                                     {"nearest_mode", AttrType::String},
                                     {"cubic_coeff_a", AttrType::Float},
                                     {"exclude_outside", AttrType::Int},
                                     {"extrapolation_value", AttrType::Float}},
                           .infer = infer_resize,
                           .kernel = resize_kernel});
WAFER_REGISTER_OP(upsample, {.name = "Upsample",
                             .cost = resize_cost(),
                             .since = 7,
                             .until = 9,
                             .attrs = {{"mode", AttrType::String}, {"scales", AttrType::Floats}},
                             .infer = infer_resize,
                             .kernel = upsample_kernel});

}  // namespace
}  // namespace wafer
