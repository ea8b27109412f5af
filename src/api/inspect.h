// Describing a model: what `wafer inspect` and wafer.inspect report (inputs, outputs, op
// histogram, parameters, MACs/FLOPs per node, what cannot run), about the graph after the
// standard optimization pipeline, which is what backends compile.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "frontend/onnx/importer.h"
#include "ir/cost.h"
#include "passes/pass_manager.h"

namespace wafer::api {

struct InspectOptions {
  std::string model;
  std::string backend;  // also list the nodes this backend does not support
  std::vector<std::string> shapes;
  bool no_optimize = false;  // only infer shapes
  bool dump = false;         // the JSON carries the graph's text dump
};

struct InspectReport {
  Model model;  // optimized (or shape-inferred) graph; the cost entries point into it
  SymbolBindings symbols;
  std::map<std::string, std::optional<ValueType>> declared;  // inputs as the model declares them
  std::vector<std::string> defaulted;                        // symbolic dims counted at 1
  size_t nodes_before = 0;
  std::vector<PassStats> stats;
  GraphCost cost;
  std::map<std::string, int> ops;  // op histogram, subgraphs included
  std::vector<UnsupportedOp> unsupported;
  std::unique_ptr<Backend> backend;  // when InspectOptions::backend is set
  std::vector<const Node*> not_on_backend;
  std::vector<std::string> on_fallback;  // nodes the backend runs on reference kernels
};

InspectReport inspect_model(const InspectOptions& options);

// The object `wafer inspect --json` prints.
nlohmann::json inspect_json(const InspectOptions& options, const InspectReport& report);

}  // namespace wafer::api
