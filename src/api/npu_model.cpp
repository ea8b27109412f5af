#include "api/npu_model.h"

#include <filesystem>

#include "api/model_loading.h"
#include "frontend/onnx/importer.h"

namespace wafer::api {

Model load_npu_source(const NpuModelArgs& args, npu::NpuCompileOptions& options, std::string* path_read) {
  namespace fs = std::filesystem;
  std::string path = args.model;
  if (fs::is_directory(path)) path = (fs::path(path) / "model.onnx").string();
  check(args.batch >= 1, "--batch must be at least 1, got ", args.batch);
  Model model = import_onnx_file(path);
  SymbolBindings symbols;
  apply_shape_options(*model.graph, args.shapes, symbols);
  options.batch = args.batch;
  options.symbols = symbols;
  options.precision = args.precision;
  if (path_read) *path_read = path;
  return model;
}

npu::PreparedBatches load_npu_model(const NpuModelArgs& args, npu::NpuCompileOptions& options) {
  Model model = load_npu_source(args, options);
  // The one optimization of the model per batch it may run at (npu::prepare_batches): every design a
  // sweep evaluates lowers these graphs.
  return npu::prepare_batches(*model.graph, options);
}

std::string model_display_name(const std::string& model) {
  namespace fs = std::filesystem;
  fs::path p(model);
  if (fs::is_directory(p)) return fs::weakly_canonical(p).filename().string();
  if (p.filename() == "model.onnx" && p.has_parent_path())
    return fs::weakly_canonical(p).parent_path().filename().string();
  return p.stem().string();
}

std::vector<std::pair<std::string, std::string>> parse_set_options(const std::vector<std::string>& sets) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : sets) {
    auto eq = s.find('=');
    check(eq != std::string::npos && eq > 0, "--set expects FIELD=VALUE, got '", s, "'");
    out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

}  // namespace wafer::api
