#include "api/model_loading.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

#include "frontend/inputs.h"

namespace wafer::api {
namespace fs = std::filesystem;

void apply_shape_options(Graph& graph, const std::vector<std::string>& specs, SymbolBindings& symbols) {
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    check(eq != std::string::npos && eq > 0, "--shape expects NAME=d0,d1,... or SYMBOL=value, got '", spec, "'");
    std::string name = spec.substr(0, eq);
    Dims dims;
    std::string rest = spec.substr(eq + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t comma = rest.find(',', pos);
      std::string tok = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(tok.c_str(), &end, 10);
      check(!tok.empty() && *end == '\0' && v >= 0 && errno == 0, "--shape ", spec, ": '", tok,
            "' is not a non-negative integer");
      dims.push_back(v);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    bool is_input = std::find(graph.inputs.begin(), graph.inputs.end(), name) != graph.inputs.end();
    if (!is_input) {
      check(dims.size() == 1, "--shape ", spec, ": '", name, "' is neither an input nor a single symbolic dim");
      symbols[name] = dims[0];
      continue;
    }
    auto type = graph.type_of(name);
    ValueType vt = type.value_or(ValueType{});
    if (vt.shape.rank_known) {
      check(vt.shape.rank() == int64_t(dims.size()), "--shape ", spec, ": input '", name, "' has rank ",
            vt.shape.rank());
      for (size_t d = 0; d < dims.size(); ++d) {
        const Dim& declared = vt.shape.dims[d];
        check(!declared.known() || declared.value == dims[d], "--shape ", spec, ": dim ", d, " of '", name,
              "' is fixed at ", declared.value);
        if (!declared.symbol.empty()) symbols[declared.symbol] = dims[d];
      }
    }
    vt.shape = Shape::from(dims);
    graph.types[name] = vt;
  }
}

void load_inputs_dir(const Graph& graph, const std::string& dir, std::map<std::string, Tensor>& given) {
  check(fs::is_directory(dir), dir, ": not a folder");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".pb" || e.path().extension() == ".npy") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    // An ONNX test_data_set folder also holds the expected outputs: not inputs.
    if (f.stem().string().rfind("output_", 0) == 0) continue;
    auto [stored, tensor] = read_tensor_file(f.string());
    std::string name = stored;
    std::string stem = f.stem().string();
    if (name.empty() || std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end()) name = stem;
    if (name.rfind("input_", 0) == 0 &&
        std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end()) {
      std::string digits = name.substr(6);
      check(!digits.empty() && digits.size() < 9 && digits.find_first_not_of("0123456789") == std::string::npos,
            f.string(), ": '", name, "' is neither an input name nor input_N");
      size_t idx = std::stoul(digits);
      check(idx < graph.inputs.size(), f.string(), ": input index ", idx, " but the model has ", graph.inputs.size(),
            " inputs");
      name = graph.inputs[idx];
    }
    check(!given.count(name), f.string(), ": input '", name, "' is given by more than one file in ", dir);
    given[name] = tensor;
  }
}

void load_input_files(const std::vector<std::string>& specs, std::map<std::string, Tensor>& given) {
  std::set<std::string> explicit_inputs;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    check(eq != std::string::npos && eq > 0, "--input expects NAME=FILE, got '", spec, "'");
    std::string name = spec.substr(0, eq);
    check(explicit_inputs.insert(name).second, "--input: input '", name, "' is given twice");
    given[name] = read_tensor_file(spec.substr(eq + 1)).second;
  }
}

}  // namespace wafer::api
