// GridSample (v16): samples a 4-D input [N, C, H, W] at normalized grid
// locations [N, Ho, Wo, 2] (x, y in [-1, 1]), following PyTorch's
// grid_sample, which defines the expected outputs of the ONNX test cases.
#include <cmath>

#include "ops/op_util.h"

namespace wafer {
namespace {

enum class Padding { Zeros, Border, Reflection };

struct Sampler {
  bool align_corners = false;
  Padding padding = Padding::Zeros;

  double unnormalize(double c, int64_t size) const {
    return align_corners ? (c + 1) / 2 * double(size - 1) : ((c + 1) * double(size) - 1) / 2;
  }
  static double reflect(double c, double twice_low, double twice_high) {
    if (twice_low == twice_high) return 0;
    double lo = twice_low / 2, span = (twice_high - twice_low) / 2;
    c = std::abs(c - lo);
    double extra = std::fmod(c, span);
    double flips = std::floor(c / span);
    return std::fmod(flips, 2.0) == 0 ? extra + lo : span - extra + lo;
  }
  // Applies border / reflection padding to a coordinate (zeros leaves it alone).
  double pad(double c, int64_t size) const {
    if (padding == Padding::Border) return std::clamp(c, 0.0, double(size - 1));
    if (padding == Padding::Reflection) {
      c = align_corners ? reflect(c, 0, 2 * double(size - 1)) : reflect(c, -1, 2 * double(size) - 1);
      return std::clamp(c, 0.0, double(size - 1));
    }
    return c;
  }
};

double cubic_weight(double t, int k) {
  const double a = -0.75;
  auto near = [&](double x) { return ((a + 2) * x - (a + 3)) * x * x + 1; };
  auto far = [&](double x) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; };
  switch (k) {
    case 0:
      return far(t + 1);
    case 1:
      return near(t);
    case 2:
      return near(1 - t);
    default:
      return far(2 - t);
  }
}

std::vector<Tensor> grid_sample(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  const Tensor& grid = ctx.in(1);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16});
  require_dtype(node, grid.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "grid");
  check(x.rank() == 4, node.label(), ": input must be 4-D, got ", dims_to_string(x.dims()));
  check(grid.rank() == 4 && grid.dim(3) == 2 && grid.dim(0) == x.dim(0), node.label(), ": grid must be [", x.dim(0),
        ", Ho, Wo, 2], got ", dims_to_string(grid.dims()));
  Sampler s;
  s.align_corners = node.attr_int("align_corners", 0) != 0;
  std::string pm = node.attr_string("padding_mode", "zeros");
  if (pm == "zeros")
    s.padding = Padding::Zeros;
  else if (pm == "border")
    s.padding = Padding::Border;
  else if (pm == "reflection")
    s.padding = Padding::Reflection;
  else
    fail(node.label(), ": unknown padding_mode '", pm, "'");
  std::string mode = node.attr_string("mode", "bilinear");
  check(mode == "bilinear" || mode == "nearest" || mode == "bicubic", node.label(), ": unknown mode '", mode, "'");
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), Ho = grid.dim(1), Wo = grid.dim(2);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!is_float_type_v<T>) {
      return {};
    } else {
      Tensor out(x.dtype(), {N, C, Ho, Wo});
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t c = 0; c < C; ++c) {
          const T* plane = src + (n * C + c) * H * W;
          // Value at integer (yi, xi); zero outside (other paddings bring coordinates inside first).
          // Takes integral doubles so that huge or NaN grid values never reach an integer cast.
          auto at = [&](double yd, double xd) -> double {
            if (!(yd >= 0 && yd < double(H) && xd >= 0 && xd < double(W))) return 0;
            return double(to_compute(plane[int64_t(yd) * W + int64_t(xd)]));
          };
          for (int64_t i = 0; i < Ho; ++i) {
            for (int64_t j = 0; j < Wo; ++j) {
              int64_t g = ((n * Ho + i) * Wo + j) * 2;
              double gx = grid.get_double(g), gy = grid.get_double(g + 1);
              double fx = s.unnormalize(gx, W), fy = s.unnormalize(gy, H);
              double v = 0;
              if (!std::isfinite(fx) || !std::isfinite(fy)) {
                v = 0;  // NaN / inf grid entries sample nothing
              } else if (mode == "bicubic") {
                // Taps are padded one by one; the fractional position is not.
                double x0 = std::floor(fx), y0 = std::floor(fy);
                double tx = fx - x0, ty = fy - y0;
                for (int ky = 0; ky < 4; ++ky) {
                  for (int kx = 0; kx < 4; ++kx) {
                    double yy = s.pad(y0 - 1 + ky, H), xx = s.pad(x0 - 1 + kx, W);
                    v += cubic_weight(ty, ky) * cubic_weight(tx, kx) * at(yy, xx);
                  }
                }
              } else {
                fx = s.pad(fx, W);
                fy = s.pad(fy, H);
                if (mode == "nearest") {
                  v = at(std::nearbyint(fy), std::nearbyint(fx));
                } else {
                  double x0 = std::floor(fx), y0 = std::floor(fy);
                  double tx = fx - x0, ty = fy - y0;
                  v = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x0 + 1)) +
                      ty * ((1 - tx) * at(y0 + 1, x0) + tx * at(y0 + 1, x0 + 1));
                }
              }
              dst[((n * C + c) * Ho + i) * Wo + j] = T(compute_t<T>(v));
            }
          }
        }
      }
      return {out};
    }
  });
}

std::vector<ValueType> infer_grid_sample(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  const ValueType& g = ctx.in(1);
  Shape s = Shape({Dim(), Dim(), Dim(), Dim()});
  if (x.shape.rank_known && x.shape.rank() == 4) s.dims[0] = x.shape.dims[0], s.dims[1] = x.shape.dims[1];
  if (g.shape.rank_known && g.shape.rank() == 4) s.dims[2] = g.shape.dims[1], s.dims[3] = g.shape.dims[2];
  return {typed(x.dtype, s)};
}

WAFER_REGISTER_OP(grid_sample, {.name = "GridSample",
                                .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                                .since = 16,
                                .attrs = {{"align_corners", AttrType::Int},
                                          {"mode", AttrType::String},
                                          {"padding_mode", AttrType::String}},
                                .infer = infer_grid_sample,
                                .kernel = grid_sample});

}  // namespace
}  // namespace wafer
