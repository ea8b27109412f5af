// wafer inspect MODEL: placeholder until the full report lands.
#include <iostream>

#include "commands.h"
#include "frontend/onnx/importer.h"

namespace wafer::cli {

void add_inspect_command(CLI::App& app) {
  auto* sub = app.add_subcommand("inspect", "Describe a model: inputs, outputs, ops, parameters, MACs");
  auto model_path = std::make_shared<std::string>();
  sub->add_option("model", *model_path, "ONNX model file")->required();
  set_action(sub, [model_path]() {
    ImportOptions opts;
    opts.reject_unsupported = false;
    Model m = import_onnx_file(*model_path, opts);
    std::cout << dump_graph(*m.graph);
    auto unsupported = find_unsupported_ops(*m.graph);
    if (!unsupported.empty()) std::cout << format_unsupported(unsupported) << "\n";
    return 0;
  });
}

}  // namespace wafer::cli
