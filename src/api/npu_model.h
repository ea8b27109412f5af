// Model loading shared by `wafer sim`, `wafer sweep` and the Python module: import, bind the
// batch and --shape symbols, run the standard optimization pipeline.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "npu/compiler.h"
#include "npu/evaluate.h"

namespace wafer::api {

struct NpuModelArgs {
  std::string model;  // .onnx file, or a folder holding model.onnx
  int batch = 1;
  Precision precision = Precision::automatic;
  std::vector<std::string> shapes;
};

// Imports the model and binds the --shape symbols, unoptimized; fills `options` (batch, symbols, precision)
// and, when given, the path of the .onnx file read.
Model load_npu_source(const NpuModelArgs& args, npu::NpuCompileOptions& options, std::string* path_read = nullptr);

// Returns the model optimized at its batch and the batch's halvings (npu::prepare_batches, so the compiler
// may run a batch as sub-batches); fills `options` (batch, symbols, precision).
npu::PreparedBatches load_npu_model(const NpuModelArgs& args, npu::NpuCompileOptions& options);

// resnet20 for models/resnet20, models/resnet20/model.onnx or resnet20.onnx.
std::string model_display_name(const std::string& model);

// "FIELD=VALUE" pairs.
std::vector<std::pair<std::string, std::string>> parse_set_options(const std::vector<std::string>& sets);

}  // namespace wafer::api
