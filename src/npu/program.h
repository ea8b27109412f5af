// The NPU program: what the `npu` compiler backend emits and the simulator
// runs. Like Glow's low-level IR it makes memory explicit: every byte that
// moves between off-chip memory, the global buffer and a core's scratchpad is
// a Load/Store/Transfer instruction, and every matrix-unit tile is a MatMul
// instruction with its place in the layer's GEMM view, so the functional
// executor can run the tiles on real data and the timing simulator can cost
// them. Dependencies are explicit, so the simulator is a plain event-driven
// scheduler over per-core queues.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace wafer::npu {

enum class MemLevel { OffChip, GlobalBuffer, Scratchpad, Accumulator };
std::string_view mem_level_name(MemLevel m);  // "offchip", "global", "scratchpad", "accumulator"

// One layer = one node of the optimized graph; the unit of per-layer reports.
struct Layer {
  std::string name;     // graph node name
  std::string op_type;  // ONNX/wafer op type
  std::string unit;     // "matrix" (tiled on the matrix unit) | "vector" | "none" (free view: Reshape...)
  int64_t macs = 0;
  int64_t vector_elements = 0;
  uint64_t weight_bytes = 0;
  bool weights_resident = false;  // loaded once before the first layer and kept on chip
  std::vector<int> cores;         // cores the layer runs on
  // Where MatMul tiles read the weights from: Scratchpad = resident on the layer's cores, GlobalBuffer =
  // resident in the shared buffer, OffChip = streamed per use.
  MemLevel weight_home = MemLevel::OffChip;
  // Matrix layers: the GEMM view out[M,N] = in[M,K] x w[K,N], repeated for `groups`
  // (Conv: M = N*OH*OW, K = C/g*KH*KW, N = OC/g). Tile sizes chosen by the cost model.
  int64_t gemm_m = 0, gemm_k = 0, gemm_n = 0, groups = 1;
  int64_t tile_m = 0, tile_k = 0, tile_n = 0;
  // Split-K: cores sharing each output tile's reduction, each holding its slice of the weights; their partial
  // sums are added up over the NoC (designs without off-chip memory, whose weights must stay on the cores).
  int64_t k_split = 1;
};

// Collective: an all-reduce, all-gather or all-to-all over the system's chip-to-chip links, or a pipeline
// send (wafer.AllReduce, wafer.AllGather, wafer.AllToAll, wafer.Send; docs/SYSTEMS.md). It occupies the chip's one
// communication resource for `cycles`; where Program::comm_overlap is false it holds every core's units too (the
// collective kernel takes the cores).
enum class OpKind { Load, Store, Transfer, MatMul, Vector, Barrier, Collective };
std::string_view op_kind_name(OpKind k);

struct Instr {
  OpKind kind = OpKind::Barrier;
  int layer = -1;         // index into Program::layers (-1: program prologue/epilogue)
  int core = 0;           // executing core; for DMA, the core whose queue issues it
  std::vector<int> deps;  // indices of instructions that must complete first

  // Load (src -> dst on `core`), Store (core -> dst), Transfer (core -> peer_core over the NoC)
  MemLevel src = MemLevel::OffChip;
  MemLevel dst = MemLevel::Scratchpad;
  int peer_core = -1;
  uint64_t bytes = 0;
  std::string what;  // "weights" | "input" | "output" | "psum": for reports

  // MatMul tile: rows [m0,m1) x reduction [k0,k1) x cols [n0,n1) of group `group`
  // of the layer's GEMM view; accumulates into the partial sum when k0 > 0.
  int64_t m0 = 0, m1 = 0, k0 = 0, k1 = 0, n0 = 0, n1 = 0;
  int64_t group = 0;
  DType dtype = DType::Float32;

  // Vector: `elements` element operations of class `op_class` (add, mul, max, exp, div, reduce...)
  int64_t elements = 0;
  std::string op_class;

  // Collective: `bytes` is one chip's buffer, `what` the collective ("all-reduce", "all-gather", "all-to-all",
  // "send"), `cycles` its time on the links (with the traffic in flight beside it) and `energy_j` this chip's
  // share of the group's link energy, both from npu/collectives.h and npu/contention.h at compile time (the
  // simulator has the chip, not the system).
  uint64_t cycles = 0;
  double energy_j = 0;

  // A timing program's wave: this instruction on `core` stands for `replicas` identical ones on as many
  // cores of the layer, issued together. The simulator runs the representative and scales what they share
  // (off-chip channels, the global-buffer port: each replica's bytes) and the counters; the slowest replica
  // finishes when the representative does. Functional programs have 1 everywhere.
  int replicas = 1;
};

// A run of identical waves compressed for timing: the `body_len` instructions from `body_begin` (one wave,
// explicit) execute `times` more times. Repetition r is the body with every dependency at or after
// `loop_begin` shifted by r * body_len (what the next wave would have depended on); earlier dependencies
// (the loop's inputs) stay. After the repeat, the body's indices denote its last repetition, and the
// explicit waves before it the ones before that. Only timing programs carry repeats (run_functional
// needs every tile: NpuCompileOptions::for_execution).
struct Repeat {
  int loop_begin = 0;
  int body_begin = 0;
  int body_len = 0;
  int64_t times = 0;
};

struct Program {
  std::string model;
  std::string hw_name;
  DType precision = DType::Float32;  // datatype of matrix-unit operands
  int batch = 1;
  std::vector<Layer> layers;
  std::vector<Instr> instrs;    // a valid topological order of the dependency graph
  std::vector<Repeat> repeats;  // ordered by body; bodies do not overlap
  uint64_t weight_bytes_total = 0;
  uint64_t resident_weight_bytes = 0;
  // Collectives overlap independent compute (the system's comm_engines: copy engines move the data);
  // false: a collective also holds every core while it runs.
  bool comm_overlap = false;
  // Some fused attention walks its keys in blocks with an online softmax (its score rows do not fit a core);
  // evaluate_fastest then also times the unfused mapping.
  bool blocked_attention = false;

  std::string to_text() const;  // readable listing: layers, then instructions
  nlohmann::json to_json() const;
  static Program from_json(const nlohmann::json& j);  // throws naming the bad field
  // Instructions the program stands for, replicas and repetitions included.
  uint64_t expanded_instrs() const;
  // Structural checks: deps point backwards, layers/cores in range, tiles non-empty, repeats well formed.
  void validate(int hw_cores) const;
};

}  // namespace wafer::npu
