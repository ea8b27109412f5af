#include "ir/weight_data.h"

#include "core/error.h"

namespace wafer {

Tensor shape_only_tensor(DType dtype, Dims dims) {
  // A view of no block: dtype, dims and element count are real, the storage pointer is null.
  return Tensor::view(nullptr, 0, dtype, std::move(dims));
}

bool has_data(const Tensor& t) {
  return t.numel() == 0 || t.raw() != nullptr;
}

void require_weight_data(const Graph& graph, const std::string& backend) {
  for (const auto& [name, t] : graph.initializers)
    if (!has_data(t))
      fail(backend, " backend: weight '", name, "' of ",
           graph.name.empty() ? "the model" : "model '" + graph.name + "'",
           " is declared by shape only (built from an architecture config, no weights); such a model can be "
           "simulated (wafer sim), not run");
}

}  // namespace wafer
