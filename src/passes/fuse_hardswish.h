// HardSwish as PaddlePaddle exports it (PP-LCNet, PP-OCR): Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6), operand
// orders free, each intermediate read once -> HardSwish(x) (opset 14), which fuse_conv folds into the
// Conv before it as an activation (oneDNN's hardswish post-op). Four elementwise passes over the tensor
// (and the layout conversions around them) become none.
#pragma once

#include "passes/fusion_util.h"

namespace wafer {

class FuseHardSwish : public RewriteRule {
 public:
  std::string name() const override { return "fuse-hardswish"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override { return {{"", "Clip"}}; }
  bool rewrite(RewriteContext& ctx, Node& clip) override;
};

}  // namespace wafer
