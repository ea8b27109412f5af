// Slice (constant starts/ends/axes/steps), Concat, Gather (constant indices),
// Split and Pad (constant mode with constant pads; reflect and edge on the last axis) on float32 as copies of
// contiguous runs. The runs (source, destination, offsets, length) are worked
// out at compile time; a run is one memcpy, and copies of more than 8 MB spread
// their runs over the OpenMP pool. Pad first fills its output with the value.
// The window arithmetic is the reference Slice's.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backends/cpu/program.h"
#include "ops/slice_window.h"

namespace wafer::cpu {

namespace {

struct Run {
  int src;                        // index into the step's sources
  int64_t src_off, dst_off, len;  // elements
  int dst = 0;                    // index into the step's outputs (Split has several)
};

// Plans with more runs than this stay on the reference kernel (the table would rival the data).
constexpr size_t kMaxRuns = size_t(1) << 18;

// `fill`: a value every output element starts as (Pad's constant), before the runs are copied.
void add_copy_step(Program& p, const Node& node, const std::vector<std::string>& srcs, std::vector<Run> runs,
                   const std::vector<std::string>& outs, std::optional<float> fill = std::nullopt) {
  std::vector<int> ids;
  for (const auto& s : srcs) ids.push_back(p.plain(s));
  std::vector<MemRef> dsts;
  std::vector<int64_t> sizes;
  int64_t total = 0;
  for (const auto& o : outs) {
    Dims d = *p.dims_of(o);
    dsts.push_back(p.define(o, plain_md(d)));
    sizes.push_back(element_count(d));
    total += sizes.back();
  }
  Step s;
  s.label = node.label();
  s.node = &node;
  s.kernel = "copy";                                                             // memcpy of planned runs
  for (size_t i = 0; i < dsts.size(); ++i) s.args.push_back({int(i), dsts[i]});  // for liveness and allocation
  s.uses = ids;
  s.fn = [&p, ids, dsts, sizes, runs = std::move(runs), total, fill] {
    // Threads only for big copies: below a few MB one core's memcpy is faster than waking the
    // pool (on a loaded machine a fork/join cost ViT's Slices 18 ms each instead of 0.06).
    const bool big = total > (int64_t(1) << 21);
    if (fill) {
      auto* dst = static_cast<float*>(p.data(dsts[0]));
      float v = *fill;
#pragma omp parallel for schedule(static) if (big)
      for (int64_t i = 0; i < sizes[0]; ++i) dst[i] = v;
    }
    int64_t n = int64_t(runs.size());
#pragma omp parallel for schedule(static) if (big && n > 1)
    for (int64_t r = 0; r < n; ++r) {
      const Run& run = runs[size_t(r)];
      // A tensor, or in bf16 mode possibly a planned buffer.
      auto* dst = static_cast<float*>(p.data(dsts[size_t(run.dst)]));
      const auto* src = static_cast<const float*>(p.tensor_data(ids[size_t(run.src)]));
      std::memcpy(dst + run.dst_off, src + run.src_off, size_t(run.len) * sizeof(float));
    }
  };
  p.add_step(std::move(s));
}

std::optional<std::vector<int64_t>> const_ints(const Program& p, const Node& node, size_t i) {
  if (!node.has_input(i)) return std::vector<int64_t>{};
  const Tensor* t = p.graph().initializer(node.inputs[i]);
  if (!t || (t->dtype() != DType::Int64 && t->dtype() != DType::Int32)) return std::nullopt;
  return t->to_int_vector();
}

Dims strides_of(const Dims& d) {
  Dims st(d.size(), 1);
  for (int i = int(d.size()) - 2; i >= 0; --i) st[size_t(i)] = st[size_t(i) + 1] * d[size_t(i) + 1];
  return st;
}

bool lower_slice(Program& p, const Node& node, const Dims& xd, const Dims& yd) {
  SliceArgs a;
  if (node.op_version < 10) {
    a.starts = node.attr_ints("starts");
    a.ends = node.attr_ints("ends");
    a.axes = node.attr_ints("axes", std::vector<int64_t>{});
  } else {
    auto starts = const_ints(p, node, 1), ends = const_ints(p, node, 2), axes = const_ints(p, node, 3),
         steps = const_ints(p, node, 4);
    if (!node.has_input(1) || !node.has_input(2) || !starts || !ends || !axes || !steps) return false;
    a = {*starts, *ends, *axes, *steps};
  }
  std::vector<AxisWindow> win;
  try {
    win = slice_windows(xd, a, node);
  } catch (const Error&) {
    return false;  // the reference kernel reports it
  }
  Dims out;
  for (const auto& w : win) out.push_back(w.count);
  if (out != yd) return false;
  // Innermost axes taken whole with step 1 merge into one contiguous run, plus the
  // next axis when its step is 1.
  size_t r = xd.size();
  Dims st = strides_of(xd);
  int64_t len = 1;
  size_t k = r;  // axes [k, r) form the run
  while (k > 0 && win[k - 1].step == 1) {
    len *= win[k - 1].count;
    --k;
    if (win[k].count != xd[k]) break;
  }
  int64_t rows = element_count(yd) / std::max<int64_t>(len, 1);
  if (size_t(rows) > kMaxRuns) return false;
  int64_t base = 0;
  for (size_t d = 0; d < r; ++d) base += win[d].start * st[d];
  std::vector<Run> runs;
  runs.reserve(size_t(rows));
  Dims idx(k, 0);
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = base;
    for (size_t d = 0; d < k; ++d) off += idx[d] * win[d].step * st[d];
    runs.push_back({0, off, row * len, len});
    for (size_t d = k; d-- > 0;) {  // odometer over the outer axes
      if (++idx[d] < win[d].count) break;
      idx[d] = 0;
    }
  }
  add_copy_step(p, node, {node.inputs[0]}, std::move(runs), {node.outputs[0]});
  return true;
}

bool lower_concat(Program& p, const Node& node, const Dims& yd) {
  int64_t r = int64_t(yd.size()), axis = node.attr_int("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  std::vector<Dims> ins;
  for (const auto& in : node.inputs) {
    auto d = in.empty() ? std::nullopt : p.dims_of(in);
    if (!d || d->size() != yd.size() || p.dtype_of_value(in) != DType::Float32) return false;
    ins.push_back(*d);
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= yd[size_t(d)];
  for (int64_t d = axis + 1; d < r; ++d) inner *= yd[size_t(d)];
  if (size_t(outer) * ins.size() > kMaxRuns) return false;
  std::vector<Run> runs;
  int64_t dst = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < ins.size(); ++i) {
      int64_t chunk = ins[i][size_t(axis)] * inner;
      if (chunk > 0) runs.push_back({int(i), o * chunk, dst, chunk});
      dst += chunk;
    }
  if (dst != element_count(yd)) return false;
  add_copy_step(p, node, node.inputs, std::move(runs), {node.outputs[0]});
  return true;
}

bool lower_gather(Program& p, const Node& node, const Dims& xd, const Dims& yd) {
  const Tensor* ind = node.has_input(1) ? p.graph().initializer(node.inputs[1]) : nullptr;
  if (!ind || (ind->dtype() != DType::Int64 && ind->dtype() != DType::Int32) || xd.empty()) return false;
  int64_t r = int64_t(xd.size()), axis = node.attr_int("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  int64_t dim = xd[size_t(axis)];
  std::vector<int64_t> idx = ind->to_int_vector();
  for (int64_t& i : idx) {
    if (i < -dim || i >= dim) return false;  // the reference kernel reports it
    if (i < 0) i += dim;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= xd[size_t(d)];
  for (int64_t d = axis + 1; d < r; ++d) inner *= xd[size_t(d)];
  if (outer * int64_t(idx.size()) * inner != element_count(yd) || size_t(outer) * idx.size() > kMaxRuns) return false;
  std::vector<Run> runs;
  int64_t dst = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : idx) {
      runs.push_back({0, (o * dim + i) * inner, dst, inner});
      dst += inner;
    }
  add_copy_step(p, node, {node.inputs[0]}, std::move(runs), {node.outputs[0]});
  return true;
}

// Split along `axis` into the outputs' extents (from shape inference: no split sizes to re-read).
bool lower_split(Program& p, const Node& node, const Dims& xd) {
  int64_t r = int64_t(xd.size()), axis = node.attr_int("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= xd[size_t(d)];
  for (int64_t d = axis + 1; d < r; ++d) inner *= xd[size_t(d)];
  if (size_t(outer) * node.outputs.size() > kMaxRuns) return false;
  std::vector<int64_t> extents;
  for (const auto& o : node.outputs) {
    auto d = o.empty() ? std::nullopt : p.dims_of(o);
    if (!d || d->size() != xd.size() || element_count(*d) == 0) return false;
    for (int64_t k = 0; k < r; ++k)
      if (k != axis && (*d)[size_t(k)] != xd[size_t(k)]) return false;
    extents.push_back((*d)[size_t(axis)]);
  }
  int64_t sum = 0;
  for (int64_t e : extents) sum += e;
  if (sum != xd[size_t(axis)]) return false;
  std::vector<Run> runs;
  int64_t at = 0;
  for (size_t i = 0; i < extents.size(); ++i) {
    int64_t chunk = extents[i] * inner;
    for (int64_t o = 0; o < outer; ++o)
      runs.push_back({0, o * xd[size_t(axis)] * inner + at, o * chunk, chunk, int(i)});
    at += chunk;
  }
  add_copy_step(p, node, {node.inputs[0]}, std::move(runs), node.outputs);
  return true;
}

// Pad in reflect or edge mode on the last axis only (Silero VAD's STFT framing): per row, the middle as
// one run and each padded element as a one-element run from the element it mirrors (reflect: x[pl - j]
// on the left, x[n - 2 - k] on the right) or repeats (edge: the first or last).
bool lower_mirror_pad(Program& p, const Node& node, const Dims& xd, const std::vector<int64_t>& pads, bool reflect) {
  size_t r = xd.size();
  for (size_t d = 0; d + 1 < r; ++d)
    if (pads[d] != 0 || pads[d + r] != 0) return false;
  int64_t n = xd[r - 1], pl = pads[r - 1], pr = pads[2 * r - 1], out = n + pl + pr;
  if (reflect && (pl > n - 1 || pr > n - 1)) return false;
  int64_t rows = element_count(xd) / n;
  if (size_t(rows) * size_t(1 + pl + pr) > kMaxRuns) return false;
  std::vector<Run> runs;
  runs.reserve(size_t(rows * (1 + pl + pr)));
  for (int64_t row = 0; row < rows; ++row) {
    int64_t x0 = row * n, y0 = row * out;
    runs.push_back({0, x0, y0 + pl, n});
    for (int64_t j = 0; j < pl; ++j) runs.push_back({0, x0 + (reflect ? pl - j : 0), y0 + j, 1});
    for (int64_t k = 0; k < pr; ++k) runs.push_back({0, x0 + (reflect ? n - 2 - k : n - 1), y0 + pl + n + k, 1});
  }
  add_copy_step(p, node, {node.inputs[0]}, std::move(runs), {node.outputs[0]});
  return true;
}

// Pad, constant mode, constant non-negative pads (Pad-2 attributes, Pad-11/13 inputs); reflect and edge
// on the last axis (lower_mirror_pad).
bool lower_pad(Program& p, const Node& node, const Dims& xd, const Dims& yd) {
  size_t r = xd.size();
  std::string mode = node.attr_string("mode", std::string("constant"));
  if ((mode != "constant" && mode != "reflect" && mode != "edge") || yd.size() != r) return false;
  std::vector<int64_t> pads;
  float value = 0;
  if (node.op_version < 11) {
    pads = node.attr_ints("pads", std::vector<int64_t>{});
    value = node.attr_float("value", 0.f);
  } else {
    auto pv = const_ints(p, node, 1);
    if (!node.has_input(1) || !pv) return false;
    pads = *pv;
    if (node.has_input(2)) {
      const Tensor* c = p.graph().initializer(node.inputs[2]);
      if (!c || c->dtype() != DType::Float32 || c->numel() != 1) return false;
      value = c->data<float>()[0];
    }
  }
  if (pads.size() != 2 * r) return false;
  for (size_t d = 0; d < r; ++d)
    if (pads[d] < 0 || pads[d + r] < 0 || xd[d] + pads[d] + pads[d + r] != yd[d]) return false;
  if (element_count(xd) == 0) return false;
  if (mode != "constant") return lower_mirror_pad(p, node, xd, pads, mode == "reflect");
  // One run per row of the last axis, at its padded place.
  int64_t len = xd[r - 1], rows = element_count(xd) / len;
  if (size_t(rows) > kMaxRuns) return false;
  Dims ys = strides_of(yd);
  std::vector<Run> runs;
  runs.reserve(size_t(rows));
  Dims idx(r, 0);
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off += (idx[d] + pads[d]) * ys[d];
    runs.push_back({0, row * len, off, len});
    for (size_t d = r - 1; d-- > 0;) {  // odometer over the outer axes
      if (++idx[d] < xd[d]) break;
      idx[d] = 0;
    }
  }
  add_copy_step(p, node, {node.inputs[0]}, std::move(runs), {node.outputs[0]}, value);
  return true;
}

}  // namespace

bool lower_copy(Program& p, const Node& node) {
  if (!node.domain.empty() || !node.has_input(0) || node.outputs.empty()) return false;
  const std::string& op = node.op_type;
  auto xd = p.dims_of(node.inputs[0]);
  if (!xd || xd->empty() || p.dtype_of_value(node.inputs[0]) != DType::Float32) return false;
  if (op == "Split") return lower_split(p, node, *xd);
  if (node.outputs.size() != 1) return false;
  auto yd = p.dims_of(node.outputs[0]);
  if (!yd || yd->empty()) return false;
  if (op == "Slice") return lower_slice(p, node, *xd, *yd);
  if (op == "Concat") return lower_concat(p, node, *yd);
  if (op == "Gather") return lower_gather(p, node, *xd, *yd);
  if (op == "Pad") return lower_pad(p, node, *xd, *yd);
  return false;
}

}  // namespace wafer::cpu
