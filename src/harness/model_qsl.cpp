#include "harness/model_qsl.h"

#include "core/error.h"
#include "frontend/inputs.h"

namespace wafer::harness {

ModelQsl::ModelQsl(const Graph& graph, size_t total, size_t performance, uint64_t seed, SymbolBindings symbols)
    : total_(total), performance_(performance), seed_(seed), symbols_(std::move(symbols)) {
  check(total >= 1 && total <= (size_t(1) << 24), "QSL size must be in [1, 16777216], got ", total);
  check(performance >= 1, "performance sample count must be positive");
  check(!graph.inputs.empty(), "the model has no inputs to generate samples for");
  for (const auto& name : graph.inputs) {
    auto type = graph.type_of(name);
    check(type && type->dtype != DType::Undefined && type->shape.rank_known, "input '", name,
          "' has no known type and rank: cannot generate samples for it");
  }
  std::string sym = wafer::batch_symbol(graph);
  if (!sym.empty() && !symbols_.count(sym)) {
    batch_symbol_ = sym;
    symbols_[sym] = 1;
  }
  for (const auto& name : graph.inputs) {
    auto type = graph.type_of(name);
    dtypes_.push_back(type->dtype);
    dims_.push_back(concrete_input_dims(name, type->shape, symbols_));
  }
  loaded_.resize(total_);
}

void ModelQsl::load_samples(const std::vector<uint64_t>& indices) {
  for (uint64_t idx : indices) {
    check(idx < total_, "QSL index ", idx, " out of range (", total_, " samples)");
    auto& s = loaded_[idx];
    if (!s.empty()) continue;
    for (size_t i = 0; i < dims_.size(); ++i)
      s.push_back(
          random_tensor(dtypes_[i], dims_[i], seed_ ^ (idx * 0x9E3779B97F4A7C15ull + i * 0x632BE59BD9B4E019ull)));
  }
}

void ModelQsl::unload_samples(const std::vector<uint64_t>& indices) {
  for (uint64_t idx : indices)
    if (idx < total_) loaded_[idx].clear();
}

const std::vector<Tensor>& ModelQsl::sample(uint64_t index) const {
  check(index < total_ && !loaded_[index].empty(), "QSL sample ", index, " is not loaded");
  return loaded_[index];
}

}  // namespace wafer::harness
