#include "backends/cpu/ablation.h"

#include <cstdlib>

#include "core/error.h"

namespace wafer::cpu {

const std::vector<AblationSwitch>& ablation_switches() {
  static const std::vector<AblationSwitch> all = {
      {"conv_bn", &Ablation::conv_bn, "Conv+BatchNorm folding"},
      {"bias_act", &Ablation::bias_act, "bias/activation fusion"},
      {"residual", &Ablation::residual, "residual Add fusion"},
      {"inplace", &Ablation::inplace, "in-place residual"},
      {"gelu", &Ablation::gelu, "GELU fusion"},
      {"layer_norm", &Ablation::layer_norm, "LayerNorm fusion"},
      {"attention", &Ablation::attention, "attention fusion"},
      {"reshape", &Ablation::reshape, "Transpose/Reshape simplification"},
      {"blocked", &Ablation::blocked, "blocked layouts"},
      {"nchw16c", &Ablation::nchw16c, "nChw16c conv layout"},
      {"prepack", &Ablation::prepack, "weight pre-packing"},
      {"vectorized", &Ablation::vectorized, "vectorized kernels"},
      {"memory_reuse", &Ablation::memory_reuse, "memory-plan reuse"},
  };
  return all;
}

Ablation parse_ablation(const std::string& list) {
  Ablation a;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string name;
    for (char c : list.substr(pos, comma - pos))
      if (c != ' ') name += c;
    pos = comma + 1;
    if (name.empty()) continue;
    bool found = false;
    for (const auto& s : ablation_switches()) {
      if (name != s.name) continue;
      a.*s.flag = true;
      found = true;
    }
    if (!found) {
      std::string valid;
      for (const auto& s : ablation_switches()) valid += (valid.empty() ? "" : ", ") + std::string(s.name);
      fail("WAFER_CPU_DISABLE: unknown optimization '", name, "' (valid: ", valid, ")");
    }
  }
  return a;
}

Ablation ablation_from_env() {
  const char* env = std::getenv("WAFER_CPU_DISABLE");
  return env ? parse_ablation(env) : Ablation{};
}

void apply_ablation(const Ablation& a, CpuPipelineOptions& options) {
  if (a.conv_bn) options.fold_conv_bn = false;
  if (a.bias_act) options.fuse_bias_activation = false;
  if (a.residual) options.fuse_residual = false;
  if (a.gelu) options.fuse_gelu = false;
  if (a.layer_norm) options.fuse_layer_norm = false;
  if (a.attention) options.fuse_attention = false;
  if (a.reshape) options.simplify_reshape = false;
}

}  // namespace wafer::cpu
