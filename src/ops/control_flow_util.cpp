#include "ops/control_flow_util.h"

#include <cstring>

namespace wafer {

Tensor slice_axis(const Tensor& t, int64_t axis, int64_t i) {
  check(axis >= 0 && axis < t.rank() && i >= 0 && i < t.dim(axis), "slice_axis: index ", i, " on axis ", axis, " of ",
        dims_to_string(t.dims()));
  Dims out_dims = t.dims();
  out_dims.erase(out_dims.begin() + axis);
  Tensor out(t.dtype(), out_dims);
  int64_t outer = 1, inner = int64_t(dtype_size(t.dtype()));
  for (int64_t a = 0; a < axis; ++a) outer *= t.dim(a);
  for (int64_t a = axis + 1; a < t.rank(); ++a) inner *= t.dim(a);
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  int64_t n = t.dim(axis);
  for (int64_t o = 0; o < outer && inner > 0; ++o)
    std::memcpy(dst + o * inner, src + (o * n + i) * inner, size_t(inner));
  return out;
}

Tensor stack_axis(const std::vector<Tensor>& parts, int64_t axis, DType dtype, const Dims& empty_dims) {
  if (parts.empty()) return Tensor(dtype, empty_dims);
  const Tensor& first = parts[0];
  check(axis >= 0 && axis <= first.rank(), "stack_axis: axis ", axis, " for rank ", first.rank());
  for (const Tensor& p : parts)
    check(p.dtype() == first.dtype() && p.dims() == first.dims(), "scan output changes from ",
          dtype_name(first.dtype()), dims_to_string(first.dims()), " to ", dtype_name(p.dtype()),
          dims_to_string(p.dims()), " between iterations");
  Dims out_dims = first.dims();
  int64_t k = int64_t(parts.size());
  out_dims.insert(out_dims.begin() + axis, k);
  Tensor out(first.dtype(), out_dims);
  int64_t outer = 1, inner = int64_t(dtype_size(first.dtype()));
  for (int64_t a = 0; a < axis; ++a) outer *= first.dim(a);
  for (int64_t a = axis; a < first.rank(); ++a) inner *= first.dim(a);
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t o = 0; o < outer && inner > 0; ++o)
    for (int64_t j = 0; j < k; ++j)
      std::memcpy(dst + (o * k + j) * inner, static_cast<const std::byte*>(parts[size_t(j)].raw()) + o * inner,
                  size_t(inner));
  return out;
}

}  // namespace wafer
