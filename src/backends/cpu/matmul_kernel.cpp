// MatMul, Gemm and wafer.FusedMatMul on oneDNN's matmul: constant weights
// pre-packed at compile time; bias, residual Sum and activation as post-ops.
// Capped at AVX2, a 2-D GEMM with constant weights runs as a 1x1 convolution over
// [M] pixels of K channels (nhwc: the same bytes as row-major A and Y): oneDNN 2.6's
// AVX2 matmul is its plain sgemm, which re-packs the weights on every call and
// measured 51 GFLOP/s on one core for 128x768x3072, where the 1x1 convolution's
// jit kernel with weights packed once ran at 105 (AVX2 peak ~118); at AVX-512
// both are brgemm kernels and within 3 % (the matmul is kept).
#include <algorithm>

#include "backends/cpu/epilogue.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/post_ops.h"
#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::memory;
using dt = memory::data_type;

namespace {

memory::dims row_major_strides(const Dims& d) {
  memory::dims st(d.size(), 1);
  for (int i = int(d.size()) - 2; i >= 0; --i) st[size_t(i)] = st[size_t(i) + 1] * d[size_t(i) + 1];
  return st;
}

// Row-major `dims` in element type `t`.
memory::desc row_major(const Dims& d, dt t) {
  return memory::desc(memory::dims(d.begin(), d.end()), t, row_major_strides(d));
}

// Row-major `dims` viewed with the last two axes swapped.
memory::desc transposed_md(const Dims& dims, dt t = dt::f32) {
  memory::dims d(dims.begin(), dims.end()), st = row_major_strides(dims);
  size_t r = d.size();
  std::swap(d[r - 1], d[r - 2]);
  std::swap(st[r - 1], st[r - 2]);
  return memory::desc(d, t, st);
}

Dims pad_rank(Dims d, size_t r) {
  d.insert(d.begin(), r - d.size(), 1);
  return d;
}

// Row-major [rows, channels] as an nhwc image of 1 x rows x 1 pixels (same bytes).
memory::desc pixels_md(int64_t rows, int64_t channels, dt t) {
  return memory::desc({1, channels, rows, 1}, t, memory::dims{rows * channels, 1, channels, channels});
}

}  // namespace

bool lower_matmul(Program& p, const Node& node) {
  bool fused = node.domain == "wafer" && node.op_type == "FusedMatMul";
  bool gemm = node.domain.empty() && node.op_type == "Gemm";
  if (!fused && !gemm && !(node.domain.empty() && node.op_type == "MatMul")) return false;
  if (node.outputs.size() != 1 || !node.has_input(0) || !node.has_input(1)) return false;
  const std::string &a = node.inputs[0], &b = node.inputs[1], &y = node.outputs[0];
  auto ad = p.dims_of(a), bd = p.dims_of(b), yd = p.dims_of(y);
  if (!ad || !bd || !yd || p.dtype_of_value(a) != DType::Float32 || p.dtype_of_value(b) != DType::Float32) return false;
  // The output has A's rank (weights of lower rank broadcast); other cases run on the reference kernel.
  if (ad->size() < 2 || bd->size() < 2 || ad->size() > 6 || bd->size() > ad->size()) return false;
  bool trans_b = (fused || gemm) && node.attr_int(gemm ? "transB" : "trans_b", 0) != 0;
  if (gemm) {
    if (node.attr_int("transA", 0) != 0 || node.attr_float("alpha", 1.f) != 1.f) return false;
    if (node.has_input(2) && node.attr_float("beta", 1.f) != 1.f) return false;
    if (ad->size() != 2 || bd->size() != 2) return false;
  }
  size_t r = std::max(ad->size(), bd->size());
  Dims a2 = pad_rank(*ad, r), b2 = pad_rank(*bd, r);
  Dims b_logical = b2;
  if (trans_b) std::swap(b_logical[r - 1], b_logical[r - 2]);
  if (a2[r - 1] != b_logical[r - 2]) return false;
  Dims out = a2;
  out[r - 1] = b_logical[r - 1];
  for (size_t i = 0; i + 2 < r; ++i) {
    if (a2[i] != b2[i] && b2[i] != 1) return false;  // oneDNN broadcasts weights' batch dims only
  }
  if (out != *yd) return false;

  // Bias: Gemm's C or FusedMatMul's Bias, broadcast over the output (dims of 1 broadcast).
  Epilogue epi;
  if (fused || gemm) {
    if (fused && node.has_input(3)) epi.sum = node.inputs[3];
    epi.output = y;
  } else {
    epi = find_epilogue(p, node, true);
  }
  std::string bias_name = node.has_input(2) ? node.inputs[2] : epi.bias;
  std::optional<Dims> cd;
  if (!bias_name.empty()) {
    cd = p.dims_of(bias_name);
    if (!cd || cd->size() > r || p.dtype_of_value(bias_name) != DType::Float32) return false;
    *cd = pad_rank(*cd, r);
    for (size_t i = 0; i < r; ++i)
      if ((*cd)[i] != 1 && (*cd)[i] != out[i]) return false;
  }
  bool has_sum = !epi.sum.empty();
  if (has_sum) {
    auto sd = p.dims_of(epi.sum);
    if (!sd || *sd != out || p.dtype_of_value(epi.sum) != DType::Float32) return false;
  }

  dt act = p.bf16() ? dt::bf16 : dt::f32;
  const Tensor* bconst = p.graph().initializer(b);
  // Weights shared by every batch (B's batch dims all 1): A's batch dims fold into M, so one
  // big GEMM runs instead of many thin ones (e.g. [128,1,768] x [768,2304] in seq-first attention).
  bool fold = r > 2 && std::all_of(b2.begin(), b2.end() - 2, [](int64_t d) { return d == 1; });
  if (cd)
    for (size_t i = 0; i + 1 < r; ++i) fold = fold && (*cd)[i] == 1;
  Dims a_eff = a2, out_eff = out;
  Dims w_eff = b_logical;
  std::optional<Dims> c_eff = cd;
  if (fold) {
    // Rank 2 throughout: oneDNN 2.6 packs 2-D weights (BA16a64b) but keeps 3-D
    // ones with unit batch plain, ~10 % slower on BERT's FFN GEMMs.
    a_eff = {element_count(a2) / a2[r - 1], a2[r - 1]};
    out_eff = {a_eff[0], out[r - 1]};
    w_eff = {b_logical[r - 2], b_logical[r - 1]};
    if (c_eff) c_eff = Dims{(*cd)[r - 2], (*cd)[r - 1]};
  }
  Dims b_stored(b2.end() - Dims::difference_type(w_eff.size()), b2.end());  // B's bytes, at w_eff's rank
  memory::desc b_src_md = trans_b ? transposed_md(b_stored) : plain_md(b_stored);
  // Constant weights: oneDNN's packed layout, or (ablation switch `prepack`) the layout they are stored in.
  memory::desc w_md = !bconst ? row_major(w_eff, act)
                      : p.ablation().prepack
                          ? (trans_b ? transposed_md(b_stored, act) : row_major(w_eff, act))
                          : memory::desc(memory::dims(w_eff.begin(), w_eff.end()), act, memory::format_tag::any);
  // dst: bf16, or fp32 when its readers want fp32 (no conversion step after it) or it holds an fp32 residual.
  dt dst_t = p.gemm_dst_type(epi.output, has_sum);
  memory::desc src_md = row_major(a_eff, act), dst_md = row_major(out_eff, dst_t);
  memory::desc bias_md = c_eff ? plain_md(*c_eff) : memory::desc();
  dnnl::post_ops ops;
  if (has_sum) ops.append_sum(1.f);
  if (fused ? !append_activation(node, ops) : !append_activation(epi.activation, epi.params, ops)) return false;
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  // The 1x1-convolution form (top of file): AVX2, constant weights, fp32, 2-D, more than one row (a
  // single row is a matrix-vector product, bound by reading the weights either way), bias a row.
  const int64_t m = a_eff[0], k = a_eff[1], n = out_eff[1];
  const bool as_conv = cpu_isa() == Isa::avx2 && bconst && act == dt::f32 && a_eff.size() == 2 && m > 1 &&
                       (!c_eff || (*c_eff)[0] == 1) && !p.ablation().prepack;
  dnnl::primitive prim;
  memory::desc packed_w_md;
  if (as_conv) {
    src_md = pixels_md(m, k, act), dst_md = pixels_md(m, n, dst_t);
    if (c_eff) bias_md = memory::desc({n}, dt::f32, memory::format_tag::a);
    // OIHW over B's stored bytes: B [K,N] has O (= n) stride 1 and I (= k) stride N; Bᵀ [N,K] the reverse.
    b_src_md = memory::desc({n, k, 1, 1}, dt::f32, trans_b ? memory::dims{k, 1, 1, 1} : memory::dims{1, n, 1, 1});
    memory::desc any_w({n, k, 1, 1}, dt::f32, memory::format_tag::any);
    dnnl::convolution_forward::desc cdesc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                          src_md, any_w, bias_md, dst_md, {1, 1}, {0, 0}, {0, 0});
    dnnl::convolution_forward::primitive_desc pd(cdesc, attr, p.engine());
    packed_w_md = pd.weights_desc();
    prim = dnnl::convolution_forward(pd);
  } else {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_md, bias_md, dst_md), attr, p.engine());
    packed_w_md = pd.weights_desc();
    prim = dnnl::matmul(pd);
  }

  MemRef weights;
  if (bconst) weights = p.constant(packed_w_md, bconst->raw(), b_src_md);
  MemRef bias;
  if (cd) {
    if (const Tensor* c = p.graph().initializer(bias_name))
      bias = p.constant(bias_md, c->raw(), bias_md);
    else
      bias = MemRef{bias_md, -1, p.plain(bias_name)};  // same bytes as its rank-padded view
  }
  MemRef src = p.operand(a, row_major(a2, act));
  src.md = src_md;  // same bytes, folded view
  if (!bconst) {
    if (trans_b || bd->size() != w_eff.size() || p.bf16()) {
      // A runtime weight seen transposed, rank-padded or in bf16: a reorder from the plain tensor.
      MemRef plain_b{b_src_md, -1, p.plain(b)};
      MemRef wb{w_md, p.new_buffer(w_md.get_size()), -1};
      Step re;
      re.label = node.label() + " weights";
      re.op = "reorder";
      re.prim = dnnl::reorder(dnnl::reorder::primitive_desc(p.engine(), b_src_md, p.engine(), w_md));
      re.args = {{DNNL_ARG_FROM, plain_b}, {DNNL_ARG_TO, wb}};
      p.add_step(std::move(re));
      weights = wb;
    } else {
      weights = p.operand(b, w_md);
    }
  }
  MemRef sum;
  if (has_sum) {
    sum = p.current(epi.sum, dst_t == dt::f32);
    if (fold) {
      if (!is_plain(sum.md, out)) sum = p.operand(epi.sum, plain_md(out, dst_t));
      sum.md = row_major(out_eff, sum.md.data_type());
    }
  }
  // The sum post-op accumulates into dst: the residual's own buffer when nothing reads it later, else a copy.
  std::optional<MemRef> in_place;
  if (has_sum) in_place = p.define_in_place(epi.output, epi.sum, row_major(out, dst_t), {src, weights}, epi.absorbed);
  MemRef dst = in_place ? *in_place : p.define(epi.output, row_major(out, dst_t));
  dst.md = row_major(out_eff, dst_t);
  if (has_sum && !in_place) p.add_copy("residual copy for " + node.label(), sum, dst, "residual copy");
  dst.md = dst_md;  // the same bytes as the primitive sees them
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = prim;
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (cd) s.args.push_back({DNNL_ARG_BIAS, bias});
  p.add_step(std::move(s));
  p.absorb(epi.absorbed);
  return true;
}

}  // namespace wafer::cpu
