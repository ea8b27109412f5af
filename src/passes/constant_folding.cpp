#include "passes/constant_folding.h"

#include <set>

#include "ir/op_registry.h"
#include "passes/pass_util.h"
#include "passes/shape_propagation.h"

namespace wafer {

bool is_nondeterministic_op(const Node& node) {
  static const std::set<std::string> ops = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                                            "Multinomial",  "Bernoulli",     "Dropout"};
  return node.domain.empty() && ops.count(node.op_type) != 0;
}

namespace {

// Ops whose output can be much larger than their inputs: folded only when the
// inferred output size is known to be under the cap.
bool may_expand(const Node& node) {
  static const std::set<std::string> ops = {"ConstantOfShape", "Expand",        "Tile",   "Range",
                                            "Resize",          "Upsample",      "Pad",    "OneHot",
                                            "EyeLike",         "ConvTranspose", "MatMul", "Gemm"};
  return ops.count(node.op_type) != 0;
}

// The dims reported by `Shape` node `shape` (honouring start/end of opset 15),
// or nullopt when its input's rank is unknown.
std::optional<std::vector<Dim>> shape_dims(const Graph& g, const Node& shape) {
  if (shape.inputs.empty() || shape.inputs[0].empty()) return std::nullopt;
  auto t = g.type_of(shape.inputs[0]);
  if (!t || !t->shape.rank_known) return std::nullopt;
  const auto& dims = t->shape.dims;
  int64_t rank = int64_t(dims.size());
  int64_t start = shape.attr_int("start", 0), end = shape.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  if (end < start) end = start;
  return std::vector<Dim>(dims.begin() + start, dims.begin() + end);
}

Tensor dims_tensor(const std::vector<Dim>& dims, Dims tensor_dims) {
  Tensor t(DType::Int64, std::move(tensor_dims));
  for (size_t i = 0; i < dims.size(); ++i) t.data<int64_t>()[i] = dims[i].value;
  return t;
}

bool all_known(const std::vector<Dim>& dims) {
  for (const Dim& d : dims)
    if (!d.known()) return false;
  return true;
}

// Gather(axis 0) or Slice of a partially known shape vector: the picked dims,
// as a constant when they are all known.
std::optional<Tensor> fold_shape_pick(const Graph& g, const Node& node, const std::vector<Dim>& dims) {
  int64_t n = int64_t(dims.size());
  if (node.op_type == "Gather") {
    if (node.attr_int("axis", 0) != 0 && node.attr_int("axis", 0) != -1) return std::nullopt;
    const Tensor* idx = find_constant(g, node.inputs.size() > 1 ? node.inputs[1] : "");
    if (!idx || (idx->dtype() != DType::Int64 && idx->dtype() != DType::Int32)) return std::nullopt;
    std::vector<Dim> picked;
    for (int64_t i = 0; i < idx->numel(); ++i) {
      int64_t k = idx->get_int(i);
      if (k < 0) k += n;
      if (k < 0 || k >= n) return std::nullopt;  // out of range: let the kernel report it
      picked.push_back(dims[size_t(k)]);
    }
    if (!all_known(picked)) return std::nullopt;
    return dims_tensor(picked, idx->dims());
  }
  if (node.op_type == "Slice") {
    int64_t start = 0, end = 0, step = 1;
    if (node.op_version < 10) {
      auto starts = node.attr_ints("starts", std::vector<int64_t>{});
      auto ends = node.attr_ints("ends", std::vector<int64_t>{});
      auto axes = node.attr_ints("axes", std::vector<int64_t>{0});
      if (starts.size() != 1 || ends.size() != 1 || axes.size() != 1 || (axes[0] != 0 && axes[0] != -1))
        return std::nullopt;
      start = starts[0];
      end = ends[0];
    } else {
      auto scalar = [&](size_t i, int64_t fallback) -> std::optional<int64_t> {
        if (!node.has_input(i)) return fallback;
        const Tensor* t = find_constant(g, node.inputs[i]);
        if (!t || t->numel() != 1 || !is_integer(t->dtype())) return std::nullopt;
        return t->get_int(0);
      };
      auto s = scalar(1, 0), e = scalar(2, 0), a = scalar(3, 0), st = scalar(4, 1);
      if (!s || !e || !a || !st || !node.has_input(1) || !node.has_input(2)) return std::nullopt;
      if ((*a != 0 && *a != -1) || *st == 0) return std::nullopt;
      start = *s;
      end = *e;
      step = *st;
    }
    // ONNX Slice clamping, as in the spec.
    if (start < 0) start += n;
    if (end < 0) end += n;
    std::vector<Dim> picked;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, n);
      end = std::clamp<int64_t>(end, 0, n);
      for (int64_t i = start; i < end; i += step) picked.push_back(dims[size_t(i)]);
    } else {
      start = std::clamp<int64_t>(start, 0, n - 1);
      end = std::clamp<int64_t>(end, -1, n - 1);
      for (int64_t i = start; i > end; i += step) picked.push_back(dims[size_t(i)]);
    }
    if (!all_known(picked)) return std::nullopt;
    return dims_tensor(picked, {int64_t(picked.size())});
  }
  return std::nullopt;
}

class Folder {
 public:
  Folder(Graph& g, int64_t max_elements) : g_(g), max_(max_elements) {}

  bool run() {
    bool changed = false;
    // Folded nodes are dropped at the end: subgraphs look up through their
    // parent's node list while we fold, so it must stay intact until then.
    std::vector<bool> folded_away(g_.nodes.size(), false);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      Node& node = *g_.nodes[i];
      for (Graph* sub : subgraphs_of(node)) changed |= Folder(*sub, max_).run();
      std::optional<std::vector<Tensor>> folded = try_fold(node);
      if (!folded) {
        // Types downstream of what was just folded (a Reshape whose shape
        // became constant) are refreshed now, so one sweep folds whole chains
        // of Shape->...->Reshape layer after layer instead of one per round.
        infer_node_types(g_, node);
        if (node.op_type == "Shape" && node.domain.empty() && !node.outputs.empty()) shapes_[node.outputs[0]] = &node;
        continue;
      }
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        const std::string& out = node.outputs[o];
        if (out.empty()) continue;
        const Tensor& t = (*folded)[o];
        g_.initializers[out] = t;
        g_.types[out] = ValueType{t.dtype(), Shape::from(t.dims())};
      }
      folded_away[i] = true;
      changed = true;
    }
    if (changed) {
      std::vector<std::unique_ptr<Node>> kept;
      for (size_t i = 0; i < g_.nodes.size(); ++i)
        if (!folded_away[i]) kept.push_back(std::move(g_.nodes[i]));
      g_.nodes = std::move(kept);
    }
    return changed;
  }

 private:
  std::optional<std::vector<Tensor>> try_fold(const Node& node) {
    if (node.outputs.empty() || node.outputs[0].empty()) return std::nullopt;
    if (is_nondeterministic_op(node) || has_subgraph(node)) return std::nullopt;
    if (node.domain.empty() && node.op_type == "Shape" && node.outputs.size() == 1) {
      auto dims = shape_dims(g_, node);
      if (dims && all_known(*dims)) return std::vector<Tensor>{dims_tensor(*dims, {int64_t(dims->size())})};
    }
    if (node.domain.empty() && (node.op_type == "Gather" || node.op_type == "Slice") && !node.inputs.empty()) {
      std::optional<std::vector<Dim>> dims;
      if (auto it = shapes_.find(node.inputs[0]); it != shapes_.end()) dims = shape_dims(g_, *it->second);
      // A folded shape vector: same picking, so this works without a Gather/Slice kernel too.
      const Tensor* c = find_constant(g_, node.inputs[0]);
      if (c && c->dtype() == DType::Int64 && c->rank() == 1) {
        dims.emplace();
        for (int64_t v : c->values<int64_t>()) dims->push_back(v >= 0 ? Dim(v) : Dim());
      }
      if (dims)
        if (auto t = fold_shape_pick(g_, node, *dims)) return std::vector<Tensor>{*t};
    }
    const OpSchema* schema = OpRegistry::global().find(node);
    if (!schema || !schema->kernel || schema->is_control_flow) return std::nullopt;
    KernelContext ctx{node, {}, nullptr};
    int64_t largest_input = 0;
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        ctx.inputs.push_back(nullptr);
        continue;
      }
      const Tensor* t = find_constant(g_, in);
      if (!t) return std::nullopt;
      largest_input = std::max(largest_input, t->numel());
      ctx.inputs.push_back(t);
    }
    // Check the size before computing when inference knows it.
    bool sizes_known = true;
    for (const auto& o : node.outputs) {
      if (o.empty()) continue;
      auto t = g_.type_of(o);
      if (!t || !t->shape.fully_known()) {
        sizes_known = false;
        continue;
      }
      int64_t n = 0;
      try {
        n = element_count(t->shape.concrete());
      } catch (const Error&) {
        return std::nullopt;  // overflowing shape: not ours to report
      }
      if (n > max_) return std::nullopt;
    }
    if (!sizes_known && (may_expand(node) || largest_input > max_)) return std::nullopt;
    std::vector<Tensor> outs;
    try {
      outs = schema->kernel(ctx);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      if (i >= outs.size() || !outs[i].defined() || outs[i].numel() > max_) return std::nullopt;
    }
    return outs;
  }

  Graph& g_;
  int64_t max_;
  std::map<std::string, const Node*> shapes_;  // outputs of Shape nodes that were not folded
};

}  // namespace

bool ConstantFolding::run(Graph& graph) {
  return Folder(graph, max_elements_).run();
}

}  // namespace wafer
