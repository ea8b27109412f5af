// Reshape, Flatten, Squeeze, Unsqueeze and Identity of a row-major tensor only
// relabel its dims: the output is a view sharing the input's storage (no copy),
// for any element type. Shapes come from shape propagation (static here).
#include "backends/cpu/program.h"

namespace wafer::cpu {

bool lower_view(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1 || !node.has_input(0)) return false;
  const std::string& op = node.op_type;
  if (op != "Reshape" && op != "Flatten" && op != "Squeeze" && op != "Unsqueeze" && op != "Identity") return false;
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  DType dt = p.dtype_of_value(x);
  if (!xd || !yd || dt == DType::Undefined || p.dtype_of_value(y) != dt) return false;
  if (element_count(*xd) != element_count(*yd)) return false;
  p.define_view(node.label(), x, y);
  return true;
}

}  // namespace wafer::cpu
