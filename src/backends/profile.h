// Per-step profile of a compiled program (`wafer run --profile`): which kernel
// ran each step, how long it took over the profiled runs, and its work from the
// IR's cost model (ir/cost.h), so a slow model shows where its time goes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wafer {

struct StepProfile {
  std::string label;    // node label, or what a conversion converts ("reorder x")
  std::string op;       // op type ("wafer.FusedConv"), or the conversion ("reorder", "to plain", "residual copy")
  std::string library;  // "oneDNN", "wafer" (own kernels), "reference" (the op's reference kernel)
  std::string kernel;   // oneDNN's implementation name ("brg:avx512_core", "gemm:jit"), own kernel name, "reference"
  std::string isa;      // instruction set it ran with ("avx512", "avx2", "scalar"; oneDNN's own name); "" unknown
  double total_ms = 0;  // summed over the profiled runs
  std::optional<int64_t> flops;  // the node and the nodes it absorbed (ir/cost.h); nullopt: no cost model
  std::optional<int64_t> bytes;  // activations read, weights read, outputs written; conversions: both buffers
  bool compute = false;          // multiply-accumulates: rated in GFLOP/s, else in GB/s
};

struct Profile {
  int runs = 0;                    // profiled runs the times are summed over
  std::vector<StepProfile> steps;  // in run order
};

// A step with its mean time, its share of the total and its rates (when its cost is known).
struct ProfileRow {
  const StepProfile* step = nullptr;
  double mean_ms = 0;
  double share = 0;  // of the sum of all steps' means
  std::optional<double> gflops, gbps;
};

// One row per step in run order; shares sum to 1 (all 0 when nothing was timed).
std::vector<ProfileRow> profile_rows(const Profile& profile);

// Facts about a compiled program for reports (the cpu backend's; others have none).
struct ProgramSummary {
  size_t steps = 0;
  size_t planned_bytes = 0;
  uint64_t fingerprint = 0;  // equal fingerprints: the same lowered program (bench/run --ablation)
};

}  // namespace wafer
