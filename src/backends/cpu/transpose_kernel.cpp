// Transpose (float32) as a oneDNN reorder: the source is described as the output
// dims with the input's strides permuted, and oneDNN's jitted reorder does the copy.
#include <numeric>

#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::memory;

bool lower_transpose(Program& p, const Node& node) {
  if (!node.domain.empty() || node.op_type != "Transpose" || node.outputs.size() != 1 || !node.has_input(0))
    return false;
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  if (!xd || !yd || p.dtype_of_value(x) != DType::Float32 || xd->size() > 6 || xd->size() != yd->size()) return false;
  size_t r = xd->size();
  Dims perm(r);
  std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse the axes
  if (node.has_attr("perm")) perm = node.attr_ints("perm");
  if (perm.size() != r) return false;
  memory::dims in_strides(r, 1);
  for (int i = int(r) - 2; i >= 0; --i) in_strides[size_t(i)] = in_strides[size_t(i) + 1] * (*xd)[size_t(i) + 1];
  memory::dims src_dims(r), src_strides(r);
  for (size_t i = 0; i < r; ++i) {
    if (perm[i] < 0 || perm[i] >= int64_t(r)) return false;
    src_dims[i] = (*xd)[size_t(perm[i])];
    src_strides[i] = in_strides[size_t(perm[i])];
  }
  if (Dims(src_dims.begin(), src_dims.end()) != *yd) return false;
  memory::desc src_md(src_dims, memory::data_type::f32, src_strides);
  MemRef src{src_md, -1, p.plain(x)};
  MemRef dst = p.define(y, plain_md(*yd));
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::reorder(dnnl::reorder::primitive_desc(p.engine(), src_md, p.engine(), dst.md));
  s.args = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
