// Sweeping a model over a grid of hardware designs: what `wafer sweep`, `wafer sweep-merge` and
// wafer.sweep do. A sweep runs in one process (jobs threads), or in parts: shards (`--shard i/N`),
// resumed runs (`--resume FILE`) and MPI ranks, whose points meet again in results files
// (npu/report/sweep_results.h) and come out exactly as the serial run's.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/simulate.h"
#include "npu/evaluate.h"
#include "npu/report/sweep_results.h"
#include "npu/sweep.h"

namespace wafer::api {

struct SweepOptions {
  NpuModelArgs m;
  HardwareSource hw;              // the base design
  std::vector<std::string> sets;  // FIELD=v1,v2,... one axis each (cartesian product)
  int jobs = 1;                   // threads evaluating design points at once; 0: all cores
};

struct SweepRun {
  std::vector<npu::SweepAxis> axes;
  std::vector<npu::SweepPoint> points;
};

// The model is optimized once and lowered for every design; an invalid point is a result, not an error.
SweepRun sweep(const SweepOptions& options, const npu::SweepProgress& progress = {});

// A sweep ready to run: its axes and grid, and the model optimized once. evaluate() may be called
// from several threads at once (each design point lowers and simulates its own copy of the work).
class SweepSession {
 public:
  explicit SweepSession(const SweepOptions& options);
  const std::vector<npu::SweepAxis>& axes() const { return axes_; }
  size_t size() const { return grid_.size(); }
  npu::SweepPoint evaluate(size_t index) const;
  // What a results file of this sweep starts with: the fingerprint of the arguments and the title.
  const report::SweepResultsHeader& results_header() const { return header_; }

 private:
  SweepOptions options_;
  std::vector<npu::SweepAxis> axes_;
  std::vector<npu::Overrides> grid_;
  npu::NpuCompileOptions compile_options_;
  npu::PreparedBatches model_;
  report::SweepResultsHeader header_;
};

// A hash of everything that decides a sweep's results: the model file's bytes, the base hardware
// (name or path, or the description's text), the axes, batch, precision and shapes. 16 hex digits.
std::string sweep_fingerprint(const SweepOptions& options);

// Evaluates the points `todo` of a session, calling done(index, point) once for each as it completes
// (never from two threads at once). The thread pool (jobs) is one runner; MPI is another (tools/wafer).
using SweepPointDone = std::function<void(size_t, npu::SweepPoint&&)>;
using SweepRunner = std::function<void(const SweepSession&, const std::vector<size_t>& todo, const SweepPointDone&)>;
SweepRunner thread_runner(int jobs);

// The part of a sweep one process runs, and where its results go.
struct SweepPart {
  std::optional<npu::SweepShard> shard;  // none: every point
  std::string results_path;              // empty: no results file
  bool resume = false;                   // keep the points results_path holds and run only the others
};

struct SweepPartRun {
  std::map<size_t, npu::SweepPoint> points;  // by grid index: the reused ones and the new ones
  size_t reused = 0, evaluated = 0;
};

// Runs the part: reads the points a resumed results file already has (refusing another sweep's
// file), evaluates the rest of the shard with `runner`, appending each to the results file as it
// completes. progress(i, n) counts the points evaluated in this run.
SweepPartRun run_sweep_part(const SweepSession& session, const SweepPart& part, const SweepRunner& runner,
                            const npu::SweepProgress& progress = {});

// The whole sweep from its points by index, in grid order, with the Pareto front marked; throws
// naming how many points are missing and which (the first few) when some are.
SweepRun assemble_sweep(const std::vector<npu::SweepAxis>& axes, size_t total, std::map<size_t, npu::SweepPoint> points,
                        const std::string& missing_hint);

// `wafer sweep-merge`: the results files of one sweep (shards, resumed runs, in any order and with
// repeats) into the serial sweep's result and its header (the title). Files of different sweeps,
// malformed lines and missing points are errors naming the file.
struct MergedSweep {
  report::SweepResultsHeader header;
  SweepRun run;
};
MergedSweep merge_sweep_results(const std::vector<std::string>& paths);

}  // namespace wafer::api
