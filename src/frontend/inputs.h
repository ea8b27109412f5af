// Model inputs for `wafer run` and the harness: read from .pb/.npy files
// (matched to graph inputs by name) or generated from a seed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace wafer {

// Reads a tensor from a .pb (TensorProto) or .npy file, by extension.
// Returns the name stored in the file ("" for .npy).
std::pair<std::string, Tensor> read_tensor_file(const std::string& path);

// Concrete dims for a declared input shape, with symbols taken from `symbols`;
// throws naming the input and the unbound symbol otherwise.
Dims concrete_input_dims(const std::string& input, const Shape& shape, const SymbolBindings& symbols);

// Deterministic pseudo-random tensor: floats uniform in [-1, 1), integers in
// [0, 10), bools 50/50. Same seed and shape, same values.
Tensor random_tensor(DType dtype, const Dims& dims, uint64_t seed);

// Builds the input list for `graph`: explicit tensors by name, the rest random.
std::vector<Tensor> make_inputs(const Graph& graph, const std::map<std::string, Tensor>& given,
                                const SymbolBindings& symbols, uint64_t seed);

}  // namespace wafer
