// Resize / Upsample on oneDNN's resampling primitive, in the layout the
// producer left (blocked after a conv) and where oneDNN computes exactly what
// ONNX specifies; every other configuration runs the reference kernel.
//
// oneDNN 2.6 maps output index o of an axis scaled in -> out to the input
// coordinate c = (o + 0.5) * in / out - 0.5 (its resampling documentation):
//  - linear blends floor(c) and floor(c)+1, clamped to the edge: ONNX linear
//    with half_pixel (or pytorch_half_pixel when out > 1) and scale = out / in;
//  - nearest rounds c. For an integer upscale k = out / in, c = q + (r + 0.5)/k
//    - 0.5 with o = q k + r never ties and rounds to q = floor(o / k): ONNX
//    nearest with asymmetric + floor (torch's nearest, and the legacy floor of
//    Upsample / Resize-10), or half_pixel / pytorch_half_pixel with either
//    round_prefer_* mode (the same c, no ties). Downscaling is not equivalent.
#include <cmath>
#include <optional>

#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::memory;

namespace {

// Per-axis scales as ONNX uses them (the constant scales input, or sizes / in), or nullopt.
std::optional<std::vector<double>> resize_scales(const Program& p, const Node& node, const Dims& in, const Dims& out) {
  size_t rank = in.size();
  const Tensor* scales = nullptr;
  const Tensor* sizes = nullptr;
  std::vector<float> attr;
  if (node.op_type == "Upsample" && node.op_version < 9) {
    attr = node.attr_floats("scales", std::vector<float>{});
  } else if (node.op_type == "Upsample" || node.op_version < 11) {
    scales = node.has_input(1) ? p.graph().initializer(node.inputs[1]) : nullptr;
    if (!scales) return std::nullopt;
  } else {
    if (node.has_input(2)) scales = p.graph().initializer(node.inputs[2]);
    if (node.has_input(3)) sizes = p.graph().initializer(node.inputs[3]);
    if (node.has_input(2) && !scales) return std::nullopt;
    if (node.has_input(3) && !sizes) return std::nullopt;
  }
  std::vector<double> s;
  if (sizes && sizes->numel() > 0) {
    for (size_t a = 0; a < rank; ++a) s.push_back(double(out[a]) / double(in[a]));
  } else if (scales && scales->numel() == int64_t(rank)) {
    for (size_t a = 0; a < rank; ++a) s.push_back(double(float(scales->get_double(int64_t(a)))));
  } else if (attr.size() == rank) {
    for (float f : attr) s.push_back(double(f));
  } else {
    return std::nullopt;
  }
  return s;
}

std::optional<dnnl::algorithm> resampling_of(const Program& p, const Node& node, const Dims& in, const Dims& out) {
  auto scales = resize_scales(p, node, in, out);
  if (!scales) return std::nullopt;
  bool legacy = node.op_type == "Upsample" || node.op_version < 11;
  std::string mode = node.attr_string("mode", "nearest");
  std::string coord = legacy ? "asymmetric" : node.attr_string("coordinate_transformation_mode", "half_pixel");
  std::string nearest = legacy ? "floor" : node.attr_string("nearest_mode", "round_prefer_floor");
  if (node.attr_int("antialias", 0) != 0 || node.has_attr("axes")) return std::nullopt;  // Resize-18's additions
  bool linear = mode == "linear" || mode == "bilinear";
  if (!linear && mode != "nearest") return std::nullopt;
  for (size_t a = 0; a < in.size(); ++a) {
    double s = (*scales)[a];
    if (a < 2) {  // batch and channels are not resampled
      if (out[a] != in[a] || s != 1.0) return std::nullopt;
      continue;
    }
    if (in[a] <= 0 || out[a] <= 0 || s != double(out[a]) / double(in[a])) return std::nullopt;
    if (linear) {
      if (!(coord == "half_pixel" || (coord == "pytorch_half_pixel" && out[a] > 1))) return std::nullopt;
    } else {
      if (out[a] % in[a]) return std::nullopt;  // integer upscales only
      bool ok = (coord == "asymmetric" && nearest == "floor") ||
                ((coord == "half_pixel" || coord == "pytorch_half_pixel") &&
                 (nearest == "round_prefer_floor" || nearest == "round_prefer_ceil"));
      if (!ok) return std::nullopt;
    }
  }
  return linear ? dnnl::algorithm::resampling_linear : dnnl::algorithm::resampling_nearest;
}

}  // namespace

bool lower_resize(Program& p, const Node& node) {
  if (!node.domain.empty() || (node.op_type != "Resize" && node.op_type != "Upsample")) return false;
  if (node.outputs.size() != 1 || !node.has_input(0)) return false;
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  if (!xd || !yd || p.dtype_of_value(x) != DType::Float32 || xd->size() < 3 || xd->size() > 5) return false;
  if (yd->size() != xd->size()) return false;
  auto alg = resampling_of(p, node, *xd, *yd);
  if (!alg) return false;
  MemRef src = p.current(x);
  if (src.md.data_type() != memory::data_type::f32 && src.md.data_type() != memory::data_type::bf16) return false;
  memory::desc dst_md(memory::dims(yd->begin(), yd->end()), src.md.data_type(), memory::format_tag::any);
  if (p.ablation().blocked) dst_md = plain_md(*yd, src.md.data_type());
  dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference, *alg, src.md, dst_md);
  dnnl::resampling_forward::primitive_desc pd(desc, p.engine());
  MemRef dst = p.define(y, pd.dst_desc());
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::resampling_forward(pd);
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
