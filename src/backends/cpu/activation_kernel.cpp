// Stand-alone activations and unary math (those no Conv/MatMul absorbed) on
// oneDNN's eltwise primitive: jitted per ISA (AVX-512, AVX2, SSE4.1), in the
// layout the producer left (a blocked conv output stays blocked: no reorder),
// fp32 or bf16 as the value is. A following activation oneDNN can express is
// absorbed as a post-op (HardSwish -> Clip, ...).
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "backends/cpu/epilogue.h"
#include "backends/cpu/post_ops.h"
#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::algorithm;

namespace {

struct Eltwise {
  algorithm alg;
  float alpha = 0, beta = 0;
};

// Scalar value of a float32 constant with one element.
std::optional<float> scalar_constant(const Program& p, const Node& n, size_t i) {
  const Tensor* t = n.has_input(i) ? p.graph().initializer(n.inputs[i]) : nullptr;
  if (!t || t->dtype() != DType::Float32 || t->numel() != 1) return std::nullopt;
  return t->data<float>()[0];
}

// The node as one oneDNN eltwise algorithm (ONNX formulas; oneDNN's: dnnl_types.h, dnnl_eltwise_desc_t).
std::optional<Eltwise> eltwise_of(const Program& p, const Node& n) {
  const std::string& op = n.op_type;
  if (op == "Sigmoid") return Eltwise{algorithm::eltwise_logistic};
  if (op == "Tanh") return Eltwise{algorithm::eltwise_tanh};
  if (op == "HardSwish" && n.op_version >= 14) return Eltwise{algorithm::eltwise_hardswish};  // x*relu6(x+3)/6
  if (op == "LeakyRelu") return Eltwise{algorithm::eltwise_relu, n.attr_float("alpha", 0.01f)};
  if (op == "Elu") return Eltwise{algorithm::eltwise_elu, n.attr_float("alpha", 1.f)};
  if (op == "Exp") return Eltwise{algorithm::eltwise_exp};
  if (op == "Sqrt") return Eltwise{algorithm::eltwise_sqrt};
  if (op == "Abs") return Eltwise{algorithm::eltwise_abs};
  if (op == "Neg") return Eltwise{algorithm::eltwise_linear, -1.f, 0.f};
  if (op == "Reciprocal") return Eltwise{algorithm::eltwise_pow, 1.f, -1.f};
  if (op == "Mish" && n.op_version >= 18) return Eltwise{algorithm::eltwise_mish};
  if (op == "Gelu" && n.op_version >= 20) {
    std::string a = n.attr_string("approximate", "none");
    if (a == "none") return Eltwise{algorithm::eltwise_gelu_erf};
    if (a == "tanh") return Eltwise{algorithm::eltwise_gelu_tanh};
    return std::nullopt;
  }
  if (op == "Clip") {
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    if (n.op_version < 11) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      for (size_t i : {size_t(1), size_t(2)}) {
        if (!n.has_input(i)) continue;
        auto v = scalar_constant(p, n, i);
        if (!v) return std::nullopt;
        (i == 1 ? lo : hi) = *v;
      }
    }
    return Eltwise{algorithm::eltwise_clip_v2, lo, hi};
  }
  if (op == "Pow") {  // x ^ constant scalar exponent
    auto e = scalar_constant(p, n, 1);
    if (!e || n.inputs.size() != 2) return std::nullopt;
    if (*e == 2.f) return Eltwise{algorithm::eltwise_square};
    if (*e == 0.5f) return Eltwise{algorithm::eltwise_sqrt};
    return Eltwise{algorithm::eltwise_pow, 1.f, *e};
  }
  return std::nullopt;
}

}  // namespace

bool lower_activation(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1 || !node.has_input(0)) return false;
  auto e = eltwise_of(p, node);
  if (!e) return false;
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x);
  if (!xd || p.dtype_of_value(x) != DType::Float32 || p.dims_of(y) != xd) return false;
  // The source as it is (blocked or plain, fp32 or bf16); the result in the same form.
  MemRef src = p.current(x);
  auto dt = src.md.data_type();
  if (dt != dnnl::memory::data_type::f32 && dt != dnnl::memory::data_type::bf16) return false;
  dnnl::post_ops ops;
  // The next activation, when this value's only reader is one.
  Epilogue epi;
  epi.output = y;
  if (const Node* next = p.sole_consumer(y); next && next->op_type != "Add" && !p.ablation().bias_act) {
    Epilogue after = find_epilogue(p, node, false);
    if (!after.activation.empty() && after.sum.empty() && after.absorbed.size() == 1) {
      dnnl::post_ops probe = ops;
      if (append_activation(after.activation, after.params, probe)) {
        ops = probe;
        epi = after;
      }
    }
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  auto make_pd = [&](const dnnl::memory::desc& md) {
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, e->alg, md, e->alpha, e->beta);
    return dnnl::eltwise_forward::primitive_desc(desc, attr, p.engine());
  };
  auto pd = make_pd(src.md);
  // oneDNN 2.6 jits eltwise only on unpadded blocked layouts: a 1-channel map in nChw16c (IS-Net's
  // Sigmoid heads, padded to 16 channels) gets its reference kernel. Converted to plain it runs jitted
  // (IS-Net's six Sigmoids: 248 ms per run as ref:any, 22 ms jitted on an unpadded layout).
  if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0 && !is_plain(src.md, *xd)) {
    auto plain_pd = make_pd(plain_md(*xd, dt));
    if (std::string(plain_pd.impl_info_str()).rfind("ref", 0) != 0) {
      src = p.operand(x, plain_pd.src_desc());
      pd = plain_pd;
    }
  }
  MemRef dst = p.define(epi.output, pd.dst_desc());
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::eltwise_forward(pd);
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  p.add_step(std::move(s));
  p.absorb(epi.absorbed);
  return true;
}

}  // namespace wafer::cpu
