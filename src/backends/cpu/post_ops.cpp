#include "backends/cpu/post_ops.h"

namespace wafer::cpu {

using dnnl::algorithm;

bool append_activation(const Node& node, dnnl::post_ops& ops) {
  return append_activation(node.attr_string("activation", std::string()),
                           node.attr_floats("activation_params", std::vector<float>{}), ops);
}

bool append_activation(const std::string& act, const std::vector<float>& p, dnnl::post_ops& ops) {
  auto param = [&](size_t i, float fallback) { return i < p.size() ? p[i] : fallback; };
  if (act.empty()) return true;
  if (act == "Relu") {
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
  } else if (act == "LeakyRelu") {
    ops.append_eltwise(1.f, algorithm::eltwise_relu, param(0, 0.01f), 0.f);
  } else if (act == "Clip") {
    ops.append_eltwise(1.f, algorithm::eltwise_clip_v2, param(0, -3.4e38f), param(1, 3.4e38f));
  } else if (act == "Sigmoid") {
    ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f);
  } else if (act == "HardSigmoid") {
    // max(0, min(1, alpha*x + beta)): a linear step then a clip.
    ops.append_eltwise(1.f, algorithm::eltwise_linear, param(0, 0.2f), param(1, 0.5f));
    ops.append_eltwise(1.f, algorithm::eltwise_clip_v2, 0.f, 1.f);
  } else if (act == "HardSwish") {
    // oneDNN 2.6's hardswish is x * relu6(x + 3) / 6: ONNX's alpha 1/6, beta 0.5 (it ignores its own parameters).
    ops.append_eltwise(1.f, algorithm::eltwise_hardswish, 0.f, 0.f);
  } else if (act == "Tanh") {
    ops.append_eltwise(1.f, algorithm::eltwise_tanh, 0.f, 0.f);
  } else if (act == "Gelu") {
    ops.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
  } else if (act == "Silu") {
    ops.append_eltwise(1.f, algorithm::eltwise_swish, 1.f, 0.f);  // x * sigmoid(alpha x), alpha 1
  } else {
    return false;
  }
  return true;
}

}  // namespace wafer::cpu
