#include "backends/cpu/epilogue.h"

#include <limits>

namespace wafer::cpu {

namespace {

// Clip bounds when they are constants (attributes before opset 11, inputs since).
bool clip_bounds(const Program& p, const Node& n, std::vector<float>& out) {
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  if (n.op_version < 11) {
    lo = n.attr_float("min", lo);
    hi = n.attr_float("max", hi);
  } else {
    for (size_t i : {size_t(1), size_t(2)}) {
      if (!n.has_input(i)) continue;
      const Tensor* t = p.graph().initializer(n.inputs[i]);
      if (!t || t->dtype() != DType::Float32 || t->numel() != 1) return false;
      (i == 1 ? lo : hi) = t->data<float>()[0];
    }
  }
  out = {lo, hi};
  return true;
}

}  // namespace

Epilogue find_epilogue(Program& p, const Node& node, bool allow_bias) {
  Epilogue e;
  e.output = node.outputs[0];
  auto dims = p.dims_of(e.output);
  if (!dims || dims->empty()) return e;
  const Ablation& off = p.ablation();
  while (e.activation.empty()) {
    const Node* n = p.sole_consumer(e.output);
    if (!n || !n->domain.empty() || n->outputs.size() != 1 || p.dims_of(n->outputs[0]) != dims) break;
    if (n->op_type == "Add" && n->inputs.size() == 2 && e.sum.empty()) {
      const std::string& other = n->inputs[0] == e.output ? n->inputs[1] : n->inputs[0];
      if (other == e.output || p.dtype_of_value(other) != DType::Float32) break;
      auto od = p.dims_of(other);
      const Tensor* c = p.graph().initializer(other);
      if (allow_bias && !off.bias_act && e.bias.empty() && c && od && od->size() == 1 && (*od)[0] == dims->back()) {
        e.bias = other;
      } else if (!off.residual && od == dims && p.available(other)) {
        e.sum = other;
      } else {
        break;
      }
    } else if (off.bias_act) {
      break;
    } else if (n->op_type == "Relu") {
      e.activation = "Relu";
    } else if (n->op_type == "Clip" && clip_bounds(p, *n, e.params)) {
      e.activation = "Clip";
    } else if (n->op_type == "Sigmoid" || n->op_type == "Tanh" || (n->op_type == "HardSwish" && n->op_version >= 14)) {
      e.activation = n->op_type;
    } else if (n->op_type == "LeakyRelu") {
      e.activation = "LeakyRelu";
      e.params = {n->attr_float("alpha", 0.01f)};
    } else if (n->op_type == "HardSigmoid") {
      e.activation = "HardSigmoid";
      e.params = {n->attr_float("alpha", 0.2f), n->attr_float("beta", 0.5f)};
    } else {
      break;
    }
    e.absorbed.push_back(n);
    e.output = n->outputs[0];
  }
  return e;
}

}  // namespace wafer::cpu
