// ONNX model importer: ModelProto -> wafer::Model.
//
// Everything a malformed or adversarial file can get wrong is checked here and
// reported as an Error naming the file, the node and the reason. Unsupported
// ops are collected over the whole model (subgraphs included) and reported in
// one error, never stopping at the first.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace wafer {

struct ImportOptions {
  // Throw an UnsupportedError listing every op the registry cannot run.
  // `wafer inspect` turns this off to show the list instead.
  bool reject_unsupported = true;
  uint64_t max_file_bytes = uint64_t(2) << 30;  // protobuf's own limit is 2 GiB
};

Model import_onnx_file(const std::string& path, const ImportOptions& options = {});
Model import_onnx_bytes(const std::string& bytes, const std::string& name_for_errors, const std::string& base_dir,
                        const ImportOptions& options = {});

struct UnsupportedOp {
  std::string op_type;
  std::string domain;
  int opset = 0;
  std::string node_name;
};
// Every node (subgraphs included) the op registry has no schema for.
std::vector<UnsupportedOp> find_unsupported_ops(const Graph& g);
std::string format_unsupported(const std::vector<UnsupportedOp>& ops);

}  // namespace wafer
