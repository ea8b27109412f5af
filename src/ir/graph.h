// The graph IR: values named by strings (as in ONNX), nodes that read and write
// them, initializers holding constant tensors, and nested subgraphs for
// control flow. Passes edit it in place; `verify()` checks its invariants.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/attribute.h"
#include "ir/value_type.h"

namespace wafer {

class Node {
 public:
  std::string name;                  // may be empty in the source model; the importer fills one in
  std::string op_type;               // "Conv"
  std::string domain;                // "" for the default ONNX domain
  int op_version = 0;                // since-version of the ONNX schema in force (e.g. Softmax 13)
  std::vector<std::string> inputs;   // "" = omitted optional input
  std::vector<std::string> outputs;  // "" = omitted optional output
  std::map<std::string, Attribute> attrs;

  bool has_attr(const std::string& n) const { return attrs.count(n) != 0; }
  int64_t attr_int(const std::string& n, std::optional<int64_t> fallback = {}) const;
  float attr_float(const std::string& n, std::optional<float> fallback = {}) const;
  std::string attr_string(const std::string& n, std::optional<std::string> fallback = {}) const;
  std::vector<int64_t> attr_ints(const std::string& n, std::optional<std::vector<int64_t>> fallback = {}) const;
  std::vector<float> attr_floats(const std::string& n, std::optional<std::vector<float>> fallback = {}) const;
  std::vector<std::string> attr_strings(const std::string& n) const;
  const Tensor& attr_tensor(const std::string& n) const;
  const Graph& attr_graph(const std::string& n) const;

  // Human-readable identity for errors: `Conv "conv1"`.
  std::string label() const;
  int num_present_inputs() const;
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

class Graph {
 public:
  std::string name;
  std::vector<std::unique_ptr<Node>> nodes;  // topologically sorted after import and every pass
  std::vector<std::string> inputs;           // runtime inputs (initializers excluded)
  std::vector<std::string> outputs;
  std::map<std::string, Tensor> initializers;
  std::map<std::string, ValueType> types;  // known types of values (inputs, outputs, inferred)
  std::map<std::string, int> opsets;       // domain -> opset version (top-level graph)
  const Graph* parent = nullptr;           // enclosing graph of a subgraph

  Node& add_node(std::string op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                 std::string name = {});
  bool is_initializer(const std::string& v) const { return initializers.count(v) != 0; }
  const Tensor* initializer(const std::string& v) const;
  std::optional<ValueType> type_of(const std::string& v) const;

  // Producer of each value in this graph (not initializers or inputs).
  std::unordered_map<std::string, Node*> producers() const;
  // Number of reads of each value, counting graph outputs and reads from subgraphs.
  std::unordered_map<std::string, int> use_counts() const;
  // Values a subgraph (and its nested subgraphs) reads from enclosing scopes.
  std::vector<std::string> outer_references() const;

  // Reorders `nodes` topologically; throws naming a node on a cycle or an
  // input nobody produces.
  void topological_sort();
  // Checks invariants: every input defined before use, outputs produced once,
  // graph outputs defined, subgraphs valid. Throws an Error naming the node.
  void verify() const;

  // Deep copy (subgraphs too; tensors share their immutable buffers).
  std::unique_ptr<Graph> clone() const;
  // Total number of nodes including subgraphs.
  size_t node_count_recursive() const;

  // A fresh value name with the given prefix, unique in this graph.
  std::string unique_name(const std::string& prefix);

 private:
  int name_counter_ = 0;
};

// Top-level container: the graph plus where it came from.
struct Model {
  std::string path;  // file it was loaded from (for error messages)
  std::string producer;
  int64_t ir_version = 0;
  std::unique_ptr<Graph> graph;
};

// Readable text dump of a graph (for `wafer inspect --dump` and debugging).
std::string dump_graph(const Graph& g, int indent = 0);

// The batch dimension's symbol: the symbol every graph input carries as its leading dim
// (exporters name it "batch", "N", "batch_size", ...); empty when an input has none or
// they disagree. The one rule for binding a batch (npu compiler, harness samples).
std::string batch_symbol(const Graph& g);

}  // namespace wafer
