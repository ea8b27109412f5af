#include "frontend/inputs.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "frontend/npy.h"
#include "frontend/onnx/tensor_proto.h"

namespace wafer {

std::pair<std::string, Tensor> read_tensor_file(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".npy") return {"", read_npy(path)};
  if (ext == ".pb") {
    NamedTensor nt = read_tensor_pb(path);
    return {nt.name, nt.tensor};
  }
  fail(path, ": unknown tensor file type '", ext, "' (expected .pb or .npy)");
}

Dims concrete_input_dims(const std::string& input, const Shape& shape, const SymbolBindings& symbols) {
  check(shape.rank_known, "input '", input, "' has no declared shape: give it with --input or --shape");
  Dims d;
  for (const Dim& dim : shape.dims) {
    if (dim.known()) {
      d.push_back(dim.value);
      continue;
    }
    auto it = symbols.find(dim.symbol);
    if (it == symbols.end()) {
      // A symbolic dim without a binding is most often a batch size: 1.
      d.push_back(1);
      continue;
    }
    d.push_back(it->second);
  }
  return d;
}

Tensor random_tensor(DType dtype, const Dims& dims, uint64_t seed) {
  Tensor t(dtype, dims);
  std::mt19937_64 rng(seed);
  visit_dtype(dtype, [&]<typename T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint64_t r = rng();
      if constexpr (std::is_same_v<T, bool>) p[i] = (r & 1) != 0;
      else if constexpr (is_float_type_v<T>) p[i] = T(compute_t<T>(double(r >> 11) * 0x1.0p-52 - 1.0));
      else p[i] = T(r % 10);
    }
  });
  return t;
}

std::vector<Tensor> make_inputs(const Graph& graph, const std::map<std::string, Tensor>& given,
                                const SymbolBindings& symbols, uint64_t seed) {
  for (const auto& [name, _] : given) {
    bool known = std::find(graph.inputs.begin(), graph.inputs.end(), name) != graph.inputs.end();
    if (!known) {
      std::string list;
      for (const auto& i : graph.inputs) list += (list.empty() ? "" : ", ") + i;
      fail("the model has no input '", name, "' (inputs: ", list, ")");
    }
  }
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const std::string& name = graph.inputs[i];
    if (auto it = given.find(name); it != given.end()) {
      inputs.push_back(it->second);
      continue;
    }
    auto type = graph.type_of(name);
    check(type && type->dtype != DType::Undefined, "input '", name, "' has no declared type: give it with --input");
    try {
      inputs.push_back(random_tensor(type->dtype, concrete_input_dims(name, type->shape, symbols), seed + i));
    } catch (const Error& e) {
      // e.g. a declared shape over the size limit: say which input.
      if (std::string(e.what()).find("'" + name + "'") != std::string::npos) throw;
      rethrow_with_context(e, "input '" + name + "'");
    }
  }
  return inputs;
}

}  // namespace wafer
