#include "backends/backend.h"

#include <map>

#include "ir/op_registry.h"

namespace wafer {

namespace {
std::map<std::string, BackendFactory>& factories() {
  static std::map<std::string, BackendFactory> f;
  return f;
}
}  // namespace

bool Backend::supports(const Node& node) const { return OpRegistry::global().find(node) != nullptr; }

BackendRegistrar::BackendRegistrar(const std::string& name, BackendFactory factory) {
  factories()[name] = std::move(factory);
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const auto& [k, _] : factories()) names.push_back(k);
  return names;
}

std::unique_ptr<Backend> make_backend(const std::string& spec, CompileOptions* options) {
  std::string name = spec, arg;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    name = spec.substr(0, colon);
    arg = spec.substr(colon + 1);
  }
  auto it = factories().find(name);
  if (it == factories().end()) {
    std::string known;
    for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown backend '", spec, "' (known: ", known, ")");
  }
  if (options && !arg.empty()) options->hardware = arg;
  return it->second();
}

void check_inputs(const Graph& graph, const std::vector<Tensor>& inputs) {
  check(inputs.size() == graph.inputs.size(), "the model has ", graph.inputs.size(), " input(s), got ",
        inputs.size());
  std::map<std::string, int64_t> symbols;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& name = graph.inputs[i];
    const Tensor& t = inputs[i];
    check(t.defined(), "input '", name, "' was not given");
    auto type = graph.type_of(name);
    if (!type) continue;
    if (type->dtype != DType::Undefined)
      check(t.dtype() == type->dtype, "input '", name, "': expected ", dtype_name(type->dtype), ", got ",
            dtype_name(t.dtype()));
    if (!type->shape.rank_known) continue;
    auto mismatch = [&] {
      fail("input '", name, "': expected shape ", type->shape.str(), ", got ", dims_to_string(t.dims()));
    };
    if (t.rank() != type->shape.rank()) mismatch();
    for (size_t d = 0; d < t.dims().size(); ++d) {
      const Dim& want = type->shape.dims[d];
      if (want.known() && want.value != t.dims()[d]) mismatch();
      if (!want.known() && !want.symbol.empty()) {
        auto [it, fresh] = symbols.emplace(want.symbol, t.dims()[d]);
        check(fresh || it->second == t.dims()[d], "input '", name, "': dim '", want.symbol, "' is ", t.dims()[d],
              " here but ", it->second, " in another input");
      }
    }
  }
}

}  // namespace wafer
