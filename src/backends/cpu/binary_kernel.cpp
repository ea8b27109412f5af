// Add, Sub, Mul, Div, Max and Min with numpy broadcasting on oneDNN's binary
// primitive, for what the vectorized elementwise kernel (elementwise_kernel.cpp:
// same shapes, a trailing row, a scalar, plain layouts) does not take: a
// per-channel or spatial operand against a full tensor in any layout. The full
// operand is read in the layout its producer left (the squeeze-and-excitation
// scale of MobileNetV3, [1,C,1,1] x nChw16c, needs no reorder) and the result
// keeps it. A following activation is absorbed as a post-op.
#include <optional>

#include "backends/cpu/epilogue.h"
#include "backends/cpu/post_ops.h"
#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::algorithm;
using dnnl::memory;

namespace {

std::optional<algorithm> binary_alg(const std::string& op) {
  if (op == "Add") return algorithm::binary_add;
  if (op == "Sub") return algorithm::binary_sub;
  if (op == "Mul") return algorithm::binary_mul;
  if (op == "Div") return algorithm::binary_div;
  if (op == "Max") return algorithm::binary_max;
  if (op == "Min") return algorithm::binary_min;
  return std::nullopt;
}

// `d` right-aligned to rank r (leading 1s), when every dim is 1 or out's; else nullopt.
std::optional<Dims> broadcast_to(Dims d, const Dims& out) {
  if (d.size() > out.size()) return std::nullopt;
  d.insert(d.begin(), out.size() - d.size(), 1);
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] != 1 && d[i] != out[i]) return std::nullopt;
  return d;
}

bool is_ref_impl(const dnnl::binary::primitive_desc& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

}  // namespace

bool lower_binary(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1 || node.inputs.size() != 2) return false;
  if (node.op_version < 7) return false;  // before 7: legacy axis broadcasting
  auto alg = binary_alg(node.op_type);
  if (!alg || node.inputs[0].empty() || node.inputs[1].empty()) return false;
  const std::string& y = node.outputs[0];
  auto yd = p.dims_of(y), ad = p.dims_of(node.inputs[0]), bd = p.dims_of(node.inputs[1]);
  if (!yd || !ad || !bd || yd->empty() || yd->size() > 6) return false;
  for (const auto& in : node.inputs)
    if (p.dtype_of_value(in) != DType::Float32) return false;
  // src0 must have the output's shape; src1 broadcasts. When only the second input is full,
  // the operands swap: free for commutative ops, Sub becomes -(b - a) (a linear post-op).
  size_t full = *ad == *yd ? 0 : (*bd == *yd ? 1 : 2);
  if (full == 2) return false;
  bool negate = false;
  if (full == 1) {
    if (*alg == algorithm::binary_div) return false;
    negate = *alg == algorithm::binary_sub;
  }
  const std::string &a = node.inputs[full], &b = node.inputs[1 - full];
  auto b_dims = broadcast_to(full == 0 ? *bd : *ad, *yd);
  if (!b_dims) return false;
  // The full operand in its current fp32 form (a bf16 one is widened by a reorder), the other plain.
  MemRef src0 = p.current(a);
  if (src0.md.data_type() != memory::data_type::f32) src0.md = with_type(src0.md, memory::data_type::f32);
  memory::desc b_md = plain_md(*b_dims);
  dnnl::post_ops ops;
  if (negate) ops.append_eltwise(1.f, algorithm::eltwise_linear, -1.f, 0.f);
  Epilogue epi;
  epi.output = y;
  if (!p.ablation().bias_act) {
    Epilogue after = find_epilogue(p, node, false);
    dnnl::post_ops probe = ops;
    if (!after.activation.empty() && after.sum.empty() && after.absorbed.size() == 1 &&
        append_activation(after.activation, after.params, probe)) {
      ops = probe;
      epi = after;
    }
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  auto make_pd = [&](const memory::desc& s0, const memory::desc& s1) {
    return dnnl::binary::primitive_desc(dnnl::binary::desc(*alg, s0, s1, s0), attr, p.engine());
  };
  // oneDNN 2.6 jits a blocked src0 only with src1 in a matching layout (the [1,C,1,1] scale
  // of a squeeze-and-excitation block as nChw16c): try src1 plain, then in the blocked layouts;
  // failing those, src0 plain.
  std::vector<memory::desc> src1_forms = {b_md};
  using tag = memory::format_tag;
  memory::dims bdims(b_dims->begin(), b_dims->end());
  std::vector<tag> blocked;
  if (b_dims->size() == 3) blocked = {tag::aBc16b, tag::aBc8b, tag::acb};
  if (b_dims->size() == 4) blocked = {tag::aBcd16b, tag::aBcd8b, tag::acdb};
  if (b_dims->size() == 5) blocked = {tag::aBcde16b, tag::aBcde8b, tag::acdeb};
  if (!is_plain(src0.md, *yd))
    for (tag t : blocked) src1_forms.push_back(memory::desc(bdims, memory::data_type::f32, t));
  std::optional<dnnl::binary::primitive_desc> pd;
  for (const auto& s1 : src1_forms) {
    try {
      auto cand = make_pd(src0.md, s1);
      if (!is_ref_impl(cand)) {
        pd = cand;
        break;
      }
    } catch (const dnnl::error&) {
      // no implementation for this pair of layouts at this ISA: the next one
    }
  }
  if (!pd) pd = make_pd(plain_md(*yd), b_md);
  MemRef s0 = p.operand(a, pd->src0_desc());
  // src1 as it is when already in the chosen layout, else its plain tensor seen at the output's
  // rank, reordered when a blocked layout was chosen.
  auto b_form = p.dnnl_form(b);
  MemRef s1 = b_form && b_form->md == pd->src1_desc() ? *b_form : MemRef{b_md, -1, p.plain(b)};
  if (!(s1.md == pd->src1_desc())) {
    MemRef blocked_b{pd->src1_desc(), p.new_buffer(pd->src1_desc().get_size()), -1};
    p.add_copy("reorder " + b, s1, blocked_b, "reorder");
    s1 = blocked_b;
  }
  MemRef dst = p.define(epi.output, pd->dst_desc());
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::binary(*pd);
  s.args = {{DNNL_ARG_SRC_0, s0}, {DNNL_ARG_SRC_1, s1}, {DNNL_ARG_DST, dst}};
  p.add_step(std::move(s));
  p.absorb(epi.absorbed);
  return true;
}

}  // namespace wafer::cpu
