// Model and input loading shared by the CLI and the Python module: --shape bindings and
// folders of input tensors mean the same in both.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace wafer::api {

// Applies --shape specs: "NAME=d0,d1,..." fixes a graph input's shape (binding
// its symbolic dims), "SYMBOL=value" binds a symbolic dim directly.
void apply_shape_options(Graph& graph, const std::vector<std::string>& specs, SymbolBindings& symbols);

// Loads every .pb/.npy in `dir` as an input: by the name stored in a .pb, else
// by file stem (input name or input_N); output_* files (expected outputs in the
// ONNX test layout) are skipped. Two files for one input are an error.
void load_inputs_dir(const Graph& graph, const std::string& dir, std::map<std::string, Tensor>& given);

// Loads --input NAME=FILE specs into `given`, replacing what a folder gave for that name.
void load_input_files(const std::vector<std::string>& specs, std::map<std::string, Tensor>& given);

}  // namespace wafer::api
