// Per-step profile of a compiled program (`wafer run --profile`): which kernel
// ran each step, how long it took in each profiled run, and its work from the
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
  std::vector<double> run_ms;    // its time in each profiled run, in run order (0 where it did not run)
  std::optional<int64_t> flops;  // the node and the nodes it absorbed (ir/cost.h); nullopt: no cost model
  std::optional<int64_t> bytes;  // activations read, weights read, outputs written; conversions: both buffers
  bool compute = false;          // multiply-accumulates: rated in GFLOP/s, else in GB/s
};

struct Profile {
  int runs = 0;                    // profiled runs the times are summed over
  std::vector<StepProfile> steps;  // in run order
};

// A step with its typical time, its share of the total and its rates (when its cost is known).
// The typical time is the median over the profiled runs, not the mean: on a shared machine a few
// runs are preempted or wait for a descheduled OpenMP thread, and one such run of a 0.05 ms model
// can take 100 ms, which a mean spreads over every step (the latency line reports a median too).
struct ProfileRow {
  const StepProfile* step = nullptr;
  double ms = 0;       // median of step->run_ms
  double mean_ms = 0;  // mean of step->run_ms (outliers included)
  double share = 0;    // of the sum of all steps' medians
  std::optional<double> gflops, gbps;
};

// The median of `v` (mean of the middle two for an even count; 0 when empty).
double median(std::vector<double> v);

// One row per step in run order; shares sum to 1 (all 0 when nothing was timed).
std::vector<ProfileRow> profile_rows(const Profile& profile);

// Facts about a compiled program for reports (the cpu backend's; others have none).
struct ProgramSummary {
  size_t steps = 0;
  size_t planned_bytes = 0;
  uint64_t fingerprint = 0;  // equal fingerprints: the same lowered program (bench/run --ablation)
};

}  // namespace wafer
