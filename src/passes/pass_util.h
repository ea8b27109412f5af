// Helpers shared by the graph passes: walking subgraphs, rewiring uses of a
// value, finding constants through enclosing scopes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace wafer {

// Subgraphs held by a node's attributes (If branches, Loop/Scan bodies).
std::vector<Graph*> subgraphs_of(Node& node);
bool has_subgraph(const Node& node);

// Constant value of `name` visible from `g`: an initializer of g or of an
// enclosing graph (unless g defines the name itself), else nullptr.
const Tensor* find_constant(const Graph& g, const std::string& name);

// Replaces every read of `from` by `to`: node inputs of g, and reads from
// subgraphs that do not define `from` themselves (outputs of subgraphs are
// positional, so they are renamed too). g's own output list is left alone.
void replace_uses(Graph& g, const std::string& from, const std::string& to);

// True when `name` is one of g's outputs.
bool is_graph_output(const Graph& g, const std::string& name);

// Values defined in g: inputs, initializers and node outputs.
bool defines(const Graph& g, const std::string& name);

}  // namespace wafer
