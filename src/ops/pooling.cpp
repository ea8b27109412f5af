// MaxPool (with the Indices output), AveragePool, LpPool, GlobalAveragePool,
// GlobalMaxPool over 1-D/2-D/3-D windows.
#include <cmath>
#include <limits>

#include "ops/nn_util.h"

namespace wafer {
namespace {

struct Pool3 {
  Dims in, k, s, d, pb, pe, out;  // (D, H, W)
  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
};

struct PoolSetup {
  Pool3 p;
  Dims out_dims;       // [N, C, out...]
  int64_t planes = 0;  // N * C
};

PoolSetup pool_setup(const Node& node, const Dims& x, GeometryOptions options) {
  size_t r = check_spatial_input(node, x, "X");
  SpatialGeometry g = sliding_window_geometry(node, Dims(x.begin() + 2, x.end()), kernel_shape_attr(node, r), options);
  PoolSetup s;
  s.p = Pool3{to_3d(g.in, 1),        to_3d(g.kernel, 1),  to_3d(g.strides, 1), to_3d(g.dilations, 1),
              to_3d(g.pad_begin, 0), to_3d(g.pad_end, 0), to_3d(g.out, 1)};
  s.out_dims = {x[0], x[1]};
  s.out_dims.insert(s.out_dims.end(), g.out.begin(), g.out.end());
  s.planes = x[0] * x[1];
  return s;
}

// Kernel taps [lo, hi) of one axis whose input position start + k * dilation
// lies in [0, size): loops visit only those, however large the kernel or pads.
void tap_range(int64_t start, int64_t dilation, int64_t kernel, int64_t size, int64_t& lo, int64_t& hi) {
  lo = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  hi = start >= size ? 0 : std::min(kernel, (size - start + dilation - 1) / dilation);
}

// Calls f(o, id, ih, iw) for every output position o of a plane and every
// in-bounds input position of its window (padding is skipped).
template <typename Begin, typename Take, typename End>
void for_each_window(const Pool3& p, Begin begin, Take take, End end) {
  int64_t o = 0;
  int64_t lo[3], hi[3];
  for (int64_t od = 0; od < p.out[0]; ++od) {
    int64_t d0 = od * p.s[0] - p.pb[0];
    tap_range(d0, p.d[0], p.k[0], p.in[0], lo[0], hi[0]);
    for (int64_t oh = 0; oh < p.out[1]; ++oh) {
      int64_t h0 = oh * p.s[1] - p.pb[1];
      tap_range(h0, p.d[1], p.k[1], p.in[1], lo[1], hi[1]);
      for (int64_t ow = 0; ow < p.out[2]; ++ow, ++o) {
        int64_t w0 = ow * p.s[2] - p.pb[2];
        tap_range(w0, p.d[2], p.k[2], p.in[2], lo[2], hi[2]);
        begin(o, od, oh, ow);
        for (int64_t kd = lo[0]; kd < hi[0]; ++kd)
          for (int64_t kh = lo[1]; kh < hi[1]; ++kh)
            for (int64_t kw = lo[2]; kw < hi[2]; ++kw) take(d0 + kd * p.d[0], h0 + kh * p.d[1], w0 + kw * p.d[2]);
        end(o);
      }
    }
  }
}

GeometryOptions max_pool_options() {
  return {.has_dilations = true, .has_ceil_mode = true};
}

std::vector<Tensor> max_pool(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(),
                {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int8, DType::UInt8}, "X");
  PoolSetup s = pool_setup(ctx.node, x.dims(), max_pool_options());
  const Pool3& p = s.p;
  int64_t storage_order = ctx.node.attr_int("storage_order", 0);
  check(storage_order == 0 || storage_order == 1, ctx.node.label(), ": storage_order must be 0 or 1");
  bool want_indices = ctx.wants_output(1);
  Tensor y(x.dtype(), s.out_dims);
  Tensor indices(DType::Int64, want_indices ? s.out_dims : Dims{0});
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      using C = compute_t<T>;
      for (int64_t plane = 0; plane < s.planes; ++plane) {
        const T* xp = x.data<T>() + plane * p.in_plane();
        T* yp = y.data<T>() + plane * p.out_plane();
        int64_t* ip = want_indices ? indices.data<int64_t>() + plane * p.out_plane() : nullptr;
        C best{};
        int64_t best_at = -1;
        for_each_window(
            p, [&](int64_t, int64_t, int64_t, int64_t) { best_at = -1; },
            [&](int64_t id, int64_t ih, int64_t iw) {
              int64_t at = (id * p.in[1] + ih) * p.in[2] + iw;
              C v = to_compute(xp[at]);
              if (best_at < 0 || v > best) {  // first maximum wins
                best = v;
                best_at = at;
              }
            },
            [&](int64_t o) {
              // A window wholly in padding has no input: like ONNX Runtime, give the lowest value.
              yp[o] = best_at < 0 ? T(std::numeric_limits<C>::lowest()) : T(best);
              if (!ip) return;
              int64_t id = best_at / (p.in[1] * p.in[2]), ih = best_at / p.in[2] % p.in[1], iw = best_at % p.in[2];
              // storage_order 1 numbers the plane column-major.
              int64_t flat = storage_order == 0 ? best_at : (iw * p.in[1] + ih) * p.in[0] + id;
              ip[o] = best_at < 0 ? -1 : plane * p.in_plane() + flat;
            });
      }
    }
  });
  if (want_indices) return {y, indices};
  return {y};
}

// AveragePool: count_include_pad counts window positions inside the padded
// input (not those that ceil_mode adds beyond it).
std::vector<Tensor> average_pool(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  PoolSetup s = pool_setup(ctx.node, x.dims(), {.has_dilations = true, .has_ceil_mode = true});
  const Pool3& p = s.p;
  bool include_pad = ctx.node.attr_int("count_include_pad", 0) != 0;
  Tensor y(x.dtype(), s.out_dims);
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      for (int64_t plane = 0; plane < s.planes; ++plane) {
        const T* xp = x.data<T>() + plane * p.in_plane();
        T* yp = y.data<T>() + plane * p.out_plane();
        C sum = 0;
        int64_t count = 0;
        int64_t pos[3] = {0, 0, 0};
        for_each_window(
            p,
            [&](int64_t, int64_t od, int64_t oh, int64_t ow) {
              sum = 0;
              count = 0;
              pos[0] = od, pos[1] = oh, pos[2] = ow;
            },
            [&](int64_t id, int64_t ih, int64_t iw) {
              sum += to_compute(xp[(id * p.in[1] + ih) * p.in[2] + iw]);
              ++count;
            },
            [&](int64_t o) {
              if (include_pad) {
                count = 1;
                for (int a = 0; a < 3; ++a) {
                  // Taps inside the padded extent [-pb, in + pe).
                  int64_t lo = 0, hi = 0;
                  tap_range(pos[a] * p.s[a], p.d[a], p.k[a], p.in[a] + p.pb[a] + p.pe[a], lo, hi);
                  count *= std::max<int64_t>(0, hi - lo);
                }
              }
              yp[o] = count == 0 ? T(C(0)) : T(sum / C(count));
            });
      }
    }
  });
  return {y};
}

std::vector<Tensor> lp_pool(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  PoolSetup s = pool_setup(ctx.node, x.dims(), {.has_dilations = false, .has_ceil_mode = false});
  const Pool3& p = s.p;
  // Version 1 had a float p; later versions an int (both default 2).
  double pw = ctx.version() == 1 ? double(ctx.node.attr_float("p", 2.0f)) : double(ctx.node.attr_int("p", 2));
  check(pw > 0, ctx.node.label(), ": p must be positive, got ", pw);
  Tensor y(x.dtype(), s.out_dims);
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      for (int64_t plane = 0; plane < s.planes; ++plane) {
        const T* xp = x.data<T>() + plane * p.in_plane();
        T* yp = y.data<T>() + plane * p.out_plane();
        C sum = 0;
        for_each_window(
            p, [&](int64_t, int64_t, int64_t, int64_t) { sum = 0; },
            [&](int64_t id, int64_t ih, int64_t iw) {
              sum += C(std::pow(std::abs(to_compute(xp[(id * p.in[1] + ih) * p.in[2] + iw])), C(pw)));
            },
            [&](int64_t o) { yp[o] = T(C(std::pow(sum, C(1.0 / pw)))); });
      }
    }
  });
  return {y};
}

// Global pools reduce every dim after [N, C] to 1.
template <bool Max>
std::vector<Tensor> global_pool(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_dtype(ctx.node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  check(x.rank() >= 2, ctx.node.label(), ": X must be [N, C, ...], got ", dims_to_string(x.dims()));
  Dims out_dims(size_t(x.rank()), 1);
  out_dims[0] = x.dim(0);
  out_dims[1] = x.dim(1);
  int64_t planes = x.dim(0) * x.dim(1), plane = planes == 0 ? 0 : x.numel() / planes;
  check(Max ? plane > 0 || planes == 0 : true, ctx.node.label(), ": GlobalMaxPool of an empty input");
  Tensor y(x.dtype(), out_dims);
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      for (int64_t i = 0; i < planes; ++i) {
        const T* xp = x.data<T>() + i * plane;
        C acc = Max ? to_compute(xp[0]) : C(0);
        for (int64_t j = 0; j < plane; ++j) {
          C v = to_compute(xp[j]);
          if constexpr (Max)
            acc = v > acc ? v : acc;
          else
            acc += v;
        }
        y.data<T>()[i] = Max ? T(acc) : T(plane == 0 ? C(0) : acc / C(plane));
      }
    }
  });
  return {y};
}

std::vector<ValueType> infer_pool(const InferContext& ctx, GeometryOptions options) {
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known) return {x};
  check(x.shape.rank() >= 3, ctx.node.label(), ": X must be [N, C, spatial...], got ", x.shape.str());
  size_t r = size_t(x.shape.rank() - 2);
  SpatialGeometry g =
      sliding_window_geometry(ctx.node, spatial_dims_of(x.shape), kernel_shape_attr(ctx.node, r), options);
  Shape out = spatial_output_shape(x.shape.dims[0], x.shape.dims[1], g.out);
  return {typed(x.dtype, out), typed(DType::Int64, out)};
}

std::vector<ValueType> infer_global_pool(const InferContext& ctx) {
  ValueType x = ctx.in(0);
  if (x.shape.rank_known)
    for (size_t i = 2; i < x.shape.dims.size(); ++i) x.shape.dims[i] = Dim(1);
  return {x};
}

// Windowed pooling: one comparison (MaxPool) or add per window element of each output, and for the
// averages one divide per output.
OpCost pool_cost(bool is_max) {
  auto window = [](const Node& n) {
    int64_t w = 1;
    for (int64_t k : n.attr_ints("kernel_shape", std::vector<int64_t>{})) w *= k;
    return w;
  };
  return {.count = [](const Graph& g, const Node& n) -> OpCounts {
            auto out = n.outputs.empty() ? std::nullopt : known_elements(g, n.outputs[0]);
            if (!out || !n.has_attr("kernel_shape")) return {};
            return flops_only(*out * dims_product(n.attr_ints("kernel_shape")));
          },
          .vector_count = [is_max, window](const Graph& g, const Node& n) -> std::optional<std::vector<VectorWork>> {
            auto out = known_elements(g, n.outputs.at(0));
            if (!out) return std::nullopt;
            std::vector<VectorWork> w{{is_max ? "max" : "add", *out * window(n)}};
            if (!is_max) w.push_back({"div", *out});
            return w;
          }};
}

WAFER_REGISTER_OP(max_pool, {.name = "MaxPool",
                             .cost = pool_cost(true),
                             .since = 1,
                             .infer = [](const InferContext& c) { return infer_pool(c, max_pool_options()); },
                             .kernel = max_pool});
WAFER_REGISTER_OP(average_pool, {.name = "AveragePool",
                                 .cost = pool_cost(false),
                                 .since = 1,
                                 .infer =
                                     [](const InferContext& c) {
                                       auto t = infer_pool(c, max_pool_options());
                                       t.resize(1);
                                       return t;
                                     },
                                 .kernel = average_pool});
WAFER_REGISTER_OP(lp_pool, {.name = "LpPool",
                            .cost = pool_cost(false),
                            .since = 1,
                            .infer =
                                [](const InferContext& c) {
                                  auto t = infer_pool(c, {.has_dilations = false, .has_ceil_mode = false});
                                  t.resize(1);
                                  return t;
                                },
                            .kernel = lp_pool});
WAFER_REGISTER_OP(global_average_pool, {.name = "GlobalAveragePool",
                                        .cost = op_cost::reduction(),
                                        .since = 1,
                                        .infer = infer_global_pool,
                                        .kernel = global_pool<false>});
WAFER_REGISTER_OP(global_max_pool, {.name = "GlobalMaxPool",
                                    .cost = op_cost::reduction(),
                                    .since = 1,
                                    .infer = infer_global_pool,
                                    .kernel = global_pool<true>});

}  // namespace
}  // namespace wafer
