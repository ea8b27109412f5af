#include "api/compile.h"

#include <chrono>
#include <fstream>

#include "core/error.h"
#include "frontend/onnx/importer.h"
#include "npu/evaluate.h"

namespace wafer::api {

CompileRun compile(const CompileOptions& o) {
  CompileRun run;
  // On a system of chips every chip runs the same program on its share of the batch (data parallel).
  const DataParallelShare share = data_parallel_share(o.hw, o.sets, o.m);
  const npu::HardwareDesc& hw = share.chip;
  npu::NpuCompileOptions opts;
  Model model = load_npu_source(share.m, opts, &run.model_path);
  auto t0 = std::chrono::steady_clock::now();
  // The program `wafer sim` runs: the fastest of the tile granularities (npu/evaluate.h).
  run.program = npu::evaluate_fastest(*npu::prepare_for_npu(*model.graph, opts), hw, opts, false).program;
  run.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (run.program.model.empty()) run.program.model = model_display_name(o.m.model);
  run.hw_name = share.system ? share.system->name + " (each of " + std::to_string(share.chips) + " x " + hw.name +
                                   ", batch " + std::to_string(share.m.batch) + " a chip)"
                             : hw.name;
  if (!o.output.empty()) {
    std::ofstream json(o.output), text(o.output + ".txt");
    check(bool(json) && bool(text), o.output, ": cannot write the program");
    json << run.program.to_json().dump(1) << "\n";
    text << run.program.to_text();
  }
  return run;
}

nlohmann::json compile_json(const CompileRun& run) {
  const npu::Program& p = run.program;
  int64_t matrix = 0, vector = 0, views = 0, tiles = 0;
  for (const auto& l : p.layers) (l.unit == "matrix" ? matrix : l.unit == "vector" ? vector : views)++;
  for (const auto& in : p.instrs) tiles += in.kind == npu::OpKind::MatMul;
  return {{"model", p.model},
          {"model_path", run.model_path},
          {"hw", run.hw_name},
          {"precision", dtype_name(p.precision)},
          {"batch", p.batch},
          {"compile_ms", run.compile_ms},
          {"layers", int64_t(p.layers.size())},
          {"matrix_layers", matrix},
          {"vector_layers", vector},
          {"free_views", views},
          {"instructions", int64_t(p.instrs.size())},
          {"matmul_tiles", tiles},
          {"weight_bytes", p.weight_bytes_total},
          {"resident_weight_bytes", p.resident_weight_bytes},
          {"streamed_weight_bytes", p.weight_bytes_total - p.resident_weight_bytes}};
}

}  // namespace wafer::api
