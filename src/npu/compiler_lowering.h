// The state `lower_for_npu` (compiler.cpp) carries from one job to the next, and the jobs themselves:
// compiler_plan.cpp classifies the nodes and groups epilogues, compiler_place.cpp sizes regions, tiles,
// places layers and decides weight residency, compiler_emit.cpp emits the instructions. Internal to the
// compiler; the rest of Wafer sees only compiler.h.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "npu/compiler.h"
#include "npu/compiler_ops.h"
#include "npu/compiler_tiling.h"

namespace wafer::npu::lowering {

inline int64_t cdiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Where a value lives and who can read it.
struct ValInfo {
  MemLevel level = MemLevel::OffChip;
  int first_core = 0, num_cores = 1;  // producer cores (for Scratchpad)
  int ready = -1;                     // instruction after which it is complete (-1: at start)
  int layer = -1;
};

struct Emitter {
  Program& prog;
  const HardwareDesc& hw;
  int replicas = 1;  // what emit() stamps on instructions (Instr::replicas)
  int emit(Instr in) {
    in.replicas = replicas;
    prog.instrs.push_back(std::move(in));
    return int(prog.instrs.size()) - 1;
  }
  static void add_dep(std::vector<int>& deps, int d) {
    if (d >= 0 && std::find(deps.begin(), deps.end(), d) == deps.end()) deps.push_back(d);
  }
  // Brings `bytes` of value `v` into core `core`'s scratchpad.
  int fetch(const ValInfo& v, int core, uint64_t bytes, int layer, const std::string& what, std::vector<int> deps);
};

// One node of the optimized graph and what the compiler decided for it.
struct Plan {
  const Node* node = nullptr;
  std::optional<GemmView> gemm;
  std::vector<VectorWork> work;
  TileChoice tiles;
  TileProblem problem;  // what the tiles were chosen for
  std::string weight;   // initializer name of the weights (matrix layers)
  // A cache append (Concat of a graph input, the past, with new entries into a graph output, the present):
  // past and present share one preallocated buffer, as serving engines keep a KV cache (ONNX Runtime
  // GenAI's past_present_share_buffer), so only the appended entries are moved and written.
  bool append_in_place = false;
  std::optional<CollectiveOp> collective;  // a collective: one Collective instruction on the system's links
};

// Fused attention (compiler_attention.cpp): scores = Q x Kt (-> scale -> + mask) -> Softmax -> x V as one
// layer, as TensorRT's fused MHA kernels and FlashAttention run it. A work item is one (batch, head) group, or a
// run of its query tiles when there are fewer groups than cores; per query tile of `tq` rows the scores of a
// key block of `bk` columns stay on the core (bk = Sk: the whole row block, K and V loaded once per item;
// bk < Sk: FlashAttention's online softmax over key blocks, K and V blocks loaded per query tile).
struct AttentionPlan {
  size_t qk = 0, pv = 0;      // the two MatMul plans
  std::vector<size_t> inner;  // scale, mask Add, Softmax: vector work on the score block
  int q_scale = -1;           // a Div/Mul of Q by a scalar, applied to each Q tile on the core
  std::string q, kt, v, mask, out;
  int64_t groups = 0, s = 0, d = 0, sk = 0, dv = 0;
  int64_t tq = 0, bk = 0;
  int64_t split = 1;      // items per group (runs of query tiles)
  bool stage_kv = false;  // K and V staged in the global buffer (re-read by several items or query tiles)
  TileChoice qk_tiles, pv_tiles;
};

struct Lowering {
  Lowering(const Graph& graph, const HardwareDesc& hw, const NpuCompileOptions& options, Program& prog);

  const Graph& g;
  const HardwareDesc& hw;
  const NpuCompileOptions& options;
  Program& prog;

  const DType tdt;           // the matrix unit's datatype for timing
  const uint64_t eb;         // bytes per element in the program's precision
  const double offchip_bpc;  // off-chip bytes per cycle
  const double dma_latency;  // off-chip latency in cycles
  const int matrix_cap;      // most cores a matrix layer spreads over
  // Spatial designs (a mesh of many small cores: wafer-scale) map the model as such wafers are programmed:
  // every layer gets a region of cores sized to its work and keeps it, its weights resident there; the layers
  // run concurrently on their regions and samples stream from region to region (evaluate.h pipelines a
  // batch's runs). Other designs give each layer as many cores as it has tiles, one layer after another.
  const bool spatial;

  // Planning (compiler_plan.cpp), indexed like `plans`.
  std::vector<Plan> plans;
  std::vector<std::vector<size_t>> epilogue;            // the fused nodes after each matrix layer
  std::vector<bool> fused;                              // runs in its matrix layer's epilogue
  std::vector<std::optional<AttentionPlan>> attention;  // at the P x V MatMul of each fused attention
  std::vector<int> attention_of;                        // the P x V plan a node's fused attention is emitted at, or -1

  // Placement (compiler_place.cpp).
  std::vector<int> region;  // spatial designs: the most cores a layer may take
  std::vector<int> first_core, num_cores;
  std::vector<uint64_t> core_used;     // scratchpad bytes claimed per core (tiles + resident weights)
  std::vector<uint64_t> working_sets;  // core_used before any resident weight
  std::vector<MemLevel> weight_home;

  // Emission (compiler_emit.cpp).
  Emitter em;
  MemLevel stream_level;                        // where streamed weights come from
  std::vector<std::vector<int>> resident_load;  // per layer: the prologue loads of its resident weights
  std::map<std::string, ValInfo> vals;          // every value emitted so far

  uint64_t value_bytes(const std::string& v) const;
  // Where an activation of `bytes` lives, made by a layer on `cores` cores.
  MemLevel act_level(uint64_t bytes, int cores) const;
  const ValInfo& info(const std::string& v) const;
};

// compiler_plan.cpp
void classify_nodes(Lowering& l);
void group_epilogues(Lowering& l);

// compiler_attention.cpp
void fold_views(Lowering& l);
void group_attention(Lowering& l);
void emit_attention(Lowering& l, size_t pv);

// compiler_place.cpp
void size_spatial_regions(Lowering& l);
void choose_matrix_tiles(Lowering& l);
void place_layers(Lowering& l);
void assign_weight_homes(Lowering& l);
void retile_resident_layers(Lowering& l);
void describe_layers(Lowering& l);

// compiler_emit.cpp
void emit_instructions(Lowering& l);

}  // namespace wafer::npu::lowering
