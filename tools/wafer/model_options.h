// Options shared by the commands that load and run a model.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/precision.h"
#include "ir/graph.h"

namespace wafer::cli {

// --precision for every command, parsed by parse_precision (core/precision.h); unset is auto.
void add_precision_option(CLI::App* sub, Precision& precision);

// Applies --shape specs: "NAME=d0,d1,..." fixes a graph input's shape (binding
// its symbolic dims), "SYMBOL=value" binds a symbolic dim directly.
void apply_shape_options(Graph& graph, const std::vector<std::string>& specs, SymbolBindings& symbols);

// Loads every .pb/.npy in `dir` as an input: by the name stored in a .pb, else
// by file stem (input name or input_N); output_* files (expected outputs in the
// ONNX test layout) are skipped. Two files for one input are an error.
void load_inputs_dir(const Graph& graph, const std::string& dir, std::map<std::string, Tensor>& given);

}  // namespace wafer::cli
