// The op registry: every operator declares, in one place, the ONNX versions it
// implements, its attributes, its type/shape inference, its reference kernel and
// its cost (ir/op_cost.h: what cost reports count and how the npu maps it). The reference backend is nothing but "look
// up the kernel and call it", so the kernels here are the executable specification of each op.
//
// An op file registers itself at static-initialisation time:
//
//   WAFER_REGISTER_OP(relu_op, {
//       .name = "Relu", .cost = op_cost::elementwise({{"max", 1}}, /*epilogue=*/true), .since = 6,
//       .infer = infer_same_as_input,
//       .kernel = relu_kernel});
//
// (src/ops/ is compiled as an object library so these registrars are linked.)
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_cost.h"

namespace wafer {

// Runs a control-flow body. Values of enclosing graphs stay visible to it.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  virtual std::vector<Tensor> run_subgraph(const Graph& body, const std::vector<Tensor>& inputs) = 0;
};

struct KernelContext {
  const Node& node;
  std::vector<const Tensor*> inputs;  // nullptr for an omitted optional input
  SubgraphRunner* subgraphs = nullptr;

  size_t num_inputs() const { return inputs.size(); }
  bool has(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Tensor& in(size_t i) const;  // throws naming the node if absent
  int version() const { return node.op_version; }
  size_t num_outputs() const { return node.outputs.size(); }
  bool wants_output(size_t i) const { return i < node.outputs.size() && !node.outputs[i].empty(); }
};

struct InferContext {
  const Node& node;
  std::vector<std::optional<ValueType>> inputs;  // nullopt: omitted or unknown
  std::vector<const Tensor*> constants;          // value of inputs that are constants, else nullptr

  const ValueType& in(size_t i) const;  // throws if unknown
  bool has(size_t i) const { return i < inputs.size() && inputs[i].has_value(); }
  const Tensor* constant(size_t i) const { return i < constants.size() ? constants[i] : nullptr; }
};

using KernelFn = std::function<std::vector<Tensor>(const KernelContext&)>;
using InferFn = std::function<std::vector<ValueType>(const InferContext&)>;

struct AttrSpec {
  std::string name;
  AttrType type;
  bool required = false;
};

struct OpSchema {
  std::string name;
  OpCost cost;                   // declared next to the name: what one application of the op costs
  std::string domain;            // "" = default ONNX domain
  int since = 1;                 // lowest ONNX since-version implemented
  int until = 1 << 30;           // highest since-version implemented (inclusive)
  std::vector<AttrSpec> attrs;   // declared attributes (checked by the verifier)
  InferFn infer;                 // may be empty: outputs get unknown types
  KernelFn kernel;               // reference implementation
  bool is_control_flow = false;  // body graphs run through SubgraphRunner
};

class OpRegistry {
 public:
  static OpRegistry& global();

  void add(OpSchema schema);
  // Schema covering this domain/op at this since-version, or nullptr.
  const OpSchema* find(const std::string& domain, const std::string& name, int version) const;
  const OpSchema* find(const Node& n) const { return find(n.domain, n.op_type, n.op_version); }
  std::vector<const OpSchema*> all() const;
  // The cost of a node's op: its version's schema, else (a node built without a version) the
  // newest schema of that name; nullptr for an op the registry does not know.
  const OpCost* cost_of(const Node& n) const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<OpSchema>> schemas_;
};

struct OpRegistrar {
  explicit OpRegistrar(OpSchema schema) { OpRegistry::global().add(std::move(schema)); }
};

#define WAFER_REGISTER_OP(id, ...) static const ::wafer::OpRegistrar wafer_op_##id(::wafer::OpSchema __VA_ARGS__)

// Runs an op's inference, returning unknown types where it has none.
std::vector<ValueType> infer_node(const OpSchema& schema, const InferContext& ctx);

}  // namespace wafer
