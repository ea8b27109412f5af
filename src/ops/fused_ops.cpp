// The fused-op vocabulary of the CPU pipeline (domain "wafer", version 1):
// the contract between the rewrite rules (src/passes/fuse_*.cpp) and the fast
// CPU backend. The reference kernels define each op by composing existing
// reference kernels (Conv, MatMul) with plain loops, so a fused op is exactly
// the un-fused subgraph it replaces.
//
//   wafer.FusedConv(X, W, B?, Sum?)       Y = act(Conv(X, W) + B + Sum); Conv's attributes
//   wafer.FusedMatMul(A, B, Bias?, Sum?)  Y = act(MatMul(A, trans_b ? B^T : B) + Bias[N] + Sum)
//   wafer.Gelu(X)                         Y = 0.5 x (1 + erf(x / sqrt 2))
//   wafer.Attention(Q, K, V, Mask?)       Y = Softmax(Q K^T scale + Mask) V; Q [B,H,S,D], K,V [B,Hkv,S,D]
//                                         (Hkv divides H: query head h reads K/V head h / (H / Hkv))
//
// activation: "" | Relu | Clip [min,max] | Sigmoid | HardSigmoid [alpha,beta]
//             | LeakyRelu [alpha] | Gelu (erf form) | Silu (x sigmoid(x)) | HardSwish | Tanh, parameters in
//             activation_params.
#include <cmath>
#include <limits>

#include "ops/matrix_costs.h"
#include "ops/op_util.h"

namespace wafer {
namespace {

void require_float(const Node& node, DType t, const char* what) {
  require_dtype(node, t, {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}, what);
}

// ---- Activations -----------------------------------------------------------

struct ActivationSpec {
  enum Kind { None, Relu, Clip, Sigmoid, HardSigmoid, LeakyRelu, Gelu, Silu, HardSwish, Tanh } kind = None;
  float p0 = 0, p1 = 0;
};

ActivationSpec activation_of(const Node& node) {
  std::string name = node.attr_string("activation", "");
  std::vector<float> p = node.attr_floats("activation_params", std::vector<float>{});
  auto want = [&](size_t n) {
    check(p.size() == n, node.label(), ": activation ", name, " takes ", n, " activation_params, got ", p.size());
  };
  ActivationSpec a;
  if (name.empty()) {
    want(0);
  } else if (name == "Relu") {
    want(0), a.kind = ActivationSpec::Relu;
  } else if (name == "Sigmoid") {
    want(0), a.kind = ActivationSpec::Sigmoid;
  } else if (name == "Gelu") {
    want(0), a.kind = ActivationSpec::Gelu;
  } else if (name == "Silu") {
    want(0), a.kind = ActivationSpec::Silu;
  } else if (name == "HardSwish") {
    want(0), a.kind = ActivationSpec::HardSwish;
  } else if (name == "Tanh") {
    want(0), a.kind = ActivationSpec::Tanh;
  } else if (name == "Clip") {
    want(2), a = {ActivationSpec::Clip, p[0], p[1]};
  } else if (name == "HardSigmoid") {
    want(2), a = {ActivationSpec::HardSigmoid, p[0], p[1]};
  } else if (name == "LeakyRelu") {
    want(1), a = {ActivationSpec::LeakyRelu, p[0], 0};
  } else {
    fail(node.label(), ": unknown activation '", name, "'");
  }
  return a;
}

template <typename C>
C gelu(C x) {
  return C(0.5) * x * (C(1) + std::erf(x / std::sqrt(C(2))));
}

// SiLU (Hendrycks & Gimpel 2016; Elfwing et al. 2018), the gate of SwiGLU: x * sigmoid(x).
template <typename C>
C silu(C x) {
  return x / (C(1) + std::exp(-x));
}

// Same formulas as the ONNX ops (Relu, Clip, Sigmoid, HardSigmoid, LeakyRelu, Gelu, HardSwish, Tanh) and silu.
template <typename C>
C activate(const ActivationSpec& a, C x) {
  switch (a.kind) {
    case ActivationSpec::None:
      return x;
    case ActivationSpec::Relu:
      return x > C(0) ? x : C(0);
    case ActivationSpec::Clip:
      return x < C(a.p0) ? C(a.p0) : (x > C(a.p1) ? C(a.p1) : x);
    case ActivationSpec::Sigmoid:
      return C(1) / (C(1) + std::exp(-x));
    case ActivationSpec::HardSigmoid:
      return std::max(C(0), std::min(C(1), C(a.p0) * x + C(a.p1)));
    case ActivationSpec::LeakyRelu:
      return x >= C(0) ? x : C(a.p0) * x;
    case ActivationSpec::Gelu:
      return gelu(x);
    case ActivationSpec::Silu:
      return silu(x);
    case ActivationSpec::HardSwish:  // x * HardSigmoid(x) with alpha 1/6, beta 0.5
      return x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5)));
    case ActivationSpec::Tanh:
      return std::tanh(x);
  }
  return x;
}

// y = act(y + bias[last dim] + sum), in place on a freshly computed y.
void epilogue(const Node& node, Tensor& y, const Tensor* bias, const Tensor* sum, int64_t bias_axis) {
  ActivationSpec act = activation_of(node);
  if (bias) {
    check(bias->dtype() == y.dtype(), node.label(), ": bias dtype ", dtype_name(bias->dtype()), " differs from ",
          dtype_name(y.dtype()));
    check(y.rank() > bias_axis && bias->numel() == y.dim(bias_axis), node.label(), ": bias has ", bias->numel(),
          " elements, output ", dims_to_string(y.dims()), " needs ", y.rank() > bias_axis ? y.dim(bias_axis) : 0);
  }
  if (sum) {
    check(sum->dtype() == y.dtype(), node.label(), ": Sum dtype ", dtype_name(sum->dtype()), " differs from ",
          dtype_name(y.dtype()));
    check(sum->dims() == y.dims(), node.label(), ": Sum ", dims_to_string(sum->dims()), " must have the output shape ",
          dims_to_string(y.dims()));
  }
  // Elements between consecutive steps of the bias axis, and its length.
  int64_t inner = 1;
  for (int64_t d = bias_axis + 1; d < y.rank(); ++d) inner *= y.dim(d);
  int64_t channels = y.rank() > bias_axis ? y.dim(bias_axis) : 1;
  visit_dtype(y.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      T* py = y.data<T>();
      const T* pb = bias ? bias->data<T>() : nullptr;
      const T* ps = sum ? sum->data<T>() : nullptr;
      for (int64_t i = 0, n = y.numel(); i < n; ++i) {
        C v = to_compute(py[i]);
        if (pb) v += to_compute(pb[(i / inner) % channels]);
        if (ps) v += to_compute(ps[i]);
        py[i] = T(activate(act, v));
      }
    }
  });
}

// Runs the registered reference kernel of an ONNX op on a copy of `node`
// renamed to it (same attributes, minus the fused ones).
Tensor run_onnx_kernel(const Node& node, const std::string& op, int version, std::vector<const Tensor*> inputs) {
  const OpSchema* schema = OpRegistry::global().find("", op, version);
  check(schema && schema->kernel, node.label(), ": no reference kernel for ", op, "-", version);
  Node inner = node;
  inner.op_type = op;
  inner.domain = "";
  inner.op_version = version;
  inner.attrs.erase("activation");
  inner.attrs.erase("activation_params");
  inner.attrs.erase("trans_b");
  inner.outputs.resize(1);
  inner.inputs.resize(inputs.size());
  KernelContext ctx{inner, std::move(inputs)};
  auto out = schema->kernel(ctx);
  check(!out.empty(), node.label(), ": ", op, " produced no output");
  // The kernel may return a view of an input (never for Conv/MatMul, but be safe): epilogues write in place.
  for (const Tensor* t : ctx.inputs)
    if (t && out[0].same_buffer(*t)) return out[0].clone();
  return out[0];
}

std::vector<ValueType> run_onnx_infer(const InferContext& ctx, const std::string& op, int version,
                                      std::vector<std::optional<ValueType>> inputs) {
  const OpSchema* schema = OpRegistry::global().find("", op, version);
  if (!schema || !schema->infer) return {ValueType{}};
  Node inner = ctx.node;
  inner.op_type = op;
  inner.domain = "";
  inner.op_version = version;
  inner.attrs.erase("activation");
  inner.attrs.erase("activation_params");
  inner.attrs.erase("trans_b");
  inner.inputs.resize(inputs.size());
  std::vector<const Tensor*> constants(inputs.size(), nullptr);
  InferContext sub{inner, std::move(inputs), constants};
  return infer_node(*schema, sub);
}

// ---- FusedConv ---------------------------------------------------------------

std::vector<Tensor> fused_conv(const KernelContext& ctx) {
  const Node& node = ctx.node;
  require_float(node, ctx.in(0).dtype(), "X");
  std::vector<const Tensor*> conv_in = {&ctx.in(0), &ctx.in(1)};
  Tensor y = run_onnx_kernel(node, "Conv", 11, conv_in);
  epilogue(node, y, ctx.has(2) ? ctx.inputs[2] : nullptr, ctx.has(3) ? ctx.inputs[3] : nullptr, 1);
  return {y};
}

std::vector<ValueType> infer_fused_conv(const InferContext& ctx) {
  activation_of(ctx.node);
  std::vector<std::optional<ValueType>> in = {ctx.inputs.size() > 0 ? ctx.inputs[0] : std::nullopt,
                                              ctx.inputs.size() > 1 ? ctx.inputs[1] : std::nullopt};
  return run_onnx_infer(ctx, "Conv", 11, in);
}

// ---- FusedMatMul -------------------------------------------------------------

// B with its last two dims swapped.
Tensor transpose_last2(const Tensor& b, const Node& node) {
  check(b.rank() >= 2, node.label(), ": trans_b needs B of rank >= 2, got ", dims_to_string(b.dims()));
  Dims d = b.dims();
  int64_t r = d[d.size() - 2], c = d[d.size() - 1], batch = r * c == 0 ? 0 : b.numel() / (r * c);
  std::swap(d[d.size() - 2], d[d.size() - 1]);
  Tensor t(b.dtype(), d);
  size_t es = dtype_size(b.dtype());
  const auto* src = static_cast<const std::byte*>(b.raw());
  auto* dst = static_cast<std::byte*>(t.raw());
  for (int64_t k = 0; k < batch; ++k)
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        std::copy_n(src + size_t((k * r + i) * c + j) * es, es, dst + size_t((k * c + j) * r + i) * es);
  return t;
}

std::vector<Tensor> fused_matmul(const KernelContext& ctx) {
  const Node& node = ctx.node;
  require_float(node, ctx.in(0).dtype(), "A");
  int64_t trans_b = node.attr_int("trans_b", 0);
  check(trans_b == 0 || trans_b == 1, node.label(), ": trans_b must be 0 or 1, got ", trans_b);
  Tensor b = trans_b ? transpose_last2(ctx.in(1), node) : ctx.in(1);
  Tensor y = run_onnx_kernel(node, "MatMul", 13, {&ctx.in(0), &b});
  const Tensor* bias = ctx.has(2) ? ctx.inputs[2] : nullptr;
  check(!bias || y.rank() >= 1, node.label(), ": Bias needs an output of rank >= 1");
  epilogue(node, y, bias, ctx.has(3) ? ctx.inputs[3] : nullptr, std::max<int64_t>(0, y.rank() - 1));
  return {y};
}

std::vector<ValueType> infer_fused_matmul(const InferContext& ctx) {
  activation_of(ctx.node);
  ValueType b = ctx.in(1);
  if (ctx.node.attr_int("trans_b", 0) && b.shape.rank_known) {
    check(b.shape.rank() >= 2, ctx.node.label(), ": trans_b needs B of rank >= 2, got ", b.shape.str());
    std::swap(b.shape.dims[b.shape.dims.size() - 2], b.shape.dims[b.shape.dims.size() - 1]);
  }
  return run_onnx_infer(ctx, "MatMul", 13, {ctx.in(0), b});
}

// ---- Gelu --------------------------------------------------------------------

std::vector<Tensor> gelu_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_float(ctx.node, x.dtype(), "X");
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      return {map_unary<T>(x, [](C v) { return gelu(v); })};
    } else {
      return {};
    }
  });
}

std::vector<Tensor> silu_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_float(ctx.node, x.dtype(), "X");
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      return {map_unary<T>(x, [](C v) { return silu(v); })};
    } else {
      return {};
    }
  });
}

// ---- Attention ---------------------------------------------------------------

std::vector<Tensor> attention(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor &q = ctx.in(0), &k = ctx.in(1), &v = ctx.in(2);
  require_float(node, q.dtype(), "Q");
  check(k.dtype() == q.dtype() && v.dtype() == q.dtype(), node.label(), ": Q, K and V must share a dtype");
  check(q.rank() == 4 && k.rank() == 4 && v.rank() == 4, node.label(), ": Q, K, V must be [B,H,S,D], got ",
        dims_to_string(q.dims()), ", ", dims_to_string(k.dims()), ", ", dims_to_string(v.dims()));
  int64_t nb = q.dim(0), nh = q.dim(1), s = q.dim(2), d = q.dim(3), sk = k.dim(2), dv = v.dim(3);
  // Grouped-query attention: K and V may have fewer heads, each serving nh / kv_heads consecutive query heads.
  const int64_t kv_heads = k.dim(1);
  check(k.dim(0) == nb && v.dim(0) == nb && v.dim(1) == kv_heads && kv_heads > 0 && nh % kv_heads == 0, node.label(),
        ": Q, K, V batch dims differ or K/V heads do not divide Q's: ", dims_to_string(q.dims()), ", ",
        dims_to_string(k.dims()), ", ", dims_to_string(v.dims()));
  const int64_t group = nh / kv_heads;
  check(k.dim(3) == d && v.dim(2) == sk, node.label(), ": K ", dims_to_string(k.dims()), " and V ",
        dims_to_string(v.dims()), " do not fit Q ", dims_to_string(q.dims()));
  float scale = node.attr_float("scale", 1.0f);
  Tensor mask;
  if (ctx.has(3)) {
    check(ctx.in(3).dtype() == q.dtype(), node.label(), ": Mask must have the dtype of Q");
    mask = broadcast_to(ctx.in(3), {nb, nh, s, sk}, node);
  }
  Tensor out(q.dtype(), {nb, nh, s, dv});
  visit_dtype(q.dtype(), [&]<typename T>() {
    if constexpr (is_float_type_v<T>) {
      using C = compute_t<T>;
      const T *pq = q.data<T>(), *pk = k.data<T>(), *pv = v.data<T>();
      const T* pm = mask.defined() ? mask.data<T>() : nullptr;
      T* po = out.data<T>();
      std::vector<C> score(static_cast<size_t>(sk)), acc(static_cast<size_t>(dv));
      for (int64_t bh = 0; bh < nb * nh; ++bh) {
        const int64_t kvh = (bh / nh) * kv_heads + (bh % nh) / group;  // the K/V head of query head bh
        for (int64_t i = 0; i < s; ++i) {
          const T* qi = pq + (bh * s + i) * d;
          C mx = -std::numeric_limits<C>::infinity();
          for (int64_t j = 0; j < sk; ++j) {
            const T* kj = pk + (kvh * sk + j) * d;
            C dot = 0;
            for (int64_t e = 0; e < d; ++e) dot += to_compute(qi[e]) * to_compute(kj[e]);
            C val = dot * C(scale);
            if (pm) val += to_compute(pm[(bh * s + i) * sk + j]);
            score[size_t(j)] = val;
            mx = std::max(mx, val);
          }
          C total = 0;
          for (auto& x : score) total += (x = std::exp(x - mx));
          std::fill(acc.begin(), acc.end(), C(0));
          for (int64_t j = 0; j < sk; ++j) {
            C p = score[size_t(j)] / total;
            const T* vj = pv + (kvh * sk + j) * dv;
            for (int64_t e = 0; e < dv; ++e) acc[size_t(e)] += p * to_compute(vj[e]);
          }
          T* oi = po + (bh * s + i) * dv;
          for (int64_t e = 0; e < dv; ++e) oi[e] = T(acc[size_t(e)]);
        }
      }
    }
  });
  return {out};
}

std::vector<ValueType> infer_attention(const InferContext& ctx) {
  const ValueType& q = ctx.in(0);
  if (!q.shape.rank_known) return {typed(q.dtype, Shape::unknown_rank())};
  check(q.shape.rank() == 4, ctx.node.label(), ": Q must be [B,H,S,D], got ", q.shape.str());
  Dim dv;
  if (ctx.has(2) && ctx.in(2).shape.rank_known) {
    check(ctx.in(2).shape.rank() == 4, ctx.node.label(), ": V must be [B,H,S,Dv], got ", ctx.in(2).shape.str());
    dv = ctx.in(2).shape.dims[3];
  }
  return {typed(q.dtype, Shape({q.shape.dims[0], q.shape.dims[1], q.shape.dims[2], dv}))};
}

const std::vector<AttrSpec> fused_conv_attrs = {
    {"auto_pad", AttrType::String},   {"dilations", AttrType::Ints},
    {"group", AttrType::Int},         {"kernel_shape", AttrType::Ints},
    {"pads", AttrType::Ints},         {"strides", AttrType::Ints},
    {"activation", AttrType::String}, {"activation_params", AttrType::Floats}};
const std::vector<AttrSpec> fused_matmul_attrs = {
    {"activation", AttrType::String}, {"activation_params", AttrType::Floats}, {"trans_b", AttrType::Int}};

// The op they fuse plus one FLOP per output element for each of bias, residual Sum and activation,
// as the separate Add and activation nodes would count.
OpCounts fused_counts(const Graph& g, const Node& n, OpCounts c) {
  auto out = n.outputs.empty() ? std::nullopt : known_elements(g, n.outputs[0]);
  if (!c.flops || !out) return {};
  if (n.op_type == "FusedMatMul" && n.has_input(2)) *c.flops += *out;  // conv_counts counts FusedConv's bias
  if (n.has_input(3)) *c.flops += *out;
  if (!n.attr_string("activation", "").empty()) *c.flops += *out;
  return c;
}

// Q [B,H,S,D], K [B,H,Sk,D], V [B,H,Sk,Dv]: Q·Kᵀ and P·V are the MACs; scaling, the softmax (5 per
// score, as Softmax counts) and the mask are per score.
OpCounts attention_counts(const Graph& g, const Node& n) {
  auto q = n.inputs.size() > 2 ? known_dims(g, n.inputs[0]) : std::nullopt;
  auto k = q ? known_dims(g, n.inputs[1]) : std::nullopt;
  auto v = k ? known_dims(g, n.inputs[2]) : std::nullopt;
  if (!v || q->size() != 4 || k->size() != 4 || v->size() != 4) return {};
  int64_t scores = (*q)[0] * (*q)[1] * (*q)[2] * (*k)[2];
  return macs_and_flops(scores * ((*q)[3] + (*v)[3]), scores * (1 + 5 + (n.has_input(3) ? 1 : 0)));
}

WAFER_REGISTER_OP(fused_conv,
                  {.name = "FusedConv",
                   .cost = {.count = [](const Graph& g,
                                        const Node& n) { return fused_counts(g, n, conv_counts(g, n, 1, 2)); }},
                   .domain = "wafer",
                   .since = 1,
                   .attrs = fused_conv_attrs,
                   .infer = infer_fused_conv,
                   .kernel = fused_conv});
WAFER_REGISTER_OP(fused_matmul,
                  {.name = "FusedMatMul",
                   .cost = {.count = [](const Graph& g,
                                        const Node& n) { return fused_counts(g, n, matmul_counts(g, n)); }},
                   .domain = "wafer",
                   .since = 1,
                   .attrs = fused_matmul_attrs,
                   .infer = infer_fused_matmul,
                   .kernel = fused_matmul});
WAFER_REGISTER_OP(wafer_gelu, {.name = "Gelu",
                               .cost = {.flops_per_element = 1},
                               .domain = "wafer",
                               .since = 1,
                               .infer = infer_same_as_input,
                               .kernel = gelu_kernel});
WAFER_REGISTER_OP(wafer_silu,
                  {.name = "Silu", .domain = "wafer", .since = 1, .infer = infer_same_as_input, .kernel = silu_kernel});
WAFER_REGISTER_OP(wafer_attention, {.name = "Attention",
                                    .cost = {.count = attention_counts},
                                    .domain = "wafer",
                                    .since = 1,
                                    .attrs = {{"scale", AttrType::Float}},
                                    .infer = infer_attention,
                                    .kernel = attention});

}  // namespace
}  // namespace wafer
