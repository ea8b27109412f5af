// BatchNormalization (inference, and the training-mode statistics outputs),
// InstanceNormalization and LayerNormalization. Statistics accumulate in
// double (they are reductions, cheap next to the elementwise pass); the
// elementwise pass computes in the compute type of X.
#include <cmath>

#include "ops/nn_util.h"

namespace wafer {
namespace {

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.get_double(i);
  return v;
}

Tensor doubles_to(const std::vector<double>& v, const Dims& dims, DType dtype) {
  Tensor t = Tensor::from_vector<double>(dims, v);
  return t.cast(dtype);
}

// y[n, i, rest] = (x - mean[i]) * scale[i] / sqrt(var[i] + eps) + bias[i] for i
// in [0, groups), where each group is `inner` consecutive elements.
template <typename T>
void normalize_groups(const T* x, T* y, int64_t outer, int64_t groups, int64_t inner, const std::vector<double>& mean,
                      const std::vector<double>& var, const std::vector<double>& scale, const std::vector<double>& bias,
                      double eps) {
  using C = compute_t<T>;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t g = 0; g < groups; ++g) {
      size_t i = size_t(g);
      C a = C(scale[i] / std::sqrt(var[i] + eps)), m = C(mean[i]), b = C(bias[i]);
      const T* src = x + (o * groups + g) * inner;
      T* dst = y + (o * groups + g) * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] = T((to_compute(src[j]) - m) * a + b);
    }
}

template <typename T>
void normalize_dispatch(const Tensor& x, Tensor& y, int64_t outer, int64_t groups, int64_t inner,
                        const std::vector<double>& mean, const std::vector<double>& var,
                        const std::vector<double>& scale, const std::vector<double>& bias, double eps) {
  normalize_groups<T>(x.data<T>(), y.data<T>(), outer, groups, inner, mean, var, scale, bias, eps);
}

void normalize(const Tensor& x, Tensor& y, int64_t outer, int64_t groups, int64_t inner,
               const std::vector<double>& mean, const std::vector<double>& var, const std::vector<double>& scale,
               const std::vector<double>& bias, double eps) {
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) normalize_dispatch<T>(x, y, outer, groups, inner, mean, var, scale, bias, eps);
  });
}

// Mean and population variance of each of `groups` channels of [outer, groups, inner].
void channel_stats(const Tensor& x, int64_t outer, int64_t groups, int64_t inner, std::vector<double>& mean,
                   std::vector<double>& var) {
  mean.assign(size_t(groups), 0.0);
  var.assign(size_t(groups), 0.0);
  std::vector<double> v = as_doubles(x);
  double count = double(outer * inner);
  for (int64_t g = 0; g < groups; ++g) {
    double s = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) s += v[size_t((o * groups + g) * inner + j)];
    double m = count > 0 ? s / count : 0.0, q = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        double d = v[size_t((o * groups + g) * inner + j)] - m;
        q += d * d;
      }
    mean[size_t(g)] = m;
    var[size_t(g)] = count > 0 ? q / count : 0.0;
  }
}

std::vector<Tensor> batch_norm(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  check(x.rank() >= 2, node.label(), ": X must be [N, C, ...], got ", dims_to_string(x.dims()));
  int64_t n = x.dim(0), c = x.dim(1), inner = n * c == 0 ? 0 : x.numel() / (n * c);
  // Version 7 with spatial=0 has parameters per (channel, position) instead of per channel.
  bool per_element = ctx.version() < 9 && node.attr_int("spatial", 1) == 0;
  int64_t groups = per_element ? c * inner : c;
  if (per_element) inner = 1;
  for (size_t i = 1; i <= 4; ++i) {
    const Tensor& p = ctx.in(i);
    require_dtype(node, p.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "parameter");
    check(p.numel() == groups, node.label(), ": input ", i, " has shape ", dims_to_string(p.dims()), ", expected ",
          groups, " elements");
  }
  double eps = node.attr_float("epsilon", 1e-5f);
  double momentum = node.attr_float("momentum", 0.9f);
  // Training: version 14+ says so with training_mode; older versions by asking for the statistics outputs.
  bool training = ctx.version() >= 14 ? node.attr_int("training_mode", 0) != 0 : ctx.num_outputs() > 1;
  std::vector<double> scale = as_doubles(ctx.in(1)), bias = as_doubles(ctx.in(2));
  std::vector<double> mean = as_doubles(ctx.in(3)), var = as_doubles(ctx.in(4));
  Tensor y(x.dtype(), x.dims());
  if (!training) {
    normalize(x, y, n, groups, inner, mean, var, scale, bias, eps);
    return {y};
  }
  std::vector<double> batch_mean, batch_var;
  channel_stats(x, n, groups, inner, batch_mean, batch_var);
  normalize(x, y, n, groups, inner, batch_mean, batch_var, scale, bias, eps);
  std::vector<double> running_mean(mean.size()), running_var(var.size());
  for (size_t i = 0; i < mean.size(); ++i) {
    running_mean[i] = mean[i] * momentum + batch_mean[i] * (1 - momentum);
    running_var[i] = var[i] * momentum + batch_var[i] * (1 - momentum);
  }
  const Tensor& m_in = ctx.in(3);
  std::vector<Tensor> out{y, doubles_to(running_mean, m_in.dims(), m_in.dtype()),
                          doubles_to(running_var, m_in.dims(), ctx.in(4).dtype())};
  if (ctx.version() < 14) {  // saved_mean, saved_var: the batch statistics
    out.push_back(doubles_to(batch_mean, m_in.dims(), m_in.dtype()));
    out.push_back(doubles_to(batch_var, m_in.dims(), m_in.dtype()));
  }
  return out;
}

std::vector<ValueType> infer_batch_norm(const InferContext& ctx) {
  std::vector<ValueType> out{ctx.in(0)};
  for (size_t i = 3; i <= 4; ++i) out.push_back(ctx.has(i) ? ctx.in(i) : ValueType{});
  if (ctx.has(3)) out.push_back(ctx.in(3)), out.push_back(ctx.in(3));
  return out;
}

std::vector<Tensor> instance_norm(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  check(x.rank() >= 3, node.label(), ": X must be [N, C, spatial...], got ", dims_to_string(x.dims()));
  int64_t n = x.dim(0), c = x.dim(1), inner = n * c == 0 ? 0 : x.numel() / (n * c);
  for (size_t i = 1; i <= 2; ++i)
    check(ctx.in(i).rank() == 1 && ctx.in(i).dim(0) == c, node.label(), ": input ", i, " must be [", c, "], got ",
          dims_to_string(ctx.in(i).dims()));
  double eps = node.attr_float("epsilon", 1e-5f);
  std::vector<double> scale = as_doubles(ctx.in(1)), bias = as_doubles(ctx.in(2));
  // Each (n, c) plane is its own group: statistics per plane, parameters per channel.
  std::vector<double> mean, var;
  channel_stats(x, 1, n * c, inner, mean, var);
  std::vector<double> s(size_t(n * c)), b(size_t(n * c));
  for (int64_t i = 0; i < n * c; ++i) s[size_t(i)] = scale[size_t(i % c)], b[size_t(i)] = bias[size_t(i % c)];
  Tensor y(x.dtype(), x.dims());
  normalize(x, y, 1, n * c, inner, mean, var, s, b, eps);
  return {y};
}

// LayerNormalization (17): normalizes over dims [axis, rank); Scale and B
// broadcast to those dims. Mean and InvStdDev have X's dims up to axis and 1s after.
std::vector<Tensor> layer_norm(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, "X");
  int64_t axis = normalize_axis(node.attr_int("axis", -1), x.rank(), node);
  double eps = node.attr_float("epsilon", 1e-5f);
  int64_t stash = node.attr_int("stash_type", 1);
  check(stash == int64_t(DType::Float32) || stash == int64_t(DType::Float64), node.label(), ": stash_type ", stash,
        " is not supported (float32 or float64)");
  Dims norm_dims(x.dims().begin() + axis, x.dims().end());
  int64_t cols = element_count(norm_dims), rows = cols == 0 ? 0 : x.numel() / cols;
  Tensor scale = broadcast_to(ctx.in(1), norm_dims, node);
  Tensor bias = ctx.has(2) ? broadcast_to(ctx.in(2), norm_dims, node) : Tensor(ctx.in(1).dtype(), norm_dims);
  std::vector<double> s = as_doubles(scale), b = as_doubles(bias), xs = as_doubles(x);
  std::vector<double> mean(static_cast<size_t>(rows)), inv_std(static_cast<size_t>(rows));
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = xs.data() + r * cols;
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += row[j];
    double m = sum / double(cols), q = 0;
    for (int64_t j = 0; j < cols; ++j) q += (row[j] - m) * (row[j] - m);
    double inv = 1.0 / std::sqrt(q / double(cols) + eps);
    mean[size_t(r)] = m;
    inv_std[size_t(r)] = inv;
    for (int64_t j = 0; j < cols; ++j) y[size_t(r * cols + j)] = (row[j] - m) * inv * s[size_t(j)] + b[size_t(j)];
  }
  Dims stat_dims(x.dims().begin(), x.dims().begin() + axis);
  stat_dims.resize(size_t(x.rank()), 1);
  DType stash_dtype = DType(stash);
  return {doubles_to(y, x.dims(), x.dtype()), doubles_to(mean, stat_dims, stash_dtype),
          doubles_to(inv_std, stat_dims, stash_dtype)};
}

std::vector<ValueType> infer_layer_norm(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  DType stash = DType(ctx.node.attr_int("stash_type", 1));
  if (!x.shape.rank_known) return {x, typed(stash, x.shape), typed(stash, x.shape)};
  int64_t axis = normalize_axis(ctx.node.attr_int("axis", -1), x.shape.rank(), ctx.node);
  Shape stats = x.shape;
  for (size_t i = size_t(axis); i < stats.dims.size(); ++i) stats.dims[i] = Dim(1);
  return {x, typed(stash, stats), typed(stash, stats)};
}

WAFER_REGISTER_OP(batch_norm, {.name = "BatchNormalization",
                               .cost = op_cost::composite(2, {{"mul", 1}, {"add", 1}}),
                               .since = 7,
                               .infer = infer_batch_norm,
                               .kernel = batch_norm});
WAFER_REGISTER_OP(instance_norm, {.name = "InstanceNormalization",
                                  .cost = op_cost::composite(8, {{"reduce", 2}, {"add", 1}, {"mul", 2}, {"div", 1}}),
                                  .since = 6,
                                  .infer = infer_same_as_input,
                                  .kernel = instance_norm});
WAFER_REGISTER_OP(layer_norm, {.name = "LayerNormalization",
                               .cost = op_cost::composite(8, {{"reduce", 2}, {"add", 2}, {"mul", 2}, {"div", 1}}),
                               .since = 17,
                               .infer = infer_layer_norm,
                               .kernel = layer_norm});

}  // namespace
}  // namespace wafer
