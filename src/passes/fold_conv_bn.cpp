// Conv + BatchNormalization (inference) folding:
//   BN(Conv(X, W) + B) = Conv(X, W * s) + (B - mean) * s + beta,  s = scale / sqrt(var + eps)
// per output channel. New initializers hold the folded W and B (the old ones
// may have other readers; DCE drops them when not).
#include <cmath>

#include "passes/cpu_rules.h"

namespace wafer {

std::vector<std::pair<std::string, std::string>> FoldConvBatchNorm::anchors() const {
  return {{"", "BatchNormalization"}};
}

namespace {
bool float_const(const Tensor* t) {
  return t && (t->dtype() == DType::Float32 || t->dtype() == DType::Float64);
}

// An inference BN that follows no foldable Conv (a ConvTranspose, a shared output): y = x * s + t per
// channel (dim 1), s = scale / sqrt(var + eps), t = beta - mean * s, as Mul and Add with [C,1,...,1]
// constants, which the cpu backend's vectorized binary kernels run (BN itself has only the reference
// kernel there). fp32 with known rank and channels only.
bool decompose_batch_norm(RewriteContext& ctx, Node& bn) {
  const ValueType* xt = ctx.type(bn.inputs[0]);
  if (!xt || xt->dtype != DType::Float32 || !xt->shape.rank_known || xt->shape.rank() < 2) return false;
  const Dim& channels = xt->shape.dims[1];
  const Tensor *scale = ctx.constant(bn.inputs[1]), *beta = ctx.constant(bn.inputs[2]),
               *mean = ctx.constant(bn.inputs[3]), *var = ctx.constant(bn.inputs[4]);
  if (!channels.known()) return false;
  int64_t m = channels.value;
  for (const Tensor* t : {scale, beta, mean, var})
    if (!float_const(t) || t->numel() != m) return false;
  double eps = bn.attr_float("epsilon", 1e-5f);
  Dims cdims{m};
  for (int64_t i = 2; i < xt->shape.rank(); ++i) cdims.push_back(1);
  Tensor s(DType::Float32, cdims), t(DType::Float32, cdims);
  for (int64_t c = 0; c < m; ++c) {
    double k = scale->get_double(c) / std::sqrt(var->get_double(c) + eps);
    s.data<float>()[c] = float(k);
    t.data<float>()[c] = float(beta->get_double(c) - mean->get_double(c) * k);
  }
  Graph& g = ctx.graph();
  std::string y = bn.outputs[0], scaled = g.unique_name(y + "_scaled");
  std::string sn = ctx.add_constant(bn.name + "_bn_scale", s), tn = ctx.add_constant(bn.name + "_bn_shift", t);
  Node& add = g.add_node("Add", {scaled, tn}, {y}, g.unique_name(bn.name + "_shift"));
  add.op_version = 14;
  bn.op_type = "Mul";
  bn.op_version = 14;
  bn.attrs.clear();
  bn.inputs = {bn.inputs[0], sn};
  bn.outputs = {scaled};
  g.types[scaled] = *xt;
  return true;
}
}  // namespace

bool FoldConvBatchNorm::rewrite(RewriteContext& ctx, Node& bn) {
  // Inference form only: one output (or unread running stats) and no training mode.
  if (bn.inputs.size() != 5 || bn.outputs.empty() || bn.outputs[0].empty()) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (!bn.outputs[i].empty() && ctx.uses(bn.outputs[i]) > 0) return false;
  if (bn.op_version < 7 || bn.attr_int("training_mode", 0) != 0 || bn.attr_int("spatial", 1) != 1) return false;
  Node* conv = ctx.producer(bn.inputs[0]);
  if (!conv || conv->outputs.size() != 1) return decompose_batch_norm(ctx, bn);
  // A FusedConv that has absorbed nothing but a bias is still a Conv.
  bool plain = conv->domain.empty() && conv->op_type == "Conv";
  bool fused = conv->domain == kWaferDomain && conv->op_type == "FusedConv" && conv->inputs.size() <= 3 &&
               conv->attr_string("activation", "").empty();
  if (!plain && !fused) return decompose_batch_norm(ctx, bn);
  if (ctx.sole_consumer(conv->outputs[0]) != &bn) return decompose_batch_norm(ctx, bn);
  const Tensor* w = ctx.constant(conv->inputs.size() > 1 ? conv->inputs[1] : "");
  const Tensor* b = conv->has_input(2) ? ctx.constant(conv->inputs[2]) : nullptr;
  if (!float_const(w) || w->rank() < 3 || (conv->has_input(2) && !float_const(b))) return false;
  const Tensor *scale = ctx.constant(bn.inputs[1]), *beta = ctx.constant(bn.inputs[2]),
               *mean = ctx.constant(bn.inputs[3]), *var = ctx.constant(bn.inputs[4]);
  int64_t m = w->dim(0);
  for (const Tensor* t : {scale, beta, mean, var})
    if (!float_const(t) || t->dtype() != w->dtype() || t->numel() != m) return false;
  if (b && (b->numel() != m || b->dtype() != w->dtype())) return false;
  double eps = bn.attr_float("epsilon", 1e-5f);

  Tensor new_w(w->dtype(), w->dims()), new_b(w->dtype(), {m});
  int64_t per = m == 0 ? 0 : w->numel() / m;
  visit_dtype(w->dtype(), [&]<typename T>() {
    if constexpr (std::is_floating_point_v<T>) {
      const T* src = w->data<T>();
      T* dw = new_w.data<T>();
      T* db = new_b.data<T>();
      for (int64_t c = 0; c < m; ++c) {
        double s = scale->get_double(c) / std::sqrt(var->get_double(c) + eps);
        for (int64_t i = 0; i < per; ++i) dw[c * per + i] = T(double(src[c * per + i]) * s);
        double bias = b ? b->get_double(c) : 0.0;
        db[c] = T((bias - mean->get_double(c)) * s + beta->get_double(c));
      }
    }
  });
  std::string wn = ctx.add_constant(conv->name + "_bn_W", new_w);
  std::string bname = ctx.add_constant(conv->name + "_bn_B", new_b);
  conv->inputs.resize(3);
  conv->inputs[1] = wn;
  conv->inputs[2] = bname;
  conv->outputs[0] = bn.outputs[0];
  ctx.retire(&bn);
  return true;
}

}  // namespace wafer
