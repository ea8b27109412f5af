// Optimizer ops of the "ai.onnx.preview.training" domain (v1): Adagrad, Adam
// and Momentum. Each updates n tensors at once: inputs are R (learning rate),
// T (step count), then n X's, n G's and the n-tensor groups of optimizer state;
// outputs are the updated X's followed by the updated state groups.
#include <cmath>

#include "ops/op_util.h"

namespace wafer {
namespace {

const char* kTrainingDomain = "ai.onnx.preview.training";

// Splits inputs 2.. into `groups` equal groups of tensors with matching shapes.
int64_t group_size(const KernelContext& ctx, int64_t groups) {
  const Node& node = ctx.node;
  int64_t rest = int64_t(ctx.num_inputs()) - 2;
  check(rest > 0 && rest % groups == 0, node.label(), ": expected R, T and ", groups, " equal groups of tensors, got ",
        ctx.num_inputs(), " inputs");
  int64_t n = rest / groups;
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& x = ctx.in(size_t(2 + i));
    require_dtype(node, x.dtype(), {DType::Float32, DType::Float64}, "X");
    for (int64_t g = 1; g < groups; ++g) {
      const Tensor& o = ctx.in(size_t(2 + g * n + i));
      check(o.dtype() == x.dtype() && o.dims() == x.dims(), node.label(), ": input ", 2 + g * n + i, " must match X", i,
            " (", dtype_name(x.dtype()), dims_to_string(x.dims()), ")");
    }
  }
  return n;
}

double scalar(const KernelContext& ctx, size_t i, const char* what) {
  check(ctx.in(i).numel() == 1, ctx.node.label(), ": ", what, " must be a scalar");
  return ctx.in(i).get_double(0);
}

// Applies `update(i, values...)` elementwise over each tensor group; `update`
// gets the input values and writes the outputs (same count as `outs_per`).
template <typename F>
std::vector<Tensor> apply(const KernelContext& ctx, int64_t groups, int64_t out_groups, F update) {
  int64_t n = group_size(ctx, groups);
  std::vector<Tensor> outs(size_t(n * out_groups));
  for (int64_t t = 0; t < n; ++t) {
    const Tensor& x = ctx.in(size_t(2 + t));
    for (int64_t g = 0; g < out_groups; ++g) outs[size_t(g * n + t)] = Tensor(x.dtype(), x.dims());
    std::vector<double> in(static_cast<size_t>(groups)), out(static_cast<size_t>(out_groups));
    for (int64_t e = 0; e < x.numel(); ++e) {
      for (int64_t g = 0; g < groups; ++g) in[size_t(g)] = ctx.in(size_t(2 + g * n + t)).get_double(e);
      update(in, out);
      for (int64_t g = 0; g < out_groups; ++g) {
        Tensor& o = outs[size_t(g * n + t)];
        if (o.dtype() == DType::Float32)
          o.data<float>()[e] = float(out[size_t(g)]);
        else
          o.data<double>()[e] = out[size_t(g)];
      }
    }
  }
  return outs;
}

std::vector<Tensor> adagrad(const KernelContext& ctx) {
  const Node& node = ctx.node;
  double r = scalar(ctx, 0, "R"), t = scalar(ctx, 1, "T");
  double decay = node.attr_float("decay_factor", 0.0f), eps = node.attr_float("epsilon", 1e-6f);
  double norm = node.attr_float("norm_coefficient", 0.0f);
  double lr = r / (1 + t * decay);
  return apply(ctx, 3, 2, [&](const std::vector<double>& v, std::vector<double>& o) {
    double x = v[0], g = norm * x + v[1], h = v[2] + g * g;
    o[0] = x - lr * g / (std::sqrt(h) + eps);
    o[1] = h;
  });
}

std::vector<Tensor> adam(const KernelContext& ctx) {
  const Node& node = ctx.node;
  double r = scalar(ctx, 0, "R"), t = scalar(ctx, 1, "T");
  double alpha = node.attr_float("alpha", 0.9f), beta = node.attr_float("beta", 0.999f);
  double eps = node.attr_float("epsilon", 1e-6f), norm = node.attr_float("norm_coefficient", 0.0f);
  double post = node.attr_float("norm_coefficient_post", 0.0f);
  // Bias correction only once steps have been taken.
  double lr = t > 0 ? r * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : r;
  return apply(ctx, 4, 3, [&](const std::vector<double>& v, std::vector<double>& o) {
    double x = v[0], g = norm * x + v[1];
    double vn = alpha * v[2] + (1 - alpha) * g;
    double hn = beta * v[3] + (1 - beta) * g * g;
    o[0] = (1 - post) * (x - lr * vn / (std::sqrt(hn) + eps));
    o[1] = vn;
    o[2] = hn;
  });
}

std::vector<Tensor> momentum(const KernelContext& ctx) {
  const Node& node = ctx.node;
  double r = scalar(ctx, 0, "R"), t = scalar(ctx, 1, "T");
  double alpha = node.attr_float("alpha"), beta = node.attr_float("beta"), norm = node.attr_float("norm_coefficient");
  std::string mode = node.attr_string("mode");
  check(mode == "standard" || mode == "nesterov", node.label(), ": unknown mode '", mode, "'");
  double beta_t = t > 0 ? beta : 1.0;  // the first step takes the whole gradient
  bool nesterov = mode == "nesterov";
  return apply(ctx, 3, 2, [&](const std::vector<double>& v, std::vector<double>& o) {
    double x = v[0], g = norm * x + v[1];
    double vn = alpha * v[2] + beta_t * g;
    o[0] = nesterov ? x - r * (g + alpha * vn) : x - r * vn;
    o[1] = vn;
  });
}

// Outputs mirror the X and state inputs: output k has the type of input 2 + k.
std::vector<ValueType> infer_training(const InferContext& ctx) {
  std::vector<ValueType> out;
  size_t groups = ctx.node.op_type == "Adam" ? 4 : 3;
  size_t n = ctx.inputs.size() >= 2 ? (ctx.inputs.size() - 2) / groups : 0;
  for (size_t k = 0; n > 0 && k < ctx.node.outputs.size(); ++k) {
    // Output group 0 is X (input group 0); output group g >= 1 is state input group g + 1 (after G).
    size_t g = k / n, i = k % n;
    size_t src = 2 + (g == 0 ? 0 : g + 1) * n + i;
    out.push_back(ctx.has(src) ? ctx.in(src) : ValueType{});
  }
  return out;
}

// Optimizer updates, per output element, on the npu's vector unit; cost reports do not count them.
const OpCost kOptimizerCost =
    op_cost::vector_only(OpCost::Basis::Outputs, {{"mul", 3}, {"add", 3}, {"div", 1}, {"exp", 1}});

WAFER_REGISTER_OP(adagrad, {.name = "Adagrad",
                            .cost = kOptimizerCost,
                            .domain = kTrainingDomain,
                            .since = 1,
                            .attrs = {{"decay_factor", AttrType::Float},
                                      {"epsilon", AttrType::Float},
                                      {"norm_coefficient", AttrType::Float}},
                            .infer = infer_training,
                            .kernel = adagrad});
WAFER_REGISTER_OP(adam, {.name = "Adam",
                         .cost = kOptimizerCost,
                         .domain = kTrainingDomain,
                         .since = 1,
                         .attrs = {{"alpha", AttrType::Float},
                                   {"beta", AttrType::Float},
                                   {"epsilon", AttrType::Float},
                                   {"norm_coefficient", AttrType::Float},
                                   {"norm_coefficient_post", AttrType::Float}},
                         .infer = infer_training,
                         .kernel = adam});
WAFER_REGISTER_OP(momentum, {.name = "Momentum",
                             .cost = kOptimizerCost,
                             .domain = kTrainingDomain,
                             .since = 1,
                             .attrs = {{"alpha", AttrType::Float, true},
                                       {"beta", AttrType::Float, true},
                                       {"mode", AttrType::String, true},
                                       {"norm_coefficient", AttrType::Float, true}},
                             .infer = infer_training,
                             .kernel = momentum});

}  // namespace
}  // namespace wafer
