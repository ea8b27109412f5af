#include "ops/math_util.h"

namespace wafer::math {

void require_one_of(const Node& node, DType actual, const std::vector<DType>& allowed, const char* what) {
  for (DType d : allowed)
    if (d == actual) return;
  std::string list;
  for (DType d : allowed) list += (list.empty() ? "" : ", ") + std::string(dtype_name(d));
  fail(node.label(), ": ", what, " type ", dtype_name(actual), " is not supported (expected one of ", list, ")");
}

ReducePlan plan_reduce(const Dims& in_dims, const std::vector<int64_t>& axes, bool keepdims) {
  size_t rank = in_dims.size();
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) reduced[size_t(a)] = true;
  ReducePlan p;
  for (size_t d = 0; d < rank; ++d) {
    p.kept_dims.push_back(reduced[d] ? 1 : in_dims[d]);
    if (reduced[d]) p.group *= in_dims[d];
    if (!reduced[d] || keepdims) p.out_dims.push_back(reduced[d] ? 1 : in_dims[d]);
  }
  p.out_numel = element_count(p.kept_dims);
  Dims ks = strides_of(p.kept_dims);
  p.in_to_out.resize(rank);
  for (size_t d = 0; d < rank; ++d) p.in_to_out[d] = reduced[d] ? 0 : ks[d];
  return p;
}

std::optional<std::vector<int64_t>> reduce_axes(const KernelContext& ctx) {
  if (ctx.node.has_attr("axes")) return ctx.node.attr_ints("axes");
  if (ctx.has(1)) {
    const Tensor& t = ctx.in(1);
    check(t.dtype() == DType::Int64 || t.dtype() == DType::Int32, ctx.node.label(), ": axes must be int64, got ",
          dtype_name(t.dtype()));
    check(t.rank() <= 1, ctx.node.label(), ": axes must be a 1-D tensor, got shape ", dims_to_string(t.dims()));
    return t.to_int_vector();
  }
  return std::nullopt;
}

}  // namespace wafer::math
