// MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool on oneDNN pooling.
// The source is taken in whatever layout its producer left it (blocked after a
// conv), so pooling between convolutions adds no reorders.
#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::memory;

bool lower_pool(Program& p, const Node& node) {
  if (!node.domain.empty()) return false;
  const std::string& op = node.op_type;
  bool global = op == "GlobalAveragePool" || op == "GlobalMaxPool";
  bool max = op == "MaxPool" || op == "GlobalMaxPool";
  if (!global && op != "MaxPool" && op != "AveragePool") return false;
  if (node.outputs.empty() || node.outputs[0].empty() || !node.has_input(0)) return false;
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) return false;  // MaxPool Indices: reference kernel
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  if (!xd || !yd || p.dtype_of_value(x) != DType::Float32 || xd->size() < 3 || xd->size() > 5) return false;
  if (yd->size() != xd->size()) return false;
  size_t sp = xd->size() - 2;
  Dims kernel, strides, pads;
  if (global) {
    kernel.assign(xd->begin() + 2, xd->end());
    strides.assign(sp, 1);
    pads.assign(2 * sp, 0);
  } else {
    kernel = node.attr_ints("kernel_shape");
    strides = node.attr_ints("strides", Dims(sp, 1));
    pads = node.attr_ints("pads", Dims(2 * sp, 0));
    auto dil = node.attr_ints("dilations", Dims(sp, 1));
    for (int64_t d : dil)
      if (d != 1) return false;
    if (kernel.size() != sp || strides.size() != sp || pads.size() != 2 * sp) return false;
    if (node.attr_string("auto_pad", std::string("NOTSET")) != "NOTSET") return false;
  }
  bool include_pad = !max && node.attr_int("count_include_pad", 0) != 0;
  bool ceil = node.attr_int("ceil_mode", 0) != 0;
  if (include_pad && ceil) return false;  // ONNX clips the ceil-mode window differently
  memory::dims k(kernel.begin(), kernel.end()), st(strides.begin(), strides.end()), pl(sp), pr(sp);
  for (size_t i = 0; i < sp; ++i) {
    int64_t in = (*xd)[2 + i], out = (*yd)[2 + i];
    pl[i] = pads[i];
    // End padding implied by the output shape (ceil mode adds a partial window).
    pr[i] = (out - 1) * strides[i] + kernel[i] - in - pads[i];
    if (pr[i] < 0 || pl[i] >= kernel[i] || pr[i] >= kernel[i]) return false;
    if (!ceil && pr[i] > pads[sp + i]) return false;
    // A partial window must hold at least one real element (oneDNN and ONNX agree then).
    if ((out - 1) * strides[i] - pads[i] >= in) return false;
  }
  auto alg =
      max ? dnnl::algorithm::pooling_max
          : (include_pad ? dnnl::algorithm::pooling_avg_include_padding : dnnl::algorithm::pooling_avg_exclude_padding);
  auto form = p.dnnl_form(x);
  memory::desc src_md = form ? form->md : plain_md(*xd);
  memory::desc dst_md = p.ablation().blocked ? plain_md(*yd, src_md.data_type())
                                             : memory::desc(memory::dims(yd->begin(), yd->end()), src_md.data_type(),
                                                            memory::format_tag::any);
  dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src_md, dst_md, st, k, pl, pr);
  dnnl::pooling_forward::primitive_desc pd(desc, p.engine());
  MemRef src = p.operand(x, pd.src_desc());
  MemRef dst = p.define(y, pd.dst_desc());
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::pooling_forward(pd);
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
