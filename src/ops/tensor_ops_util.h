// Helpers shared by the tensor-manipulation ops (shape, layout, indexing,
// generators): reading shape-like inputs, dtype-agnostic element copies and
// index wrapping. Data-movement kernels copy raw elements by width, so one
// loop serves every dtype (bool included).
#pragma once

#include <cstring>
#include <optional>
#include <vector>

#include "ops/op_util.h"

namespace wafer::tensor_ops {

inline const std::byte* bytes_of(const Tensor& t) {
  return static_cast<const std::byte*>(t.raw());
}
inline std::byte* bytes_of(Tensor& t) {
  return static_cast<std::byte*>(t.raw());
}

// Calls fn.template operator()<U>() with U an unsigned integer as wide as one
// element of `dtype`, for copies that need no arithmetic.
template <typename Fn>
decltype(auto) visit_width(DType dtype, Fn&& fn) {
  switch (dtype_size(dtype)) {
    case 1:
      return fn.template operator()<uint8_t>();
    case 2:
      return fn.template operator()<uint16_t>();
    case 4:
      return fn.template operator()<uint32_t>();
    case 8:
      return fn.template operator()<uint64_t>();
    default:
      fail("unsupported element width for ", dtype_name(dtype));
  }
}

// Integer values of a shape-like input (int32 or int64); fails naming the node otherwise.
std::vector<int64_t> int_values(const Tensor& t, const Node& node, const char* what);
// The same for an input whose value is known at inference time; nullopt when it is not.
std::optional<std::vector<int64_t>> const_ints(const InferContext& ctx, size_t i);
// Single integer of a scalar or one-element input.
int64_t scalar_int(const Tensor& t, const Node& node, const char* what);

// Maps index in [-dim, dim) to [0, dim); fails naming the node when out of range.
inline int64_t wrap_index(int64_t idx, int64_t dim, const Node& node, const char* what = "index") {
  if (idx < -dim || idx >= dim)
    fail(node.label(), ": ", what, " ", idx, " is out of range for a dimension of size ", dim);
  return idx < 0 ? idx + dim : idx;
}

// normalize_axis for ops whose axis must index an actual dimension (rank >= 1).
inline int64_t axis_in_rank(int64_t axis, int64_t rank, const Node& node) {
  check(rank >= 1, node.label(), ": needs an input of rank >= 1, got a scalar");
  return normalize_axis(axis, rank, node);
}

// True when the types of the listed inputs are all known (infer functions
// return no types otherwise, leaving outputs unknown).
inline bool known(const InferContext& ctx, std::initializer_list<size_t> inputs) {
  for (size_t i : inputs)
    if (!ctx.has(i)) return false;
  return true;
}

// Product of dims [from, to) of a shape: known value or unknown Dim.
Dim dim_product(const Shape& s, int64_t from, int64_t to);
// Shape of rank `rank` with every dim unknown.
Shape unknown_dims(int64_t rank);

// Tensor of `dims` whose elements are a permutation of `in`'s: out[i] =
// in[perm-ordered index]. perm must be a valid permutation of in's axes.
Tensor transpose(const Tensor& in, const std::vector<int64_t>& perm);

}  // namespace wafer::tensor_ops
