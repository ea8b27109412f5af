// ConvTranspose on oneDNN's deconvolution (the same transposed convolution):
// blocked activation layouts as oneDNN picks them, the [C_in, M/group, k...]
// weights reordered once into its packed [group, M/group, C_in/group, k...]
// form, bias, a residual Sum and an activation as post-ops (epilogue.h). The
// geometry (pads, output_padding, output_shape, auto_pad) is the reference's
// (ops/conv_transpose_geometry.h); oneDNN has no output_padding: the extra
// rows are a smaller (possibly negative) end padding.
#include <algorithm>
#include <optional>

#include "backends/cpu/epilogue.h"
#include "backends/cpu/post_ops.h"
#include "backends/cpu/program.h"
#include "ops/conv_transpose_geometry.h"

namespace wafer::cpu {

using dnnl::memory;
using dt = memory::data_type;

namespace {

// 2-D ConvTranspose as a GEMM and a col2im, which measured far faster than oneDNN 2.6's deconvolution
// on the shapes decoders use (a 36->20 channel, 4x4 stride-2 layer at 48x38: 13 ms on its jit kernel,
// 17 ms on the reference kernel; its gemm kernel for grouped ones was slower than the reference).
// cols[n, g, o*K + k, ih*W + iw] = sum_c W[g*Cg + c, o, k] X[n, g*Cg + c, ih, iw] is one oneDNN
// matmul (the transposed weights packed once, X read as it is); the col2im then adds
// each tap's rows of pixels into the output, one output plane per task.
struct Col2Im {
  int64_t n, g, og, h, w, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
  const float* bias = nullptr;
};

void col2im(const Col2Im& c, const float* cols, float* y) {
  const int64_t k = c.kh * c.kw, m = c.og * k, planes = c.n * c.g * c.og;
  // Threads only for outputs worth a fork/join (on a loaded machine one costs a scheduler slice).
#pragma omp parallel for schedule(static) if (planes * c.oh * c.ow > 32768)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t o = plane % c.og, ng = plane / c.og;  // ng = n * g + group
    float* out = y + plane * c.oh * c.ow;
    const float b = c.bias ? c.bias[(ng % c.g) * c.og + o] : 0.f;
    for (int64_t i = 0; i < c.oh * c.ow; ++i) out[i] = b;
    const float* src = cols + (ng * m + o * k) * c.h * c.w;  // cols [n, g, Og*K, HW]
    for (int64_t y0 = 0; y0 < c.kh; ++y0)
      for (int64_t x0 = 0; x0 < c.kw; ++x0) {
        const float* tap = src + (y0 * c.kw + x0) * c.h * c.w;
        // Input columns whose output column iw*sw - pw + x0*dw lies in [0, ow).
        const int64_t off = x0 * c.dw - c.pw;
        const int64_t lo = off >= 0 ? 0 : (-off + c.sw - 1) / c.sw;
        const int64_t hi = std::min(c.w, off >= c.ow ? 0 : (c.ow - 1 - off) / c.sw + 1);
        for (int64_t ih = 0; ih < c.h; ++ih) {
          const int64_t r = ih * c.sh - c.ph + y0 * c.dh;
          if (r < 0 || r >= c.oh) continue;
          float* row = out + r * c.ow + off;
          const float* in = tap + ih * c.w;
          for (int64_t iw = lo; iw < hi; ++iw) row[iw * c.sw] += in[iw];
        }
      }
  }
}

bool lower_deconv_gemm(Program& p, const Node& node, const Dims& xd, const Dims& yd, const Tensor& wt,
                       const Tensor* bias, const TransposeGeometry& geo, int64_t group) {
  if (p.bf16() || xd.size() != 4) return false;
  const int64_t n = xd[0], cg = xd[1] / group, og = wt.dim(1), h = xd[2], w = xd[3];
  const int64_t k = wt.dim(2) * wt.dim(3), m = og * k, hw = h * w;
  // cols [n, g, Og*K, HW] = W^T [1, g, Og*K, Cg] (packed once from ONNX's [g, Cg, Og*K] storage,
  // broadcast over the batch) x X [n, g, Cg, HW] (the NCHW storage as it is): each tap's pixels contiguous.
  memory::desc wt_md({1, group, m, cg}, dt::f32, memory::format_tag::abcd);
  memory::desc wt_src({1, group, m, cg}, dt::f32, memory::dims{group * cg * m, cg * m, 1, m});
  memory::desc x_md({n, group, cg, hw}, dt::f32, memory::format_tag::abcd);
  memory::desc cols_md({n, group, m, hw}, dt::f32, memory::format_tag::abcd);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(wt_md, x_md, cols_md), p.engine());
  if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return false;
  MemRef wt_ref = p.constant(wt_md, wt.raw(), wt_src);
  MemRef x{x_md, -1, p.plain(node.inputs[0])}, cols{cols_md, p.new_buffer(cols_md.get_size()), -1};
  Step mm;
  mm.label = node.label();
  mm.node = &node;
  mm.prim = dnnl::matmul(pd);
  mm.args = {{DNNL_ARG_SRC, wt_ref}, {DNNL_ARG_WEIGHTS, x}, {DNNL_ARG_DST, cols}};
  p.add_step(std::move(mm));
  int bias_id = bias ? p.plain(node.inputs[2]) : -1;
  MemRef out = p.define(node.outputs[0], plain_md(yd));
  Col2Im c{n,
           group,
           og,
           h,
           w,
           yd[2],
           yd[3],
           wt.dim(2),
           wt.dim(3),
           geo.strides[0],
           geo.strides[1],
           geo.dilations[0],
           geo.dilations[1],
           geo.pad_begin[0],
           geo.pad_begin[1]};
  Step s;
  s.label = "col2im " + node.outputs[0];
  s.op = "col2im";
  s.kernel = "col2im";
  s.args = {{0, out}, {1, cols}};
  if (bias_id >= 0) s.uses.push_back(bias_id);
  s.fn = [&p, c, out, cols, bias_id]() mutable {
    if (bias_id >= 0) c.bias = static_cast<const float*>(p.tensor_data(bias_id));
    col2im(c, static_cast<const float*>(p.data(cols)), static_cast<float*>(p.data(out)));
  };
  p.add_step(std::move(s));
  return true;
}

}  // namespace

bool lower_deconv(Program& p, const Node& node) {
  if (!node.domain.empty() || node.op_type != "ConvTranspose") return false;
  if (node.outputs.size() != 1 || !node.has_input(0) || !node.has_input(1)) return false;
  const std::string &x = node.inputs[0], &w = node.inputs[1], &y = node.outputs[0];
  const Tensor* wt = p.graph().initializer(w);
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  if (!wt || !xd || !yd || wt->dtype() != DType::Float32 || p.dtype_of_value(x) != DType::Float32) return false;
  size_t rank = xd->size();
  if (rank < 3 || rank > 5 || wt->rank() != int64_t(rank) || yd->size() != rank) return false;
  size_t sp = rank - 2;
  int64_t group = node.attr_int("group", 1);
  if (group < 1 || (*xd)[1] % group || wt->dim(0) != (*xd)[1]) return false;
  int64_t icg = (*xd)[1] / group, ocg = wt->dim(1), oc = ocg * group;
  if ((*yd)[1] != oc) return false;
  const Tensor* bias = node.has_input(2) ? p.graph().initializer(node.inputs[2]) : nullptr;
  if (node.has_input(2) && (!bias || bias->dtype() != DType::Float32 || bias->numel() != oc)) return false;
  Dims kernel(wt->dims().begin() + 2, wt->dims().end());
  TransposeGeometry g;
  try {
    g = transpose_geometry(node, Dims(xd->begin() + 2, xd->end()), kernel);
  } catch (const Error&) {
    return false;  // the reference kernel reports it
  }
  memory::dims st(sp), di(sp), pl(sp), pr(sp);
  for (size_t i = 0; i < sp; ++i) {
    if (g.out[i] != (*yd)[2 + i]) return false;
    int64_t ek = (kernel[i] - 1) * g.dilations[i] + 1;
    // oneDNN: out = (in - 1) * stride + ek - pad_l - pad_r; ONNX's crop sets the same out from pad_begin.
    // output_padding beyond the end padding makes pad_r negative, which oneDNN takes (rows of bias only).
    int64_t right = ((*xd)[2 + i] - 1) * g.strides[i] + ek - g.pad_begin[i] - g.out[i];
    st[i] = g.strides[i];
    di[i] = g.dilations[i] - 1;
    pl[i] = g.pad_begin[i];
    pr[i] = right;
  }
  if (lower_deconv_gemm(p, node, *xd, *yd, *wt, bias, g, group)) return true;
  Epilogue epi = find_epilogue(p, node, false);
  bool has_sum = !epi.sum.empty();
  if (has_sum && (p.dims_of(epi.sum) != yd || p.dtype_of_value(epi.sum) != DType::Float32)) return false;

  dt act = p.bf16() ? dt::bf16 : dt::f32;
  const Ablation& off = p.ablation();
  memory::dims src_dims(xd->begin(), xd->end()), dst_dims(yd->begin(), yd->end());
  // Weights as oneDNN wants them ([G,] O/G, I/G, k...), described over ONNX's [I, O/G, k...] storage.
  memory::dims w_dims{ocg, icg}, w_strides;
  int64_t ksize = 1;
  for (int64_t k : kernel) ksize *= k;
  w_strides = {ksize, ocg * ksize};
  for (size_t i = 0; i < sp; ++i) {
    w_dims.push_back(kernel[i]);
    int64_t inner = 1;
    for (size_t j = i + 1; j < sp; ++j) inner *= kernel[j];
    w_strides.push_back(inner);
  }
  if (group > 1) {
    w_dims.insert(w_dims.begin(), group);
    w_strides.insert(w_strides.begin(), icg * ocg * ksize);
  }
  memory::desc w_src(w_dims, dt::f32, w_strides);
  Dims sd(src_dims.begin(), src_dims.end()), dd(dst_dims.begin(), dst_dims.end()), wd(w_dims.begin(), w_dims.end());
  memory::desc src_md = off.blocked ? plain_md(sd, act) : memory::desc(src_dims, act, memory::format_tag::any);
  memory::desc dst_md = off.blocked ? plain_md(dd, act) : memory::desc(dst_dims, act, memory::format_tag::any);
  memory::desc w_md = off.prepack ? plain_md(wd, act) : memory::desc(w_dims, act, memory::format_tag::any);
  memory::desc b_md = bias ? memory::desc({oc}, dt::f32, memory::format_tag::a) : memory::desc();
  dnnl::post_ops ops;
  if (has_sum) ops.append_sum(1.f);
  if (!append_activation(epi.activation, epi.params, ops)) return false;
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                         src_md, w_md, b_md, dst_md, st, di, pl, pr);
  dnnl::deconvolution_forward::primitive_desc pd(desc, attr, p.engine());

  MemRef weights = p.constant(pd.weights_desc(), wt->raw(), w_src);
  MemRef bias_ref;
  if (bias) bias_ref = p.constant(b_md, bias->raw(), b_md);
  MemRef src = p.operand(x, pd.src_desc());
  std::optional<MemRef> in_place;
  if (has_sum) in_place = p.define_in_place(epi.output, epi.sum, pd.dst_desc(), {src}, epi.absorbed);
  MemRef dst = in_place ? *in_place : p.define(epi.output, pd.dst_desc());
  if (has_sum && !in_place) p.add_copy("residual copy for " + node.label(), p.current(epi.sum), dst, "residual copy");
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::deconvolution_forward(pd);
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (bias) s.args.push_back({DNNL_ARG_BIAS, bias_ref});
  p.add_step(std::move(s));
  p.absorb(epi.absorbed);
  return true;
}

}  // namespace wafer::cpu
