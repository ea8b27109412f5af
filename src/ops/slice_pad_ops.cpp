// Ops that select or extend a window of the input: Slice, Pad, ReverseSequence.
#include <cmath>

#include "ops/slice_window.h"
#include "ops/tensor_ops_util.h"

namespace wafer {
namespace {
using namespace tensor_ops;

// ---- Slice ----
// Numpy slicing of one axis of size `dim`: negative positions count from the
// end, then positions are clamped so that any start/end is valid.
AxisWindow slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, const Node& node) {
  check(step != 0, node.label(), ": slice step cannot be 0");
  if (start < 0) start = start < -dim ? -1 : start + dim;  // stays < 0 only when before the start
  if (end < 0) end = end < -dim ? -1 : end + dim;
  AxisWindow w;
  w.step = step;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    w.count = end > start ? 1 + (end - start - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, -1, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    int64_t stride = step == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -step;
    w.count = start > end ? 1 + (start - end - 1) / stride : 0;
  }
  w.start = w.count > 0 ? start : 0;
  return w;
}

}  // namespace

std::vector<AxisWindow> slice_windows(const Dims& dims, const SliceArgs& a, const Node& node) {
  int64_t rank = int64_t(dims.size());
  check(a.starts.size() == a.ends.size(), node.label(), ": starts has ", a.starts.size(), " entries, ends ",
        a.ends.size());
  std::vector<int64_t> axes = a.axes;
  if (axes.empty())
    for (size_t i = 0; i < a.starts.size(); ++i) axes.push_back(int64_t(i));
  check(axes.size() == a.starts.size(), node.label(), ": axes has ", axes.size(), " entries, starts ", a.starts.size());
  check(a.steps.empty() || a.steps.size() == a.starts.size(), node.label(), ": steps has ", a.steps.size(),
        " entries, starts ", a.starts.size());
  axes = normalize_axes(axes, rank, node);
  std::vector<AxisWindow> win(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) win[size_t(d)].count = dims[size_t(d)];
  for (size_t i = 0; i < axes.size(); ++i)
    win[size_t(axes[i])] =
        slice_axis(dims[size_t(axes[i])], a.starts[i], a.ends[i], a.steps.empty() ? 1 : a.steps[i], node);
  return win;
}

namespace {

std::vector<Tensor> slice(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  SliceArgs a;
  if (ctx.version() < 10) {
    a.starts = ctx.node.attr_ints("starts");
    a.ends = ctx.node.attr_ints("ends");
    a.axes = ctx.node.attr_ints("axes", std::vector<int64_t>{});
  } else {
    a.starts = int_values(ctx.in(1), ctx.node, "starts");
    a.ends = int_values(ctx.in(2), ctx.node, "ends");
    if (ctx.has(3)) a.axes = int_values(ctx.in(3), ctx.node, "axes");
    if (ctx.has(4)) a.steps = int_values(ctx.in(4), ctx.node, "steps");
  }
  auto win = slice_windows(x.dims(), a, ctx.node);
  Dims out_dims, walk_strides, in_strides = strides_of(x.dims());
  int64_t base = 0;
  for (size_t d = 0; d < win.size(); ++d) {
    out_dims.push_back(win[d].count);
    walk_strides.push_back(in_strides[d] * win[d].step);
    base += win[d].start * in_strides[d];
  }
  Tensor out(x.dtype(), out_dims);
  if (out.numel() == 0) return {out};
  visit_width(x.dtype(), [&]<typename U>() {
    const U* src = static_cast<const U*>(x.raw()) + base;
    U* dst = static_cast<U*>(out.raw());
    StridedWalker w(out_dims, {walk_strides});
    for (int64_t i = 0, n = out.numel(); i < n; ++i, w.next()) dst[i] = src[w.offset(0)];
  });
  return {out};
}

std::vector<ValueType> slice_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known) return {x};
  SliceArgs a;
  if (ctx.node.op_version < 10) {
    a.starts = ctx.node.attr_ints("starts");
    a.ends = ctx.node.attr_ints("ends");
    a.axes = ctx.node.attr_ints("axes", std::vector<int64_t>{});
  } else {
    auto starts = const_ints(ctx, 1), ends = const_ints(ctx, 2);
    std::optional<std::vector<int64_t>> axes = std::vector<int64_t>{}, steps = std::vector<int64_t>{};
    if (ctx.node.has_input(3)) axes = const_ints(ctx, 3);
    if (ctx.node.has_input(4)) steps = const_ints(ctx, 4);
    if (!axes) return {typed(x.dtype, unknown_dims(x.shape.rank()))};
    if (!starts || !ends || !steps) {
      // Only the sliced axes change, and we know which ones they are.
      Shape out = x.shape;
      if (axes->empty()) return {typed(x.dtype, unknown_dims(x.shape.rank()))};
      for (int64_t ax : normalize_axes(*axes, x.shape.rank(), ctx.node)) out.dims[size_t(ax)] = Dim();
      return {typed(x.dtype, out)};
    }
    a = {*starts, *ends, *axes, *steps};
  }
  // Slice with sizes 1 on unknown dims, then mark those sliced axes unknown.
  Dims probe;
  for (const Dim& d : x.shape.dims) probe.push_back(d.known() ? d.value : 1);
  auto win = slice_windows(probe, a, ctx.node);
  Shape out = x.shape;
  std::vector<int64_t> axes = a.axes;
  if (axes.empty())
    for (size_t i = 0; i < a.starts.size(); ++i) axes.push_back(int64_t(i));
  for (int64_t ax : normalize_axes(axes, x.shape.rank(), ctx.node)) {
    const Dim& d = x.shape.dims[size_t(ax)];
    out.dims[size_t(ax)] = d.known() ? Dim(win[size_t(ax)].count) : Dim();
  }
  return {typed(x.dtype, out)};
}
WAFER_REGISTER_OP(slice, {.name = "Slice",
                          .cost = op_cost::strided_view(),
                          .since = 1,
                          .until = 13,
                          .attrs = {{"starts", AttrType::Ints}, {"ends", AttrType::Ints}, {"axes", AttrType::Ints}},
                          .infer = slice_infer,
                          .kernel = slice});

// ---- Pad ----
enum class PadMode { Constant, Reflect, Edge };

PadMode pad_mode(const Node& node) {
  std::string m = node.attr_string("mode", "constant");
  if (m == "constant") return PadMode::Constant;
  if (m == "reflect") return PadMode::Reflect;
  if (m == "edge") return PadMode::Edge;
  if (m == "wrap") throw UnsupportedError(node.label() + ": pad mode 'wrap' (opset 19) is not supported");
  fail(node.label(), ": unknown pad mode '", m, "'");
}

std::vector<int64_t> pad_amounts(const KernelContext& ctx) {
  auto pads = ctx.version() < 11 ? ctx.node.attr_ints("pads") : int_values(ctx.in(1), ctx.node, "pads");
  int64_t rank = ctx.in(0).rank();
  check(int64_t(pads.size()) == 2 * rank, ctx.node.label(), ": pads has ", pads.size(), " entries for rank ", rank,
        " (needs ", 2 * rank, ")");
  return pads;
}

// Input coordinate read for output coordinate o along an axis of size dim
// with `before` elements of padding in front; -1 = the constant value.
int64_t pad_source(int64_t o, int64_t before, int64_t dim, PadMode mode) {
  int64_t i = o - before;
  if (i >= 0 && i < dim) return i;
  if (mode == PadMode::Constant) return -1;
  if (mode == PadMode::Edge) return i < 0 ? 0 : dim - 1;
  if (dim == 1) return 0;
  // Reflection without repeating the edge: period 2*(dim-1).
  int64_t period = 2 * (dim - 1);
  int64_t m = ((i % period) + period) % period;
  return m < dim ? m : period - m;
}

std::vector<Tensor> pad(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto pads = pad_amounts(ctx);
  PadMode mode = pad_mode(ctx.node);
  int64_t rank = x.rank();
  Dims out_dims(static_cast<size_t>(rank));
  std::vector<std::vector<int64_t>> source(
      static_cast<size_t>(rank));  // per axis: output coordinate -> input coordinate
  for (int64_t d = 0; d < rank; ++d) {
    int64_t before = pads[size_t(d)], after = pads[size_t(d + rank)], dim = x.dim(d);
    constexpr int64_t limit = int64_t(1) << 48;  // keeps the sum below from overflowing
    check(std::abs(before) <= limit && std::abs(after) <= limit, ctx.node.label(), ": pads ", dims_to_string(pads),
          " are absurdly large");
    out_dims[size_t(d)] = dim + before + after;
    check(out_dims[size_t(d)] >= 0, ctx.node.label(), ": pads ", dims_to_string(pads), " remove more than axis ", d,
          " holds");
    check(mode == PadMode::Constant || dim > 0 || out_dims[size_t(d)] == 0, ctx.node.label(),
          ": cannot pad an empty axis in this mode");
  }
  Tensor out(x.dtype(), out_dims);  // checks the size before the tables below are built
  if (out.numel() == 0) return {out};
  for (int64_t d = 0; d < rank; ++d)
    for (int64_t o = 0; o < out_dims[size_t(d)]; ++o)
      source[size_t(d)].push_back(pad_source(o, pads[size_t(d)], x.dim(d), mode));
  // The fill value, converted to the tensor's dtype.
  Tensor fill = Tensor::scalar<float>(ctx.version() < 11 ? ctx.node.attr_float("value", 0.0f) : 0.0f).cast(x.dtype());
  if (ctx.version() >= 11 && ctx.has(2) && ctx.in(2).numel() > 0) {
    check(ctx.in(2).dtype() == x.dtype(), ctx.node.label(), ": constant_value has type ", dtype_name(ctx.in(2).dtype()),
          ", data has ", dtype_name(x.dtype()));
    fill = ctx.in(2);
  }
  Dims in_strides = strides_of(x.dims());
  visit_width(x.dtype(), [&]<typename U>() {
    const U* src = static_cast<const U*>(x.raw());
    U* dst = static_cast<U*>(out.raw());
    U value = *static_cast<const U*>(fill.raw());
    Dims idx(static_cast<size_t>(rank), 0);
    for (int64_t i = 0, n = out.numel(); i < n; ++i) {
      int64_t off = 0;
      bool inside = true;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t s = source[size_t(d)][size_t(idx[size_t(d)])];
        if (s < 0) inside = false;
        off += s * in_strides[size_t(d)];
      }
      dst[i] = inside ? src[off] : value;
      for (int64_t d = rank - 1; d >= 0 && ++idx[size_t(d)] == out_dims[size_t(d)]; --d) idx[size_t(d)] = 0;
    }
  });
  return {out};
}

std::vector<ValueType> pad_infer(const InferContext& ctx) {
  if (!known(ctx, {0})) return {};
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known) return {x};
  std::optional<std::vector<int64_t>> pads;
  if (ctx.node.op_version < 11)
    pads = ctx.node.attr_ints("pads");
  else
    pads = const_ints(ctx, 1);
  if (!pads) return {typed(x.dtype, unknown_dims(x.shape.rank()))};
  int64_t rank = x.shape.rank();
  check(int64_t(pads->size()) == 2 * rank, ctx.node.label(), ": pads has ", pads->size(), " entries for rank ", rank);
  Shape out = x.shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t extra = (*pads)[size_t(d)] + (*pads)[size_t(d + rank)];
    Dim& o = out.dims[size_t(d)];
    if (o.known())
      o = Dim(o.value + extra);
    else if (extra != 0)
      o = Dim();
  }
  return {typed(x.dtype, out)};
}
WAFER_REGISTER_OP(pad, {.name = "Pad",
                        .cost = op_cost::movement(),
                        .since = 2,
                        .until = 13,
                        .attrs = {{"pads", AttrType::Ints}, {"mode", AttrType::String}, {"value", AttrType::Float}},
                        .infer = pad_infer,
                        .kernel = pad});

// ---- ReverseSequence ----
std::vector<Tensor> reverse_sequence(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  check(x.rank() >= 2, ctx.node.label(), ": input must have rank >= 2, got ", dims_to_string(x.dims()));
  int64_t batch_axis = ctx.node.attr_int("batch_axis", 1), time_axis = ctx.node.attr_int("time_axis", 0);
  check((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0), ctx.node.label(),
        ": batch_axis and time_axis must be 0 and 1 in some order, got ", batch_axis, " and ", time_axis);
  auto lens = int_values(ctx.in(1), ctx.node, "sequence_lens");
  int64_t batch = x.dim(batch_axis), time = x.dim(time_axis);
  check(int64_t(lens.size()) == batch, ctx.node.label(), ": sequence_lens has ", lens.size(), " entries for batch ",
        batch);
  for (int64_t l : lens)
    check(l >= 0 && l <= time, ctx.node.label(), ": sequence length ", l, " is out of range [0, ", time, "]");
  int64_t inner = 1;
  for (int64_t d = 2; d < x.rank(); ++d) inner *= x.dim(d);
  Tensor out = x.clone();
  size_t row = size_t(inner) * dtype_size(x.dtype());
  Dims strides = strides_of(x.dims());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < lens[size_t(b)]; ++t) {
      int64_t from = b * strides[size_t(batch_axis)] + (lens[size_t(b)] - 1 - t) * strides[size_t(time_axis)];
      int64_t to = b * strides[size_t(batch_axis)] + t * strides[size_t(time_axis)];
      std::memcpy(bytes_of(out) + size_t(to) * dtype_size(x.dtype()),
                  bytes_of(x) + size_t(from) * dtype_size(x.dtype()), row);
    }
  return {out};
}
WAFER_REGISTER_OP(reverse_sequence, {.name = "ReverseSequence",
                                     .cost = op_cost::movement(),
                                     .since = 10,
                                     .until = 10,
                                     .attrs = {{"batch_axis", AttrType::Int}, {"time_axis", AttrType::Int}},
                                     .infer = [](const InferContext& ctx) -> std::vector<ValueType> {
                                       if (!known(ctx, {0})) return {};
                                       return {ctx.in(0)};
                                     },
                                     .kernel = reverse_sequence});

}  // namespace
}  // namespace wafer
