// wafer compile MODEL --hw PRESET|FILE -o PROGRAM: lowers a model for a
// described NPU and writes the program (JSON, plus PROGRAM.txt readable form).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "frontend/onnx/importer.h"
#include "model_options.h"
#include "npu/compiler.h"

namespace wafer::cli {

namespace fs = std::filesystem;

void add_compile_command(CLI::App& app) {
  auto* sub = app.add_subcommand("compile", "Compile a model for a described NPU and write the program");
  struct Opts {
    std::string model, hw, out;
    Precision precision = Precision::automatic;
    int batch = 1;
    bool text = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX model file, or a folder with model.onnx")->required();
  sub->add_option("--hw", o->hw, "Hardware preset name or YAML file")->required();
  sub->add_option("-o,--output", o->out, "Program file to write (JSON); PROGRAM.txt gets the readable form");
  sub->add_option("--batch", o->batch, "Batch size bound to the symbolic batch dim")->capture_default_str();
  add_precision_option(sub, o->precision);
  sub->add_flag("--text", o->text, "Also print the readable program");
  set_action(sub, [o]() {
    fs::path path = o->model;
    if (fs::is_directory(path)) path /= "model.onnx";
    check(o->batch >= 1, "--batch must be at least 1, got ", o->batch);
    Model model = import_onnx_file(path.string());
    npu::HardwareDesc hw = npu::load_hardware(o->hw);
    npu::NpuCompileOptions opts;
    opts.batch = o->batch;
    opts.precision = o->precision;
    auto t0 = std::chrono::steady_clock::now();
    npu::Program prog = npu::compile_for_npu(*model.graph, hw, opts);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (prog.model.empty()) prog.model = fs::path(o->model).filename().string();
    if (!o->out.empty()) {
      std::ofstream(o->out) << prog.to_json().dump(1) << "\n";
      std::ofstream(o->out + ".txt") << prog.to_text();
    }
    int64_t matrix = 0, vector = 0, none = 0, tiles = 0;
    for (const auto& l : prog.layers) (l.unit == "matrix" ? matrix : l.unit == "vector" ? vector : none)++;
    for (const auto& in : prog.instrs) tiles += in.kind == npu::OpKind::MatMul;
    std::cout << "compiled " << path.string() << " for " << hw.name << " (precision " << dtype_name(prog.precision)
              << ", batch " << prog.batch << ") in " << std::fixed << std::setprecision(1) << ms << " ms\n"
              << "  layers: " << prog.layers.size() << " (" << matrix << " matrix, " << vector << " vector, " << none
              << " free views)\n"
              << "  instructions: " << prog.instrs.size() << " (" << tiles << " matmul tiles)\n"
              << "  weights: " << prog.weight_bytes_total << " B, resident on chip " << prog.resident_weight_bytes
              << " B, streamed " << prog.weight_bytes_total - prog.resident_weight_bytes << " B\n";
    if (!o->out.empty()) std::cout << "  wrote " << o->out << " and " << o->out << ".txt\n";
    if (o->text) std::cout << prog.to_text();
    return 0;
  });
}

}  // namespace wafer::cli
