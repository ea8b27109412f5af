// Weights declared by shape only: a model built from an architecture config (a Hugging Face
// config.json) has initializers with a dtype and dims but no storage, so that a 70 B-parameter
// model can be compiled and simulated on a machine that could never hold it. Paths that estimate
// (cost, the npu compiler and simulator) read only their types; backends that execute refuse them.
#pragma once

#include <string>

#include "ir/graph.h"

namespace wafer {

// A tensor of this dtype and shape with no storage (raw() is null): never allocated.
Tensor shape_only_tensor(DType dtype, Dims dims);
// False for a shape_only_tensor (a tensor with elements and no storage).
bool has_data(const Tensor& t);

// Names the first shape-only initializer and the backend that cannot run it.
void require_weight_data(const Graph& graph, const std::string& backend);

}  // namespace wafer
