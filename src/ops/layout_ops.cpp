// Ops that move elements without computing on them: Transpose, Concat,
// Split, Tile, DepthToSpace, SpaceToDepth. Kernels copy raw elements, so they
// serve every dtype.
#include <limits>

#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

// ---- Transpose ----
std::vector<int64_t> transpose_perm(const Node& node, int64_t rank) {
  std::vector<int64_t> perm;
  if (node.has_attr("perm")) {
    perm = node.attr_ints("perm");
    check(int64_t(perm.size()) == rank, node.label(), ": perm has ", perm.size(), " entries for rank ", rank);
    std::vector<bool> seen(size_t(rank), false);
    for (int64_t& p : perm) {
      p = normalize_axis(p, rank, node);
      check(!seen[size_t(p)], node.label(), ": perm repeats axis ", p);
      seen[size_t(p)] = true;
    }
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);  // default: reverse the axes
  }
  return perm;
}
std::vector<Tensor> transpose_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  return {transpose(x, transpose_perm(ctx.node, x.rank()))};
}
std::vector<ValueType> transpose_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known) return {x};
  Shape out;
  for (int64_t p : transpose_perm(ctx.node, x.shape.rank())) out.dims.push_back(x.shape.dims[size_t(p)]);
  return {typed(x.dtype, out)};
}
WAFER_REGISTER_OP(transpose, {.name = "Transpose",
                              .cost = op_cost::strided_view(),
                              .since = 1,
                              .until = 13,
                              .attrs = {{"perm", AttrType::Ints}},
                              .infer = transpose_infer,
                              .kernel = transpose_kernel});

// ---- Concat ----
std::vector<Tensor> concat(const KernelContext& ctx) {
  check(ctx.num_inputs() >= 1, ctx.node.label(), ": needs at least one input");
  const Tensor& first = ctx.in(0);
  int64_t rank = first.rank();
  check(rank >= 1, ctx.node.label(), ": cannot concatenate scalars");
  int64_t axis = normalize_axis(ctx.node.attr_int("axis"), rank, ctx.node);
  Dims out_dims = first.dims();
  out_dims[size_t(axis)] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.in(i);
    check(t.dtype() == first.dtype(), ctx.node.label(), ": input ", i, " has type ", dtype_name(t.dtype()),
          ", input 0 has ", dtype_name(first.dtype()));
    bool same = t.rank() == rank;
    for (int64_t d = 0; same && d < rank; ++d) same = d == axis || t.dim(d) == first.dim(d);
    check(same, ctx.node.label(), ": input ", i, " has shape ", dims_to_string(t.dims()), ", incompatible with ",
          dims_to_string(first.dims()), " along axis ", axis);
    out_dims[size_t(axis)] += t.dim(axis);
  }
  Tensor out(first.dtype(), out_dims);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_dims[size_t(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= out_dims[size_t(d)];
  size_t es = dtype_size(first.dtype());
  size_t out_row = size_t(out_dims[size_t(axis)] * inner) * es;
  std::byte* dst = bytes_of(out);
  size_t col = 0;  // byte offset of the current input within an output row
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.in(i);
    size_t row = size_t(t.dim(axis) * inner) * es;
    const std::byte* src = bytes_of(t);
    if (row > 0)
      for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + size_t(o) * out_row + col, src + size_t(o) * row, row);
    col += row;
  }
  return {out};
}
std::vector<ValueType> concat_infer(const InferContext& ctx) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (!ctx.has(i)) return {};
  if (ctx.inputs.empty()) return {};
  const ValueType& first = ctx.in(0);
  Shape out = Shape::unknown_rank();
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (ctx.in(i).shape.rank_known) out = ctx.in(i).shape;
  if (!out.rank_known) return {typed(first.dtype, out)};
  int64_t axis = axis_in_rank(ctx.node.attr_int("axis"), out.rank(), ctx.node);
  int64_t total = 0;
  bool total_known = true;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const Shape& s = ctx.in(i).shape;
    if (!s.rank_known) {
      total_known = false;
      continue;
    }
    check(s.rank() == out.rank(), ctx.node.label(), ": inputs have different ranks");
    for (int64_t d = 0; d < out.rank(); ++d) {
      if (d == axis) continue;
      Dim& o = out.dims[size_t(d)];
      const Dim& v = s.dims[size_t(d)];
      if (!o.known() && v.known())
        o = v;  // a known size is more information than a symbol
      else
        check(!o.known() || !v.known() || o == v, ctx.node.label(), ": input ", i, " has shape ", s.str(),
              ", incompatible along axis ", d);
    }
    if (s.dims[size_t(axis)].known())
      total += s.dims[size_t(axis)].value;
    else
      total_known = false;
  }
  out.dims[size_t(axis)] = total_known ? Dim(total) : Dim();
  return {typed(first.dtype, out)};
}
WAFER_REGISTER_OP(concat, {.name = "Concat",
                           .cost = op_cost::movement(),
                           .since = 4,
                           .until = 13,
                           .attrs = {{"axis", AttrType::Int, true}},
                           .infer = concat_infer,
                           .kernel = concat});

// ---- Split: sizes from the `split` attribute (< v13) or input 1 (v13), else equal parts ----
std::vector<int64_t> split_sizes(const Node& node, int64_t dim, size_t outputs,
                                 std::optional<std::vector<int64_t>> split) {
  check(outputs >= 1, node.label(), ": needs at least one output");
  if (!split || split->empty()) {
    check(dim % int64_t(outputs) == 0, node.label(), ": dimension ", dim, " does not split into ", outputs,
          " equal parts");
    return std::vector<int64_t>(outputs, dim / int64_t(outputs));
  }
  check(split->size() == outputs, node.label(), ": split has ", split->size(), " entries for ", outputs, " outputs");
  int64_t sum = 0;
  for (int64_t s : *split) {
    check(s >= 0, node.label(), ": negative split size ", s);
    sum += s;
  }
  check(sum == dim, node.label(), ": split sizes add up to ", sum, ", dimension is ", dim);
  return *split;
}
std::vector<Tensor> split(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t axis = axis_in_rank(ctx.node.attr_int("axis", 0), x.rank(), ctx.node);
  std::optional<std::vector<int64_t>> given;
  if (ctx.version() < 13) {
    if (ctx.node.has_attr("split")) given = ctx.node.attr_ints("split");
  } else if (ctx.has(1)) {
    given = int_values(ctx.in(1), ctx.node, "split");
  }
  auto sizes = split_sizes(ctx.node, x.dim(axis), ctx.num_outputs(), given);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  size_t es = dtype_size(x.dtype());
  size_t in_row = size_t(x.dim(axis) * inner) * es, col = 0;
  std::vector<Tensor> outs;
  for (int64_t s : sizes) {
    Dims d = x.dims();
    d[size_t(axis)] = s;
    Tensor out(x.dtype(), d);
    size_t row = size_t(s * inner) * es;
    if (row > 0)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(bytes_of(out) + size_t(o) * row, bytes_of(x) + size_t(o) * in_row + col, row);
    col += row;
    outs.push_back(out);
  }
  return outs;
}
std::vector<ValueType> split_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  size_t n = ctx.node.outputs.size();
  if (!x.shape.rank_known) return std::vector<ValueType>(n, typed(x.dtype, Shape::unknown_rank()));
  int64_t axis = axis_in_rank(ctx.node.attr_int("axis", 0), x.shape.rank(), ctx.node);
  std::optional<std::vector<int64_t>> given;
  if (ctx.node.op_version < 13) {
    if (ctx.node.has_attr("split")) given = ctx.node.attr_ints("split");
  } else if (ctx.node.has_input(1)) {
    given = const_ints(ctx, 1);
    if (!given) {
      Shape s = x.shape;
      s.dims[size_t(axis)] = Dim();
      return std::vector<ValueType>(n, typed(x.dtype, s));
    }
  }
  const Dim& d = x.shape.dims[size_t(axis)];
  std::vector<ValueType> out;
  if (given && !given->empty())
    check(given->size() == n, ctx.node.label(), ": split has ", given->size(), " entries for ", n, " outputs");
  if (!d.known()) {
    Shape s = x.shape;
    for (size_t i = 0; i < n; ++i) {
      s.dims[size_t(axis)] = given && !given->empty() ? Dim((*given)[i]) : Dim();
      out.push_back(typed(x.dtype, s));
    }
    return out;
  }
  for (int64_t size : split_sizes(ctx.node, d.value, n, given)) {
    Shape s = x.shape;
    s.dims[size_t(axis)] = Dim(size);
    out.push_back(typed(x.dtype, s));
  }
  return out;
}
WAFER_REGISTER_OP(split, {.name = "Split",
                          .cost = op_cost::strided_view(),
                          .since = 2,
                          .until = 13,
                          .attrs = {{"axis", AttrType::Int}, {"split", AttrType::Ints}},
                          .infer = split_infer,
                          .kernel = split});

// ---- Tile ----
std::vector<int64_t> tile_repeats(const std::vector<int64_t>& reps, int64_t rank, const Node& node) {
  check(int64_t(reps.size()) == rank, node.label(), ": repeats has ", reps.size(), " entries for rank ", rank);
  for (int64_t r : reps) check(r >= 0 && r <= (int64_t(1) << 40), node.label(), ": repeat ", r, " is out of range");
  return reps;
}
std::vector<Tensor> tile(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto reps = tile_repeats(int_values(ctx.in(1), ctx.node, "repeats"), x.rank(), ctx.node);
  for (int64_t k = 0; k < x.rank(); ++k)  // the output dims below must not overflow
    check(x.dim(k) == 0 || reps[size_t(k)] <= std::numeric_limits<int64_t>::max() / x.dim(k), ctx.node.label(),
          ": repeats ", dims_to_string(reps), " make the output too large");
  // Output index i_k = r_k * d_k + j_k, so walking dims [r0, d0, r1, d1, ...]
  // in row-major order visits the output in order, reading input (j0, j1, ...).
  Dims out_dims, walk_dims, walk_strides;
  Dims in_strides = strides_of(x.dims());
  for (int64_t k = 0; k < x.rank(); ++k) {
    out_dims.push_back(x.dim(k) * reps[size_t(k)]);
    walk_dims.insert(walk_dims.end(), {reps[size_t(k)], x.dim(k)});
    walk_strides.insert(walk_strides.end(), {0, in_strides[size_t(k)]});
  }
  Tensor out(x.dtype(), out_dims);
  visit_width(x.dtype(), [&]<typename U>() {
    const U* src = static_cast<const U*>(x.raw());
    U* dst = static_cast<U*>(out.raw());
    StridedWalker w(walk_dims, {walk_strides});
    for (int64_t i = 0, n = out.numel(); i < n; ++i, w.next()) dst[i] = src[w.offset(0)];
  });
  return {out};
}
std::vector<ValueType> tile_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  auto reps = const_ints(ctx, 1);
  if (!x.shape.rank_known) return {x};
  if (!reps) return {typed(x.dtype, unknown_dims(x.shape.rank()))};
  tile_repeats(*reps, x.shape.rank(), ctx.node);
  Shape out;
  for (size_t k = 0; k < reps->size(); ++k) {
    const Dim& d = x.shape.dims[k];
    int64_t r = (*reps)[k];
    bool fits = d.known() && (d.value == 0 || r <= std::numeric_limits<int64_t>::max() / d.value);
    out.dims.push_back(fits ? Dim(d.value * r) : (r == 1 ? d : r == 0 ? Dim(0) : Dim()));
  }
  return {typed(x.dtype, out)};
}
WAFER_REGISTER_OP(
    tile, {.name = "Tile", .cost = op_cost::movement(), .since = 6, .until = 13, .infer = tile_infer, .kernel = tile});

// ---- DepthToSpace / SpaceToDepth: a reshape, a transpose and a reshape ----
int64_t blocksize(const Node& node) {
  int64_t b = node.attr_int("blocksize");
  check(b >= 1 && b <= (int64_t(1) << 20), node.label(), ": blocksize ", b, " is out of range");
  return b;
}
bool depth_to_space_crd(const Node& node) {
  std::string mode = node.op_version >= 11 ? node.attr_string("mode", "DCR") : "DCR";
  check(mode == "DCR" || mode == "CRD", node.label(), ": unknown mode '", mode, "'");
  return mode == "CRD";
}
std::vector<Tensor> depth_to_space(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  check(x.rank() == 4, ctx.node.label(), ": input must be 4-D (N,C,H,W), got ", dims_to_string(x.dims()));
  int64_t b = blocksize(ctx.node), n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  check(c % (b * b) == 0, ctx.node.label(), ": channels ", c, " are not divisible by blocksize^2 = ", b * b);
  Tensor t = depth_to_space_crd(ctx.node) ? transpose(x.reshaped({n, c / (b * b), b, b, h, w}), {0, 1, 4, 2, 5, 3})
                                          : transpose(x.reshaped({n, b, b, c / (b * b), h, w}), {0, 3, 4, 1, 5, 2});
  return {t.reshaped({n, c / (b * b), h * b, w * b})};
}
std::vector<Tensor> space_to_depth(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  check(x.rank() == 4, ctx.node.label(), ": input must be 4-D (N,C,H,W), got ", dims_to_string(x.dims()));
  int64_t b = blocksize(ctx.node), n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  check(h % b == 0 && w % b == 0, ctx.node.label(), ": spatial size ", h, "x", w, " is not divisible by blocksize ", b);
  Tensor t = transpose(x.reshaped({n, c, h / b, b, w / b, b}), {0, 3, 5, 1, 2, 4});
  return {t.reshaped({n, c * b * b, h / b, w / b})};
}
template <bool ToSpace>
std::vector<ValueType> block_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known) return {typed(x.dtype, unknown_dims(4))};
  check(x.shape.rank() == 4, ctx.node.label(), ": input must be 4-D (N,C,H,W), got ", x.shape.str());
  int64_t b = blocksize(ctx.node);
  auto scaled = [](const Dim& d, int64_t mul, int64_t div) { return d.known() ? Dim(d.value * mul / div) : Dim(); };
  const auto& d = x.shape.dims;
  if (ToSpace) return {typed(x.dtype, Shape({d[0], scaled(d[1], 1, b * b), scaled(d[2], b, 1), scaled(d[3], b, 1)}))};
  return {typed(x.dtype, Shape({d[0], scaled(d[1], b * b, 1), scaled(d[2], 1, b), scaled(d[3], 1, b)}))};
}
WAFER_REGISTER_OP(depth_to_space, {.name = "DepthToSpace",
                                   .cost = op_cost::movement(),
                                   .since = 1,
                                   .until = 13,
                                   .attrs = {{"blocksize", AttrType::Int, true}, {"mode", AttrType::String}},
                                   .infer = block_infer<true>,
                                   .kernel = depth_to_space});
WAFER_REGISTER_OP(space_to_depth, {.name = "SpaceToDepth",
                                   .cost = op_cost::movement(),
                                   .since = 1,
                                   .until = 13,
                                   .attrs = {{"blocksize", AttrType::Int, true}},
                                   .infer = block_infer<false>,
                                   .kernel = space_to_depth});

}  // namespace
}  // namespace wafer
