// The CPU pipeline's rewrite rules, one per file (see fusion_util.h for the
// shared machinery and src/ops/fused_ops.cpp for the fused ops' semantics).
// Every rule leaves the graph computing the same function; rules that need
// shapes rely on Graph::types from the last shape propagation (optimize()).
#pragma once

#include "passes/fusion_util.h"

namespace wafer {

// Conv -> BatchNormalization (inference) folds into the Conv's weights and
// bias when W, B and the BN parameters are constants and the Conv output has
// no other reader (also a FusedConv with no activation and no Sum yet).
class FoldConvBatchNorm : public RewriteRule {
 public:
  std::string name() const override { return "fold-conv-bn"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Conv / wafer.FusedConv without an activation, whose output has one reader,
// absorbs that reader one step at a time: Add of a constant per-channel bias
// (into B), Add of a same-shape non-constant value (as Sum, the residual), or
// an activation. Every float32 Conv becomes a FusedConv (activation "").
class FuseConv : public RewriteRule {
 public:
  explicit FuseConv(EpilogueParts parts = {}) : parts_(parts) {}
  std::string name() const override { return "fuse-conv"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;

 private:
  EpilogueParts parts_;
};

// MatMul / Gemm / wafer.FusedMatMul without an activation absorbs, one step
// at a time: Add of a constant bias broadcast over the last dim (shape [N],
// [1,N], ...), Add of a same-shape non-constant value (Sum), an activation
// (incl. wafer.Gelu). Gemm (alpha = beta = 1, transA = 0, C absent, a
// constant broadcast over rows, or a same-shape value) always becomes a
// FusedMatMul, with trans_b = transB.
class FuseMatMul : public RewriteRule {
 public:
  explicit FuseMatMul(EpilogueParts parts = {}) : parts_(parts) {}
  std::string name() const override { return "fuse-matmul"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;

 private:
  EpilogueParts parts_;
};

// Decomposed layer norm -> LayerNormalization (17):
//   m = ReduceMean(X, last k axes); d = Sub(X, m); v = ReduceMean(Pow(d, 2) | Mul(d, d));
//   n = Div(d, Sqrt(Add(v, eps))); [Mul(n, gamma)]; [Add(., beta)]
class FuseLayerNorm : public RewriteRule {
 public:
  std::string name() const override { return "fuse-layer-norm"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Decomposed RMS norm -> wafer.RMSNorm (fuse_rms_norm.cpp):
//   X * 1/Sqrt(ReduceMean(X^2, last axis) + eps) [* gamma]  (Div(1, .), Reciprocal or Div(X, .))
class FuseRmsNorm : public RewriteRule {
 public:
  std::string name() const override { return "fuse-rms-norm"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// SiLU -> wafer.Silu: Mul(x, Sigmoid(x)) in either operand order (fuse_silu.cpp); fuse_matmul folds it into
// FusedMatMul's activation.
class FuseSilu : public RewriteRule {
 public:
  std::string name() const override { return "fuse-silu"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Rotate-half rotary embedding -> wafer.RotaryEmbedding(X, cos, sin) (fuse_rotary.cpp):
//   Add(Mul(X, cos), Mul(Concat(Neg(Slice(X, h:d)), Slice(X, 0:h)), sin)) on the last axis, h = d/2
class FuseRotary : public RewriteRule {
 public:
  std::string name() const override { return "fuse-rotary"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Erf-form GELU -> wafer.Gelu: Erf(Div(x, sqrt2) | Mul(x, 1/sqrt2)) -> Add(1)
// -> multiplied by x and by 0.5 in any order and operand order.
class FuseGelu : public RewriteRule {
 public:
  std::string name() const override { return "fuse-gelu"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Scaled dot-product attention -> wafer.Attention:
//   MatMul(Q, Kt) -> [Div(., c) | Mul(., c)] -> [Add(., mask)] -> Softmax(last axis) -> MatMul(., V)
// with Q, Kt, V of rank 4. Kt made by Transpose(K, perm [0,1,3,2]) is absorbed
// (K read directly); any other Kt gets a Transpose back inserted.
class FuseAttention : public RewriteRule {
 public:
  std::string name() const override { return "fuse-attention"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Grouped-query attention: a wafer.Attention whose K and V repeat each KV head for `rep` query heads
// (Unsqueeze -> Expand -> Reshape) reads the KV heads directly, the query heads of a group as rows
// (fuse_gqa.cpp). Needs static shapes and a mask shared by every head and query row.
class FuseGroupedQueryAttention : public RewriteRule {
 public:
  std::string name() const override { return "fuse-gqa"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Layout nodes that move no data -> one Reshape: a Transpose that only moves
// dims of size 1 (e.g. [1,S,D] perm (1,0,2)), and Reshape of a Reshape whose
// inner result has no other reader. Needs static shapes.
class SimplifyReshape : public RewriteRule {
 public:
  std::string name() const override { return "simplify-reshape"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

// Reshape(MatMul | FusedMatMul without Sum (A, W 2-D)) keeping the last dim
// -> the matmul reads Reshape(A) and writes the Reshape's output, so an Add
// after it can be fused (torch attention's out projection + residual).
class HoistReshape : public RewriteRule {
 public:
  std::string name() const override { return "hoist-reshape"; }

 protected:
  std::vector<std::pair<std::string, std::string>> anchors() const override;
  bool rewrite(RewriteContext& ctx, Node& anchor) override;
};

}  // namespace wafer
