// Conversion between ONNX TensorProto and wafer::Tensor, including every
// storage form (raw_data, typed fields, external data files), and reading and
// writing standalone .pb tensor files as used by the ONNX test layout.
#pragma once

#include <string>

#include "core/tensor.h"

namespace onnx {
class TensorProto;
}

namespace wafer {

// `where` names the tensor in errors ("model.onnx: initializer 'w'");
// `base_dir` resolves external-data locations.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& where, const std::string& base_dir);
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* proto);

struct NamedTensor {
  std::string name;
  Tensor tensor;
};
NamedTensor read_tensor_pb(const std::string& path);
void write_tensor_pb(const std::string& path, const Tensor& t, const std::string& name);

// Size of a regular file, refusing a missing file, a folder or anything over `max_bytes` (errors name the file).
uint64_t checked_file_size(const std::string& path, uint64_t max_bytes);
// Reads the whole file, refusing anything over `max_bytes` and naming the file on error.
std::string read_file_bytes(const std::string& path, uint64_t max_bytes);

}  // namespace wafer
