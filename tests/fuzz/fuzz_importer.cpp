// libFuzzer target for the ONNX importer: any byte string must either import
// or throw wafer::Error, never crash, hang or allocate without bound. Built
// with WAFER_FUZZ_WITH_OPS, models that import and are small are also run on
// the reference interpreter with tiny random inputs, so kernels see fuzzed
// attributes and initializers too.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "frontend/inputs.h"
#include "frontend/onnx/importer.h"
#if WAFER_FUZZ_RUN_MODELS
#include "backends/reference/interpreter.h"
#endif

namespace {

#if WAFER_FUZZ_RUN_MODELS

// Bounded work: only small graphs without loops, and only tiny inputs.
constexpr size_t kMaxNodes = 64;
constexpr int64_t kMaxInputElements = 4096;

bool has_loops(const wafer::Graph& g) {
  for (const auto& n : g.nodes) {
    if (n->op_type == "Loop" || n->op_type == "Scan") return true;
    for (const auto& [_, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<wafer::Graph>>(&a.value))
        if (has_loops(**sub)) return true;
  }
  return false;
}

void try_run(const wafer::Model& m) {
  const wafer::Graph& g = *m.graph;
  if (g.node_count_recursive() > kMaxNodes || has_loops(g)) return;
  int64_t total = 0;
  for (const auto& name : g.inputs) {
    auto t = g.type_of(name);
    if (!t || !t->shape.fully_known()) return;
    int64_t n = 1;
    for (const auto& d : t->shape.dims) {
      if (d.value > kMaxInputElements) return;
      n *= d.value;
      if (n > kMaxInputElements) return;
    }
    total += n;
    if (total > kMaxInputElements) return;
  }
  auto inputs = wafer::make_inputs(g, {}, {}, 1);
  wafer::Interpreter interp;
  interp.run(g, inputs);
}
#endif

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Kernels may legitimately build large outputs from small inputs (Expand,
  // Tile); cap every tensor at 64 MiB so that is an Error, not an OOM.
  setenv("WAFER_MAX_TENSOR_BYTES", "67108864", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    wafer::ImportOptions options;
    options.max_file_bytes = 1 << 20;
#if WAFER_FUZZ_RUN_MODELS
    // A folder with no files: external data must fail cleanly.
    wafer::Model m = wafer::import_onnx_bytes(bytes, "fuzz.onnx", "/nonexistent-fuzz-dir", options);
    try_run(m);
#else
    // Without kernels every op is unsupported; import anyway to exercise
    // everything else, then the unsupported-op listing.
    options.reject_unsupported = false;
    wafer::Model m = wafer::import_onnx_bytes(bytes, "fuzz.onnx", "/nonexistent-fuzz-dir", options);
    wafer::format_unsupported(wafer::find_unsupported_ops(*m.graph));
    wafer::make_inputs(*m.graph, {}, {}, 1);  // declared input shapes, size limit (64 MiB here)
    (void)wafer::dump_graph(*m.graph);
#endif
  } catch (const wafer::Error&) {
    // Expected for malformed input. Anything else escapes and is a finding.
  }
  return 0;
}
