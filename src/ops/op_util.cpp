#include "ops/op_util.h"

#include <cstring>

namespace wafer {

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  int64_t lo = rank == 0 ? -1 : -rank, hi = rank == 0 ? 0 : rank - 1;
  check(axis >= lo && axis <= hi, node.label(), ": axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + std::max<int64_t>(rank, 1) : axis;
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    int64_t n = normalize_axis(a, rank, node);
    for (int64_t o : out) check(o != n, node.label(), ": axis ", a, " is repeated");
    out.push_back(n);
  }
  return out;
}

Dims strides_of(const Dims& dims) {
  Dims s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

Dims broadcast_dims(const Dims& a, const Dims& b, const Node& node) {
  size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1)
      out[i] = da;
    else if (da == 1)
      out[i] = db;
    else
      fail(node.label(), ": shapes ", dims_to_string(a), " and ", dims_to_string(b), " do not broadcast");
  }
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  if (!a.rank_known || !b.rank_known) return Shape::unknown_rank();
  size_t r = std::max(a.dims.size(), b.dims.size());
  Shape out;
  out.dims.resize(r);
  for (size_t i = 0; i < r; ++i) {
    Dim da = i < r - a.dims.size() ? Dim(1) : a.dims[i - (r - a.dims.size())];
    Dim db = i < r - b.dims.size() ? Dim(1) : b.dims[i - (r - b.dims.size())];
    if (da == db || db == Dim(1))
      out.dims[i] = da;
    else if (da == Dim(1))
      out.dims[i] = db;
    else if (da.known() && db.known())
      throw Error("shapes " + a.str() + " and " + b.str() + " do not broadcast");
    else if (da.known())
      out.dims[i] = da;  // the other must be da or 1: da wins either way
    else if (db.known())
      out.dims[i] = db;
    else
      out.dims[i] = Dim();
  }
  return out;
}

Dims broadcast_strides(const Dims& in, const Dims& out) {
  Dims s(out.size(), 0);
  Dims is = strides_of(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : is[i];
  return s;
}

StridedWalker::StridedWalker(Dims dims, std::vector<Dims> strides)
    : dims_(std::move(dims)), strides_(std::move(strides)), index_(dims_.size(), 0), offsets_(strides_.size(), 0) {}

void StridedWalker::next() {
  for (size_t d = dims_.size(); d-- > 0;) {
    if (++index_[d] < dims_[d]) {
      for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] += strides_[k][d];
      return;
    }
    for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] -= strides_[k][d] * (dims_[d] - 1);
    index_[d] = 0;
  }
}

Tensor broadcast_to(const Tensor& src, const Dims& dims, const Node& node) {
  Dims out_dims = broadcast_dims(src.dims(), dims, node);
  check(out_dims == dims, node.label(), ": cannot broadcast ", dims_to_string(src.dims()), " to ",
        dims_to_string(dims));
  Tensor out(src.dtype(), dims);
  size_t es = dtype_size(src.dtype());
  auto* dst = static_cast<std::byte*>(out.raw());
  auto* s = static_cast<const std::byte*>(src.raw());
  StridedWalker w(dims, {broadcast_strides(src.dims(), dims)});
  for (int64_t i = 0, n = out.numel(); i < n; ++i, w.next())
    std::memcpy(dst + size_t(i) * es, s + size_t(w.offset(0)) * es, es);
  return out;
}

ValueType typed(DType dtype, Shape shape) {
  return ValueType{dtype, std::move(shape)};
}

std::vector<ValueType> infer_same_as_input(const InferContext& ctx) {
  return {ctx.in(0)};
}

std::vector<ValueType> infer_broadcast(const InferContext& ctx) {
  Shape s = ctx.in(0).shape;
  for (size_t i = 1; i < ctx.inputs.size(); ++i)
    if (ctx.has(i)) s = broadcast_shapes(s, ctx.in(i).shape);
  return {typed(ctx.in(0).dtype, s)};
}

std::vector<ValueType> infer_broadcast_bool(const InferContext& ctx) {
  auto out = infer_broadcast(ctx);
  out[0].dtype = DType::Bool;
  return out;
}

void require_dtype(const Node& node, DType actual, std::initializer_list<DType> allowed, const char* what) {
  for (DType d : allowed)
    if (d == actual) return;
  std::string list;
  for (DType d : allowed) list += (list.empty() ? "" : ", ") + std::string(dtype_name(d));
  fail(node.label(), ": ", what, " type ", dtype_name(actual), " is not supported (expected one of ", list, ")");
}

}  // namespace wafer
