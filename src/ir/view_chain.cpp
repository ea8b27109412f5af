#include "ir/view_chain.h"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <unordered_map>

namespace wafer {

namespace {

Dims row_major_strides(const Dims& dims) {
  Dims st(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) st[i - 1] = st[i] * dims[i];
  return st;
}

std::optional<Dims> static_dims(const Graph& g, const std::string& v) {
  if (v.empty()) return std::nullopt;
  if (const Tensor* t = g.initializer(v)) return t->dims();
  auto type = g.type_of(v);
  if (!type || !type->shape.fully_known()) return std::nullopt;
  return type->shape.concrete();
}

bool is_layout_node(const Node& n) {
  static const char* const kOps[] = {"Reshape", "Transpose", "Slice", "Squeeze", "Unsqueeze", "Flatten", "Identity"};
  if (!n.domain.empty() || n.outputs.size() != 1 || n.outputs[0].empty() || !n.has_input(0)) return false;
  for (const char* op : kOps)
    if (n.op_type == op) return true;
  return false;
}

std::vector<int64_t> transpose_perm(const Node& n, size_t rank) {
  std::vector<int64_t> perm(rank);
  std::iota(perm.rbegin(), perm.rend(), 0);  // ONNX default: reverse the axes
  if (n.has_attr("perm")) perm = n.attr_ints("perm");
  return perm;
}

// Integer list from a Slice attribute (opset < 10) or constant input (opset >= 10).
std::optional<std::vector<int64_t>> slice_param(const Graph& g, const Node& n, const char* attr, size_t input) {
  if (n.op_version < 10) {
    if (!n.has_attr(attr)) return std::nullopt;
    return n.attr_ints(attr);
  }
  if (!n.has_input(input)) return std::nullopt;
  const Tensor* t = g.initializer(n.inputs[input]);
  if (!t || t->rank() > 1 || (t->dtype() != DType::Int64 && t->dtype() != DType::Int32)) return std::nullopt;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < t->numel(); ++i) out.push_back(t->get_int(i));
  return out;
}

std::optional<StridedView> apply_slice(const Graph& g, const Node& n, StridedView v, const Dims& out) {
  const int64_t rank = int64_t(v.dims.size());
  auto starts = slice_param(g, n, "starts", 1);
  if (!starts || out.size() != v.dims.size()) return std::nullopt;
  std::vector<int64_t> axes(starts->size());
  std::iota(axes.begin(), axes.end(), 0);
  if (n.op_version < 10 ? n.has_attr("axes") : n.has_input(3)) {
    auto a = slice_param(g, n, "axes", 3);
    if (!a || a->size() != starts->size()) return std::nullopt;
    axes = *a;
  }
  if (n.op_version >= 10 && n.has_input(4)) {
    auto steps = slice_param(g, n, "steps", 4);
    if (!steps || steps->size() != starts->size()) return std::nullopt;
    for (int64_t s : *steps)
      if (s != 1) return std::nullopt;
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank) return std::nullopt;
    int64_t dim = v.dims[size_t(axis)], start = (*starts)[i];
    if (start < 0) start += dim;
    start = std::clamp<int64_t>(start, 0, dim);
    // The length is what shape inference found (ends clamp the same way).
    auto next = slice_view(v, axis, start, out[size_t(axis)]);
    if (!next) return std::nullopt;
    v = *next;
  }
  if (v.dims != out) return std::nullopt;
  return v;
}

// The output of layout node `n` as a view, given its input as view `in`.
std::optional<StridedView> apply_forward(const Graph& g, const Node& n, const StridedView& in) {
  auto out = static_dims(g, n.outputs[0]);
  if (!out) return std::nullopt;
  std::optional<StridedView> r;
  if (n.op_type == "Transpose")
    r = transpose_view(in, transpose_perm(n, in.dims.size()));
  else if (n.op_type == "Slice")
    r = apply_slice(g, n, in, *out);
  else
    r = reshape_view(in, *out);
  if (r && r->dims != *out) return std::nullopt;
  return r;
}

// The input of layout node `n` (not a Slice) as a view, given its output as view `out`.
std::optional<StridedView> apply_inverse(const Graph& g, const Node& n, const StridedView& out) {
  auto in = static_dims(g, n.inputs[0]);
  if (!in) return std::nullopt;
  std::optional<StridedView> r;
  if (n.op_type == "Transpose") {
    auto perm = transpose_perm(n, in->size());
    if (perm.size() != in->size()) return std::nullopt;
    std::vector<int64_t> inverse(perm.size(), -1);
    for (size_t i = 0; i < perm.size(); ++i) {
      if (perm[i] < 0 || perm[i] >= int64_t(perm.size())) return std::nullopt;
      inverse[size_t(perm[i])] = int64_t(i);
    }
    r = transpose_view(out, inverse);
  } else if (n.op_type != "Slice") {
    r = reshape_view(out, *in);
  }
  if (r && r->dims != *in) return std::nullopt;
  return r;
}

}  // namespace

StridedView StridedView::row_major(const Dims& dims) {
  return StridedView{0, dims, row_major_strides(dims)};
}

bool StridedView::is_row_major() const {
  if (offset != 0 || strides.size() != dims.size()) return false;
  Dims want = row_major_strides(dims);
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] != 1 && strides[i] != want[i]) return false;
  return true;
}

std::string StridedView::str() const {
  std::ostringstream s;
  s << dims_to_string(dims) << " strides " << dims_to_string(strides) << " + " << offset;
  return s.str();
}

std::optional<StridedView> reshape_view(const StridedView& v, const Dims& dims) {
  if (element_count(dims) != element_count(v.dims)) return std::nullopt;
  StridedView out{v.offset, dims, row_major_strides(dims)};
  if (element_count(dims) == 0) return out;
  // The old dims (size-1 dims dropped) fall into chunks that are contiguous in
  // memory: (element count, stride of the innermost dim). The new dims must
  // split those same chunks, each new dim inside one chunk.
  std::vector<std::pair<int64_t, int64_t>> chunks;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (v.dims[i] == 1) continue;
    if (!chunks.empty() && chunks.back().second == v.strides[i] * v.dims[i])
      chunks.back() = {chunks.back().first * v.dims[i], v.strides[i]};
    else
      chunks.emplace_back(v.dims[i], v.strides[i]);
  }
  size_t j = 0;
  for (auto [count, inner] : chunks) {
    size_t first = j;
    int64_t prod = 1;
    while (prod < count) {
      if (j >= dims.size()) return std::nullopt;
      prod *= dims[j++];
    }
    if (prod != count) return std::nullopt;  // a new dim straddles two chunks
    int64_t s = inner;
    for (size_t k = j; k-- > first;) {
      out.strides[k] = s;
      s *= dims[k];
    }
  }
  for (; j < dims.size(); ++j)
    if (dims[j] != 1) return std::nullopt;
  // Dims of size 1 never move the index: give them their row-major stride relative to the next dim.
  for (size_t k = dims.size(); k-- > 0;)
    if (dims[k] == 1) out.strides[k] = k + 1 < dims.size() ? out.strides[k + 1] * dims[k + 1] : 1;
  return out;
}

std::optional<StridedView> transpose_view(const StridedView& v, const std::vector<int64_t>& perm) {
  size_t r = v.dims.size();
  if (perm.size() != r) return std::nullopt;
  std::vector<bool> seen(r, false);
  StridedView out{v.offset, Dims(r), Dims(r)};
  for (size_t i = 0; i < r; ++i) {
    if (perm[i] < 0 || perm[i] >= int64_t(r) || seen[size_t(perm[i])]) return std::nullopt;
    seen[size_t(perm[i])] = true;
    out.dims[i] = v.dims[size_t(perm[i])];
    out.strides[i] = v.strides[size_t(perm[i])];
  }
  return out;
}

std::optional<StridedView> slice_view(const StridedView& v, int64_t axis, int64_t start, int64_t length) {
  if (axis < 0 || axis >= int64_t(v.dims.size()) || start < 0 || length < 0 || start + length > v.dims[size_t(axis)])
    return std::nullopt;
  StridedView out = v;
  out.offset += start * v.strides[size_t(axis)];
  out.dims[size_t(axis)] = length;
  return out;
}

std::optional<StridedView> layout_node_view(const Graph& g, const Node& n, const StridedView& in) {
  if (!is_layout_node(n)) return std::nullopt;
  return apply_forward(g, n, in);
}

ViewChain trace_view_back(const Graph& g, const std::string& value, const ViewNodeFilter& allow) {
  auto producers = g.producers();
  auto uses = g.use_counts();
  // Candidates, nearest first: each one's output is read by the chain alone.
  std::vector<const Node*> candidates;
  std::string v = value;
  while (true) {
    auto it = producers.find(v);
    if (it == producers.end() || !is_layout_node(*it->second) || uses[v] != 1) break;
    if (allow && !allow(*it->second)) break;
    const Node* n = it->second;
    if (!static_dims(g, v) || !static_dims(g, n->inputs[0])) break;
    candidates.push_back(n);
    v = n->inputs[0];
  }
  ViewChain c;
  c.source = v;
  auto dims = static_dims(g, v);
  c.view = StridedView::row_major(dims ? *dims : Dims{});
  // Compose from the far end; a step that strides cannot express restarts the chain after it.
  for (size_t k = candidates.size(); k-- > 0;) {
    const Node* n = candidates[k];
    if (auto next = apply_forward(g, *n, c.view)) {
      c.view = *next;
      c.nodes.push_back(n);
    } else {
      c.source = n->outputs[0];
      c.view = StridedView::row_major(*static_dims(g, c.source));
      c.nodes.clear();
    }
  }
  return c;
}

ViewChain trace_view_forward(const Graph& g, const std::string& value, const ViewNodeFilter& allow) {
  auto uses = g.use_counts();
  std::unordered_map<std::string, std::vector<const Node*>> readers;
  for (const auto& n : g.nodes)
    for (const auto& in : n->inputs)
      if (!in.empty()) readers[in].push_back(n.get());
  std::vector<const Node*> candidates;
  std::string v = value;
  while (uses[v] == 1 && readers[v].size() == 1 &&
         std::find(g.outputs.begin(), g.outputs.end(), v) == g.outputs.end()) {
    const Node* n = readers[v][0];
    if (!is_layout_node(*n) || n->op_type == "Slice" || n->inputs[0] != v || !static_dims(g, n->outputs[0])) break;
    if (allow && !allow(*n)) break;
    candidates.push_back(n);
    v = n->outputs[0];
  }
  // The longest prefix of the candidates that strides can express.
  for (size_t k = candidates.size();; --k) {
    ViewChain c;
    c.source = k ? candidates[k - 1]->outputs[0] : value;
    auto dims = static_dims(g, c.source);
    c.view = StridedView::row_major(dims ? *dims : Dims{});
    bool ok = true;
    for (size_t i = k; ok && i-- > 0;) {
      auto prev = apply_inverse(g, *candidates[i], c.view);
      if (prev)
        c.view = *prev;
      else
        ok = false;
    }
    if (ok) {
      c.nodes.assign(candidates.begin(), candidates.begin() + std::ptrdiff_t(k));
      return c;
    }
  }
}

}  // namespace wafer
