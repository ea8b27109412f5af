// Conv and wafer.FusedConv on oneDNN: blocked activation layouts (nChw16c for
// fp32, else oneDNN's choice), so chains of convolutions stay blocked; weights
// reordered once at compile time; bias, residual Sum and activation fused as
// post-ops (the Sum in place when the residual is dead afterwards).
#include <optional>
#include <string>

#include "backends/cpu/epilogue.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/post_ops.h"
#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Left to itself oneDNN 2.6 runs fp32 convolutions as its NHWC brgconv kernels; asked for
// nChw16c it runs its older jit ones. Which is faster depends on the CPU and the conv:
// - Zen 4 (AMD family 19h): nChw16c, ResNet-50 -2..-6 % CPU time, ViT's patch-embedding conv
//   2.3 ms instead of 5.4 ms (docs/PERFORMANCE.md).
// - Zen 5 (family 1Ah), one thread: ResNet-50's 3x3 (and 7x7 stem) convolutions take 17 % less
//   as brgconv (batch 1 and 8), its 1x1 ones as much at batch 1 and 19 % more at batch 8; ViT's
//   patch conv is equal. Depthwise convolutions run faster as jit_dw in nChw16c than as
//   brdgmm_dw (MobileNetV2 +9 % in NHWC).
// So off Zen 4 a graph with a grouped convolution stays in nChw16c throughout (a layout switch
// costs a reorder), and in a dense graph the 1x1 convolutions take nChw16c and the larger
// kernels oneDNN's choice: ResNet-50 then reorders around each 3x3 conv, much less than it saves
// at batch 8 and about what the 1x1 ones would save in NHWC at batch 1. Other CPUs (Intel, where
// oneDNN's defaults are tuned) follow the same rule.
// nChw16c is AVX-512's block (16 floats a register); below AVX-512 oneDNN's choice stands.
bool prefer_nchw16c(const Graph& graph, const Node& conv, const Ablation& off) {
  if (cpu_isa() != Isa::avx512 || off.blocked || off.nchw16c) return false;
  if (amd_family_19h() || has_grouped_conv(graph)) return true;
  const Tensor* w = conv.has_input(1) ? graph.initializer(conv.inputs[1]) : nullptr;
  if (!w) return true;
  for (int64_t i = 2; i < w->rank(); ++i)
    if (w->dims()[size_t(i)] != 1) return false;
  return true;
}

bool has_grouped_conv(const Graph& graph) {
  for (const auto& n : graph.nodes)
    if ((n->op_type == "Conv" || n->op_type == "FusedConv") && n->attr_int("group", 1) > 1) return true;
  return false;
}

bool lower_conv(Program& p, const Node& node) {
  bool fused = node.domain == "wafer" && node.op_type == "FusedConv";
  if (!fused && !(node.domain.empty() && node.op_type == "Conv")) return false;
  if (node.outputs.size() != 1 || !node.has_input(0) || !node.has_input(1)) return false;
  const std::string &x = node.inputs[0], &w = node.inputs[1], &y = node.outputs[0];
  const Tensor* wt = p.graph().initializer(w);
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  if (!wt || !xd || !yd || wt->dtype() != DType::Float32 || p.dtype_of_value(x) != DType::Float32) return false;
  size_t rank = xd->size();
  if (rank < 3 || rank > 5 || wt->rank() != int64_t(rank) || yd->size() != rank) return false;
  size_t sp = rank - 2;
  const Tensor* bias = node.has_input(2) ? p.graph().initializer(node.inputs[2]) : nullptr;
  if (node.has_input(2) && (!bias || bias->dtype() != DType::Float32 || bias->numel() != (*yd)[1])) return false;
  Epilogue epi;
  if (fused) {
    if (node.has_input(3)) epi.sum = node.inputs[3];
    epi.output = y;
  } else {
    epi = find_epilogue(p, node, false);
  }
  bool has_sum = !epi.sum.empty();
  if (has_sum && (p.dims_of(epi.sum) != yd || p.dtype_of_value(epi.sum) != DType::Float32)) return false;

  int64_t group = node.attr_int("group", 1);
  Dims kernel(wt->dims().begin() + 2, wt->dims().end());
  auto strides = node.attr_ints("strides", Dims(sp, 1));
  auto dil = node.attr_ints("dilations", Dims(sp, 1));
  auto pads = node.attr_ints("pads", Dims(2 * sp, 0));
  std::string auto_pad = node.attr_string("auto_pad", std::string("NOTSET"));
  if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp || group < 1) return false;
  if (node.has_attr("kernel_shape") && node.attr_ints("kernel_shape") != kernel) return false;
  memory::dims pl(sp), pr(sp), st(sp), di(sp);
  for (size_t i = 0; i < sp; ++i) {
    int64_t in = (*xd)[2 + i], out = (*yd)[2 + i], ek = (kernel[i] - 1) * dil[i] + 1;
    int64_t total = (out - 1) * strides[i] + ek - in;  // padding the output shape implies
    int64_t begin = pads[i];
    if (auto_pad == "SAME_UPPER")
      begin = std::max<int64_t>(total, 0) / 2;
    else if (auto_pad == "SAME_LOWER")
      begin = std::max<int64_t>(total, 0) - std::max<int64_t>(total, 0) / 2;
    else if (auto_pad == "VALID")
      begin = 0;
    int64_t end = auto_pad == "NOTSET" ? pads[sp + i] : std::max<int64_t>(total - begin, 0);
    if (begin < 0 || end < 0 || (in + begin + end - ek) / strides[i] + 1 != out) return false;
    pl[i] = begin;
    pr[i] = end;
    st[i] = strides[i];
    di[i] = dil[i] - 1;
  }

  dt act = p.bf16() ? dt::bf16 : dt::f32;
  memory::dims src_dims(xd->begin(), xd->end()), dst_dims(yd->begin(), yd->end());
  memory::dims w_dims(wt->dims().begin(), wt->dims().end());
  // A 1-D convolution runs as a 2-D one of height 1 (the same bytes in every layout whose height is not
  // blocked): oneDNN 2.6 has no jit kernel for 1-D depthwise and grouped convolutions and runs them as
  // gemm per group (Silero VAD's 258-channel depthwise conv over 24 frames: 38 us for 31 k MACs).
  const bool as_2d = sp == 1;
  if (as_2d) {
    for (auto* d : {&src_dims, &dst_dims, &w_dims}) d->insert(d->begin() + 2, 1);
    pl.insert(pl.begin(), 0), pr.insert(pr.begin(), 0), st.insert(st.begin(), 1), di.insert(di.begin(), 0);
    sp = 2;
  }
  memory::desc w_plain;
  if (group > 1) {
    if (w_dims[0] % group) return false;
    w_dims[0] /= group;
    w_dims.insert(w_dims.begin(), group);
    Dims wd(w_dims.begin(), w_dims.end());
    w_plain = plain_md(wd);
  } else {
    w_plain = plain_md(Dims(w_dims.begin(), w_dims.end()));
  }
  // oneDNN picks the layouts (blocked activations, packed weights) unless an ablation switch pins them plain.
  const Ablation& off = p.ablation();
  Dims sd(src_dims.begin(), src_dims.end()), dd(dst_dims.begin(), dst_dims.end()), wd(w_dims.begin(), w_dims.end());
  memory::desc src_md = off.blocked ? plain_md(sd, act) : memory::desc(src_dims, act, tag::any);
  memory::desc dst_md = off.blocked ? plain_md(dd, act) : memory::desc(dst_dims, act, tag::any);
  memory::desc w_md = off.prepack ? plain_md(wd, act) : memory::desc(w_dims, act, tag::any);
  memory::desc b_md = bias ? memory::desc({(*yd)[1]}, dt::f32, tag::a) : memory::desc();
  dnnl::post_ops ops;
  if (has_sum) ops.append_sum(1.f);
  if (fused ? !append_activation(node, ops) : !append_activation(epi.activation, epi.params, ops)) return false;
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  auto make_pd = [&](const memory::desc& s_md, const memory::desc& d_md) {
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, s_md,
                                         w_md, b_md, d_md, st, di, pl, pr);
    return dnnl::convolution_forward::primitive_desc(desc, attr, p.engine());
  };
  // fp32 2-D convolutions ask for nChw16c on each side whose channel count is a multiple
  // of 16 (the 3-channel image stays `any`) where prefer_nchw16c() says so; consecutive
  // convolutions agree, so the network stays in nChw16c without reorders. Shapes with no
  // nChw16c kernel (oneDNN fails, or offers only its reference one) keep oneDNN's choice.
  std::optional<dnnl::convolution_forward::primitive_desc> pd;
  if (act == dt::f32 && sp == 2 && prefer_nchw16c(p.graph(), node, off)) {
    auto blocked16 = [&](const memory::dims& d, const memory::desc& other) {
      return d[1] % 16 == 0 ? memory::desc(d, act, tag::aBcd16b) : other;
    };
    try {
      auto cand = make_pd(blocked16(src_dims, src_md), blocked16(dst_dims, dst_md));
      if (std::string(cand.impl_info_str()).rfind("ref", 0) != 0) pd = cand;
    } catch (const dnnl::error&) {
      // no kernel for this combination: oneDNN's own choice below
    }
  }
  if (!pd) pd = make_pd(src_md, dst_md);
  // The program's values keep their own rank: a 2-D run of a 1-D convolution sees them through its 4-D descs.
  memory::desc src_value = pd->src_desc(), dst_value = pd->dst_desc();
  if (as_2d) {
    try {
      src_value = src_value.reshape(memory::dims(xd->begin(), xd->end()));
      dst_value = dst_value.reshape(memory::dims(yd->begin(), yd->end()));
    } catch (const dnnl::error&) {  // a layout that blocks the height: plain ones always reshape
      pd = make_pd(plain_md(Dims(src_dims.begin(), src_dims.end()), act),
                   plain_md(Dims(dst_dims.begin(), dst_dims.end()), act));
      src_value = pd->src_desc().reshape(memory::dims(xd->begin(), xd->end()));
      dst_value = pd->dst_desc().reshape(memory::dims(yd->begin(), yd->end()));
    }
  }

  MemRef weights = p.constant(pd->weights_desc(), wt->raw(), w_plain);
  MemRef bias_ref;
  if (bias) bias_ref = p.constant(b_md, bias->raw(), b_md);
  MemRef src = p.operand(x, src_value);
  MemRef sum;
  if (has_sum) sum = p.current(epi.sum);
  // The sum post-op accumulates into dst: dst is the residual's own buffer when
  // nothing reads the residual later, else it starts as a copy of it.
  std::optional<MemRef> in_place;
  if (has_sum) in_place = p.define_in_place(epi.output, epi.sum, dst_value, {src}, epi.absorbed);
  MemRef dst = in_place ? *in_place : p.define(epi.output, dst_value);
  if (has_sum && !in_place) p.add_copy("residual copy for " + node.label(), sum, dst, "residual copy");
  MemRef src_arg = src, dst_arg = dst;
  src_arg.md = pd->src_desc(), dst_arg.md = pd->dst_desc();
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::convolution_forward(*pd);
  s.args = {{DNNL_ARG_SRC, src_arg}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst_arg}};
  if (bias) s.args.push_back({DNNL_ARG_BIAS, bias_ref});
  p.add_step(std::move(s));
  p.absorb(epi.absorbed);
  return true;
}

}  // namespace wafer::cpu
