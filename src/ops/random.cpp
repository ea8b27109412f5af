// Random generators: RandomUniform, RandomNormal, their *Like forms (v1) and
// Bernoulli (v15). With a `seed` attribute the output is deterministic (a
// mt19937_64 seeded from the float's bits); without one it draws a fresh seed.
// Expected outputs of random test cases cannot match bit for bit: numpy draws
// differently.
#include <cstring>
#include <random>

#include "ops/op_util.h"

namespace wafer {
namespace {

std::mt19937_64 make_engine(const Node& node) {
  if (!node.has_attr("seed")) return std::mt19937_64(std::random_device{}());
  float seed = node.attr_float("seed");
  uint32_t bits = 0;
  std::memcpy(&bits, &seed, sizeof bits);
  return std::mt19937_64(bits);
}

DType float_dtype_attr(const Node& node, DType fallback) {
  if (!node.has_attr("dtype")) return fallback;
  int64_t t = node.attr_int("dtype");
  check(dtype_is_valid_onnx(int(t)) && is_float(DType(t)), node.label(), ": dtype must be a float type, got ", t);
  return DType(t);
}

// Fills a tensor of a float dtype with draws from `dist`.
template <typename Dist>
Tensor fill(DType dtype, const Dims& dims, std::mt19937_64& engine, Dist dist) {
  Tensor t(dtype, dims);
  visit_dtype(dtype, [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      T* o = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i) o[i] = T(compute_t<T>(dist(engine)));
    }
  });
  return t;
}

Dims shape_attr(const Node& node) {
  Dims d = node.attr_ints("shape");
  for (int64_t v : d) check(v >= 0, node.label(), ": negative dim in shape ", dims_to_string(d));
  return d;
}

// Like-ops take the shape (and by default the dtype) of their input.
Dims target_dims(const KernelContext& ctx) {
  return ctx.num_inputs() > 0 ? ctx.in(0).dims() : shape_attr(ctx.node);
}
DType target_dtype(const KernelContext& ctx) {
  DType fallback = ctx.num_inputs() > 0 ? ctx.in(0).dtype() : DType::Float32;
  return float_dtype_attr(ctx.node, fallback);
}

std::vector<Tensor> random_uniform(const KernelContext& ctx) {
  double lo = ctx.node.attr_float("low", 0.0f), hi = ctx.node.attr_float("high", 1.0f);
  check(lo <= hi, ctx.node.label(), ": low ", lo, " exceeds high ", hi);
  auto engine = make_engine(ctx.node);
  return {fill(target_dtype(ctx), target_dims(ctx), engine, std::uniform_real_distribution<double>(lo, hi))};
}

std::vector<Tensor> random_normal(const KernelContext& ctx) {
  double mean = ctx.node.attr_float("mean", 0.0f), scale = ctx.node.attr_float("scale", 1.0f);
  check(scale > 0, ctx.node.label(), ": scale must be positive, got ", scale);
  auto engine = make_engine(ctx.node);
  return {fill(target_dtype(ctx), target_dims(ctx), engine, std::normal_distribution<double>(mean, scale))};
}

std::vector<Tensor> bernoulli(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& p = ctx.in(0);
  require_dtype(node, p.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16});
  DType out_type = p.dtype();
  if (node.has_attr("dtype")) {
    int64_t t = node.attr_int("dtype");
    check(dtype_is_valid_onnx(int(t)) && DType(t) != DType::String, node.label(), ": bad dtype ", t);
    out_type = DType(t);
  }
  auto engine = make_engine(node);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Tensor out(out_type, p.dims());
  visit_dtype(out_type, [&]<typename T>() {
    T* o = out.data<T>();
    for (int64_t i = 0; i < p.numel(); ++i) {
      double prob = p.get_double(i);
      check(prob >= 0 && prob <= 1, node.label(), ": probability ", prob, " outside [0, 1]");
      bool one = u(engine) < prob;
      if constexpr (std::is_same_v<T, bool>)
        o[i] = one;
      else if constexpr (std::is_integral_v<T>)
        o[i] = T(one ? 1 : 0);
      else
        o[i] = T(compute_t<T>(one ? 1 : 0));
    }
  });
  return {out};
}

std::vector<ValueType> infer_random(const InferContext& ctx) {
  return {typed(float_dtype_attr(ctx.node, DType::Float32), Shape::from(shape_attr(ctx.node)))};
}
std::vector<ValueType> infer_random_like(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  DType t = ctx.node.op_type == "Bernoulli" ? (ctx.node.has_attr("dtype") ? DType(ctx.node.attr_int("dtype")) : x.dtype)
                                            : float_dtype_attr(ctx.node, x.dtype);
  return {typed(t, x.shape)};
}

const std::vector<AttrSpec> kUniformAttrs = {
    {"dtype", AttrType::Int}, {"high", AttrType::Float}, {"low", AttrType::Float}, {"seed", AttrType::Float}};
const std::vector<AttrSpec> kNormalAttrs = {
    {"dtype", AttrType::Int}, {"mean", AttrType::Float}, {"scale", AttrType::Float}, {"seed", AttrType::Float}};

std::vector<AttrSpec> with_shape(std::vector<AttrSpec> a) {
  a.push_back({"shape", AttrType::Ints, true});
  return a;
}

WAFER_REGISTER_OP(random_uniform, {.name = "RandomUniform",
                                   .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                                   .since = 1,
                                   .attrs = with_shape(kUniformAttrs),
                                   .infer = infer_random,
                                   .kernel = random_uniform});
WAFER_REGISTER_OP(random_normal, {.name = "RandomNormal",
                                  .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                                  .since = 1,
                                  .attrs = with_shape(kNormalAttrs),
                                  .infer = infer_random,
                                  .kernel = random_normal});
WAFER_REGISTER_OP(random_uniform_like, {.name = "RandomUniformLike",
                                        .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                                        .since = 1,
                                        .attrs = kUniformAttrs,
                                        .infer = infer_random_like,
                                        .kernel = random_uniform});
WAFER_REGISTER_OP(random_normal_like, {.name = "RandomNormalLike",
                                       .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                                       .since = 1,
                                       .attrs = kNormalAttrs,
                                       .infer = infer_random_like,
                                       .kernel = random_normal});
WAFER_REGISTER_OP(bernoulli, {.name = "Bernoulli",
                              .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"move", 1}}),
                              .since = 15,
                              .attrs = {{"dtype", AttrType::Int}, {"seed", AttrType::Float}},
                              .infer = infer_random_like,
                              .kernel = bernoulli});

}  // namespace
}  // namespace wafer
