// Slice (constant starts/ends/axes/steps), Concat and Gather (constant indices)
// on float32 as copies of contiguous runs. The runs (source, offsets, length)
// are worked out at compile time; a run is one memcpy, and copies of more than
// 8 MB spread their runs over the OpenMP pool. The window arithmetic is the reference Slice's.
#include <omp.h>

#include <cstring>

#include "backends/cpu/program.h"
#include "ops/slice_window.h"

namespace wafer::cpu {

namespace {

struct Run {
  int src;                        // index into the step's sources
  int64_t src_off, dst_off, len;  // elements
};

// Plans with more runs than this stay on the reference kernel (the table would rival the data).
constexpr size_t kMaxRuns = size_t(1) << 18;

void add_copy_step(Program& p, const Node& node, const std::vector<std::string>& srcs, std::vector<Run> runs,
                   const Dims& yd) {
  std::vector<int> ids;
  for (const auto& s : srcs) ids.push_back(p.plain(s));
  MemRef out = p.define(node.outputs[0], plain_md(yd));
  Step s;
  s.label = node.label();
  s.node = &node;
  s.kernel = "copy";           // memcpy of planned runs
  s.args.push_back({0, out});  // for liveness and allocation
  s.uses = ids;
  int64_t total = element_count(yd);
  s.fn = [&p, ids, out, runs = std::move(runs), total] {
    auto* dst = static_cast<float*>(p.data(out));  // a tensor, or in bf16 mode possibly a planned buffer
    int64_t n = int64_t(runs.size());
    // Threads only for big copies: below a few MB one core's memcpy is faster than waking the
    // pool (on a loaded machine a fork/join cost ViT's Slices 18 ms each instead of 0.06).
#pragma omp parallel for schedule(static) if (total > (int64_t(1) << 21) && n > 1)
    for (int64_t r = 0; r < n; ++r) {
      const Run& run = runs[size_t(r)];
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
  add_copy_step(p, node, {node.inputs[0]}, std::move(runs), yd);
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
  add_copy_step(p, node, node.inputs, std::move(runs), yd);
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
  add_copy_step(p, node, {node.inputs[0]}, std::move(runs), yd);
  return true;
}

}  // namespace

bool lower_copy(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1 || !node.has_input(0)) return false;
  bool slice = node.op_type == "Slice", concat = node.op_type == "Concat", gather = node.op_type == "Gather";
  if (!slice && !concat && !gather) return false;
  auto xd = p.dims_of(node.inputs[0]), yd = p.dims_of(node.outputs[0]);
  if (!xd || !yd || yd->empty() || p.dtype_of_value(node.inputs[0]) != DType::Float32) return false;
  if (slice) return lower_slice(p, node, *xd, *yd);
  if (concat) return lower_concat(p, node, *yd);
  return lower_gather(p, node, *xd, *yd);
}

}  // namespace wafer::cpu
