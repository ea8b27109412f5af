// The QSL for a model: N seeded random samples shaped like the model's
// inputs, with a symbolic batch dim (dim 0) bound to 1 per sample. Samples are
// generated on load and freed on unload.
#pragma once

#include <vector>

#include "harness/sut.h"
#include "ir/graph.h"

namespace wafer::harness {

class ModelQsl : public QuerySampleLibrary {
 public:
  // `symbols` binds the model's other symbolic dims (e.g. a sequence length).
  ModelQsl(const Graph& graph, size_t total, size_t performance, uint64_t seed, SymbolBindings symbols = {});
  std::string name() const override { return "model-random"; }
  size_t total_sample_count() const override { return total_; }
  size_t performance_sample_count() const override { return performance_; }
  void load_samples(const std::vector<uint64_t>& indices) override;
  void unload_samples(const std::vector<uint64_t>& indices) override;

  // The inputs of a loaded sample, in graph-input order. Throws if not loaded.
  const std::vector<Tensor>& sample(uint64_t index) const;
  // Whether every input's dim 0 is the same symbol, so samples batch by concatenation along it.
  bool batchable() const { return !batch_symbol_.empty(); }
  const std::string& batch_symbol() const { return batch_symbol_; }
  // The bindings used for one sample (batch symbol = 1 plus the given ones).
  const SymbolBindings& sample_symbols() const { return symbols_; }

 private:
  std::vector<DType> dtypes_;
  std::vector<Dims> dims_;
  size_t total_, performance_;
  uint64_t seed_;
  std::string batch_symbol_;
  SymbolBindings symbols_;
  std::vector<std::vector<Tensor>> loaded_;  // by QSL index; empty when not loaded
};

}  // namespace wafer::harness
