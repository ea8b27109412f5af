// wafer compile MODEL --hw PRESET|FILE -o PROGRAM: lowers a model for a described NPU and writes the
// program (JSON, plus PROGRAM.txt readable form). What it computes is api::compile (src/api/compile.h).
#include <iomanip>
#include <iostream>

#include "api/compile.h"
#include "commands.h"
#include "model_options.h"

namespace wafer::cli {

void add_compile_command(CLI::App& app) {
  auto* sub = app.add_subcommand("compile", "Compile a model for a described NPU and write the program");
  struct Opts : api::CompileOptions {
    bool text = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->m.model, "ONNX model file, or a folder with model.onnx")->required();
  sub->add_option(
         "--hw", o->hw.preset_or_path,
         "Hardware preset name or YAML file, or a system of chips (one chip's program for its share of the batch)")
      ->required();
  sub->add_option("-o,--output", o->output, "Program file to write (JSON); PROGRAM.txt gets the readable form");
  sub->add_option("--batch", o->m.batch, "Batch size bound to the symbolic batch dim")->capture_default_str();
  add_precision_option(sub, o->m.precision);
  sub->add_option("--shape", o->m.shapes, "NAME=d0,d1,... fixes an input's shape, or SYMBOL=value binds a dim");
  sub->add_option("--set", o->sets, "FIELD=VALUE hardware override, e.g. cores.matrix.rows=128 (repeatable)");
  sub->add_flag("--text", o->text, "Also print the readable program");
  sub->add_flag("--json", o->json, "Print the summary as JSON");
  set_action(sub, [o]() {
    api::CompileRun run = api::compile(*o);
    nlohmann::json s = api::compile_json(run);
    if (o->json) {
      std::cout << s.dump(2) << "\n";
      return 0;
    }
    std::cout << "compiled " << run.model_path << " for " << run.hw_name << " (precision "
              << s["precision"].get<std::string>() << ", batch " << run.program.batch << ") in " << std::fixed
              << std::setprecision(1) << run.compile_ms << " ms\n"
              << "  layers: " << s["layers"] << " (" << s["matrix_layers"] << " matrix, " << s["vector_layers"]
              << " vector, " << s["free_views"] << " free views)\n"
              << "  instructions: " << s["instructions"] << " (" << s["matmul_tiles"] << " matmul tiles)\n"
              << "  weights: " << s["weight_bytes"] << " B, resident on chip " << s["resident_weight_bytes"]
              << " B, streamed " << s["streamed_weight_bytes"] << " B\n";
    if (!o->output.empty()) std::cout << "  wrote " << o->output << " and " << o->output << ".txt\n";
    if (o->text) std::cout << run.program.to_text();
    return 0;
  });
}

}  // namespace wafer::cli
