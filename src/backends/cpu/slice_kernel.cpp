// Slice (constant starts/ends/axes, step 1) as a oneDNN reorder: the source is
// described as the output dims over the input's strides, offset to the first
// element kept (layout_node_view in ir/view_chain.h computes that view), so
// the jitted reorder copies exactly the kept elements. A bf16 input in a plain
// oneDNN buffer (a bf16 matmul's output) is read as it is and converted on the way.
#include "backends/cpu/program.h"
#include "ir/view_chain.h"

namespace wafer::cpu {

using dnnl::memory;

bool lower_slice(Program& p, const Node& node) {
  if (!node.domain.empty() || node.op_type != "Slice" || node.outputs.size() != 1 || !node.has_input(0)) return false;
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  if (!xd || !yd || p.dtype_of_value(x) != DType::Float32 || xd->empty() || xd->size() > 6) return false;
  auto view = layout_node_view(p.graph(), node, StridedView::row_major(*xd));
  if (!view || view->dims != *yd) return false;
  memory::data_type dt = memory::data_type::f32;
  MemRef in;
  auto f = p.dnnl_form(x);
  if (f && f->md == plain_md(*xd, memory::data_type::bf16)) {
    dt = memory::data_type::bf16;
    in = *f;
  } else {
    in = MemRef{plain_md(*xd), -1, p.plain(x)};
  }
  in.md =
      memory::desc(memory::dims(yd->begin(), yd->end()), dt, memory::dims(view->strides.begin(), view->strides.end()));
  in.md.data.offset0 = view->offset;
  MemRef out = p.define(y, plain_md(*yd));
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::reorder(dnnl::reorder::primitive_desc(p.engine(), in.md, p.engine(), out.md));
  s.args = {{DNNL_ARG_FROM, in}, {DNNL_ARG_TO, out}};
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
