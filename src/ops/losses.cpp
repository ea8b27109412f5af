// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: gather -log p[target]
// over [N, C, d1..dk] inputs, with optional class weights, ignore_index and
// none/sum/mean reduction (mean divides by the total weight of the kept items).
#include <cmath>

#include "ops/op_util.h"

namespace wafer {
namespace {

enum class Reduction { None, Sum, Mean };

Reduction parse_reduction(const Node& node) {
  std::string r = node.attr_string("reduction", "mean");
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  if (r == "mean") return Reduction::Mean;
  fail(node.label(), ": unknown reduction '", r, "'");
}

// Checks shapes: input [N, C, d...], target [N, d...], weight [C].
void check_loss_shapes(const Node& node, const Dims& in, const Dims& target, const Tensor* weight) {
  check(in.size() >= 2, node.label(), ": input must have rank >= 2, got ", dims_to_string(in));
  check(target.size() + 1 == in.size(), node.label(), ": target ", dims_to_string(target),
        " must have rank one less than input ", dims_to_string(in));
  check(target[0] == in[0], node.label(), ": target batch ", target[0], " differs from input batch ", in[0]);
  for (size_t i = 1; i < target.size(); ++i)
    check(target[i] == in[i + 1], node.label(), ": target ", dims_to_string(target), " does not match input ",
          dims_to_string(in));
  if (weight) {
    check(weight->rank() == 1 && weight->dim(0) == in[1], node.label(), ": weight must have shape [", in[1], "], got ",
          dims_to_string(weight->dims()));
  }
}

// loss from log-probabilities `logp` laid out [N, C, D] (flat), T = output storage type.
template <typename T>
Tensor gather_loss(const KernelContext& ctx, const std::vector<double>& logp, const Dims& in_dims, const Tensor& target,
                   const Tensor* weight) {
  const Node& node = ctx.node;
  Reduction red = parse_reduction(node);
  std::optional<int64_t> ignore;
  if (node.has_attr("ignore_index")) ignore = node.attr_int("ignore_index");
  int64_t n = in_dims[0], c = in_dims[1];
  int64_t d = 1;
  for (size_t i = 2; i < in_dims.size(); ++i) d *= in_dims[i];
  std::vector<double> w_values;
  if (weight) {
    visit_dtype(weight->dtype(), [&]<typename W>() {
      if constexpr (is_float_type_v<W>)
        for (W v : weight->values<W>()) w_values.push_back(double(to_compute(v)));
      else
        fail(node.label(), ": weight must be floating point");
    });
  }
  std::vector<double> loss(size_t(n * d)), wsum_items(size_t(n * d));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      int64_t t = target.get_int(i * d + j);
      size_t k = size_t(i * d + j);
      if (ignore && t == *ignore) continue;  // loss 0, weight 0
      check(t >= 0 && t < c, node.label(), ": target value ", t, " out of range [0, ", c, ")");
      double w = weight ? w_values[size_t(t)] : 1.0;
      loss[k] = -logp[size_t((i * c + t) * d + j)] * w;
      wsum_items[k] = w;
    }
  }
  if (red == Reduction::None) {
    Tensor out(dtype_of<T>(), target.dims());
    T* o = out.data<T>();
    for (size_t k = 0; k < loss.size(); ++k) o[k] = T(compute_t<T>(loss[k]));
    return out;
  }
  double sum = 0, wsum = 0;
  for (size_t k = 0; k < loss.size(); ++k) {
    sum += loss[k];
    wsum += wsum_items[k];
  }
  // Mean over zero total weight is 0/0 in the specification; keep it NaN as numpy does.
  double v = red == Reduction::Sum ? sum : sum / wsum;
  return Tensor::scalar<T>(T(compute_t<T>(v)));
}

void check_float_input(const Node& node, DType t) {
  require_dtype(node, t, {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16});
}

void check_target(const Node& node, const Tensor& target) {
  require_dtype(node, target.dtype(), {DType::Int32, DType::Int64}, "target");
}

// Inputs shared by both losses: scores/log-probabilities, class targets and
// optional per-class weights, validated together.
struct LossInputs {
  const Tensor& x;
  const Tensor& target;
  const Tensor* weight;
};

LossInputs loss_inputs(const KernelContext& ctx) {
  LossInputs in{ctx.in(0), ctx.in(1), ctx.has(2) ? &ctx.in(2) : nullptr};
  check_float_input(ctx.node, in.x.dtype());
  check_target(ctx.node, in.target);
  check_loss_shapes(ctx.node, in.x.dims(), in.target.dims(), in.weight);
  return in;
}

std::vector<Tensor> nll_loss(const KernelContext& ctx) {
  auto [x, target, weight] = loss_inputs(ctx);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!is_float_type_v<T>) {
      return {};
    } else {
      std::vector<double> v(size_t(x.numel()));
      const T* p = x.data<T>();
      for (size_t i = 0; i < v.size(); ++i) v[i] = double(to_compute(p[i]));
      return {gather_loss<T>(ctx, v, x.dims(), target, weight)};
    }
  });
}

std::vector<Tensor> sce_loss(const KernelContext& ctx) {
  auto [x, target, weight] = loss_inputs(ctx);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!is_float_type_v<T>) {
      return {};
    } else {
      int64_t n = x.dim(0), c = x.dim(1), d = x.numel() / std::max<int64_t>(1, n * c);
      const T* p = x.data<T>();
      // log_softmax over the class axis, with the max subtracted for stability.
      std::vector<double> logp(size_t(x.numel()));
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < d; ++j) {
          double mx = -INFINITY;
          for (int64_t k = 0; k < c; ++k) mx = std::max(mx, double(to_compute(p[(i * c + k) * d + j])));
          double s = 0;
          for (int64_t k = 0; k < c; ++k) s += std::exp(double(to_compute(p[(i * c + k) * d + j])) - mx);
          double ls = std::log(s);
          for (int64_t k = 0; k < c; ++k) {
            size_t idx = size_t((i * c + k) * d + j);
            logp[idx] = double(to_compute(p[idx])) - mx - ls;
          }
        }
      }
      Tensor loss = gather_loss<T>(ctx, logp, x.dims(), target, weight);
      if (!ctx.wants_output(1)) return {loss};
      Tensor lp(x.dtype(), x.dims());
      T* o = lp.data<T>();
      for (size_t i = 0; i < logp.size(); ++i) o[i] = T(compute_t<T>(logp[i]));
      return {loss, lp};
    }
  });
}

std::vector<ValueType> infer_loss(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  std::vector<ValueType> out;
  Reduction red = parse_reduction(ctx.node);
  if (red == Reduction::None) {
    Shape s = ctx.has(1) ? ctx.in(1).shape : Shape::unknown_rank();
    if (!s.rank_known && x.shape.rank_known && x.shape.rank() >= 2) {
      s = x.shape;
      s.dims.erase(s.dims.begin() + 1);
    }
    out.push_back(typed(x.dtype, s));
  } else {
    out.push_back(typed(x.dtype, Shape(std::vector<Dim>{})));
  }
  out.push_back(x);  // log_prob (SoftmaxCrossEntropyLoss only)
  return out;
}

const std::vector<AttrSpec> kLossAttrs = {{"reduction", AttrType::String}, {"ignore_index", AttrType::Int}};

WAFER_REGISTER_OP(nll_loss, {.name = "NegativeLogLikelihoodLoss",
                             .cost = op_cost::vector_only(OpCost::Basis::Input, {{"move", 1}, {"reduce", 1}}),
                             .since = 12,
                             .until = 13,
                             .attrs = kLossAttrs,
                             .infer = infer_loss,
                             .kernel = nll_loss});
WAFER_REGISTER_OP(sce_loss, {.name = "SoftmaxCrossEntropyLoss",
                             .cost = op_cost::vector_only(OpCost::Basis::Input,
                                                          {{"max", 1}, {"exp", 2}, {"reduce", 2}, {"div", 1}}),
                             .since = 12,
                             .until = 13,
                             .attrs = kLossAttrs,
                             .infer = infer_loss,
                             .kernel = sce_loss});

}  // namespace
}  // namespace wafer
