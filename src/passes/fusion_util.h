// Shared machinery for the CPU-pipeline rewrite rules (fold_conv_bn.cpp,
// fuse_*.cpp). Each rule is small, in the style of ONNX Runtime's
// rewrite_rule.h: the op types it starts at (its anchor), a cheap condition,
// and the rewrite. A RewriteRule visits the anchors of the top-level graph;
// after every successful rewrite it deletes the nodes the rule retired,
// re-sorts the graph and refreshes the producer/consumer maps, so a rule
// never sees stale edges. Subgraphs (If/Loop bodies) are not rewritten.
//
// The fused ops live in domain "wafer", version 1 (see src/ops/fused_ops.cpp
// for their exact semantics, which the CPU backend implements too).
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "passes/pass_manager.h"

namespace wafer {

inline constexpr const char* kWaferDomain = "wafer";

class RewriteContext {
 public:
  explicit RewriteContext(Graph& g);
  Graph& graph() { return g_; }

  Node* producer(const std::string& v) const;
  // The only node reading `v` when v is read exactly once (subgraph reads and
  // graph outputs count as reads), else nullptr.
  Node* sole_consumer(const std::string& v) const;
  int uses(const std::string& v) const;
  bool is_output(const std::string& v) const;
  const Tensor* constant(const std::string& v) const;  // initializer value, or nullptr
  // Known type of `v` (from the last shape propagation), or nullptr.
  const ValueType* type(const std::string& v) const;

  // New initializer with a fresh name derived from `hint`; returns the name.
  std::string add_constant(const std::string& hint, Tensor t);
  // Marks a node for deletion at commit(). Its outputs must no longer be read.
  void retire(Node* n) { retired_.insert(n); }
  // Deletes retired nodes, sorts the graph topologically, refreshes the maps.
  void commit();

 private:
  void refresh();
  Graph& g_;
  std::unordered_map<std::string, Node*> producers_;
  std::unordered_map<std::string, std::vector<Node*>> consumers_;
  std::unordered_map<std::string, int> uses_;
  std::unordered_set<Node*> retired_;
};

// A rule: visits every top-level node whose (domain, op_type) is an anchor.
class RewriteRule : public Pass {
 public:
  bool run(Graph& graph) override;

 protected:
  // (domain, op_type) pairs the rule starts at.
  virtual std::vector<std::pair<std::string, std::string>> anchors() const = 0;
  // Tries the rewrite at `anchor`; returns true when the graph changed.
  virtual bool rewrite(RewriteContext& ctx, Node& anchor) = 0;
};

// An activation the fused ops can apply: its name in the `activation`
// attribute and its parameters (Clip [min,max], HardSigmoid [alpha,beta],
// LeakyRelu [alpha]).
struct Activation {
  std::string name;
  std::vector<float> params;
};

// Whether `n` is an activation a FusedConv/FusedMatMul can absorb: Relu,
// Clip (constant bounds), Sigmoid, HardSigmoid, LeakyRelu, HardSwish, Tanh,
// wafer.Gelu, or ONNX Gelu (opset 20, approximate="none").
bool match_activation(const RewriteContext& ctx, const Node& n, Activation& act);

// Scalar value of a constant with one element (any numeric dtype).
bool constant_scalar(const RewriteContext& ctx, const std::string& v, double& value);
bool near(double a, double b, double rel = 1e-4);

// For a binary node reading `v`: the index (0/1) of its other operand, or -1.
int other_operand(const Node& n, const std::string& v);

// Sets the domain/op/version of a node turned into a fused op.
void become_wafer_op(Node& n, const std::string& op_type);

}  // namespace wafer

namespace wafer {

// The epilogue of a fused op (inputs [x, w, Bias?, Sum?], attribute
// `activation`) absorbs its output's sole reader when it is:
//   Add(y, constant c) with bias_of(c) defined (a [C] bias; added to a constant Bias),
//   Add(y, s) with s non-constant of y's exact type (becomes Sum; at most one),
//   an activation (match_activation), after which nothing more is absorbed.
// Only float32 outputs are fused (what the CPU backend runs). The node takes
// over the reader's output name; returns true when it absorbed something.
// `parts` says which of the three kinds of reader may be absorbed.
struct EpilogueParts {
  bool bias_activation = true;  // constant bias Adds and activations
  bool residual = true;         // the Sum
};
bool absorb_epilogue(RewriteContext& ctx, Node& fused, const std::function<Tensor(const Tensor&)>& bias_of,
                     EpilogueParts parts = {});

// A constant `c` added to an output of type `y` as a bias along `axis`: all
// dims of c (aligned right) are 1 except the one at `axis`, which is 1 or the
// axis' length. Returns the bias as a [len] tensor, or an undefined Tensor.
Tensor bias_along_axis(const Tensor& c, const ValueType& y, int64_t axis);

}  // namespace wafer
