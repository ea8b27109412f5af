// wafer sweep MODEL --hw BASE --set FIELD=v1,v2,... [--set ...]: simulate
// every design of the grid, mark the Pareto-optimal ones in (latency, energy,
// area), print the table and write sweep.csv, sweep.json and sweep.html.
// --jobs runs points on threads, --shard/--results/--resume run a part of the
// sweep into an append-only results file (merged by sweep-merge), --mpi spreads
// the points over the ranks of mpirun. Every way prints what the serial run does.
#include <unistd.h>

#include <iostream>
#include <optional>

#include "api/errors.h"
#include "api/sweep.h"
#include "commands.h"
#include "model_options.h"
#include "sweep_mpi.h"
#include "sweep_output.h"

namespace wafer::cli {

namespace {

struct SweepCliOptions : api::SweepOptions {
  SweepOutputOptions output;
  bool quiet = false, mpi = false;
  std::string shard, results, resume;
};

// The part of the sweep this process runs, from --shard, --results and --resume.
api::SweepPart sweep_part(const SweepCliOptions& o) {
  api::SweepPart part;
  check(o.results.empty() || o.resume.empty(), "--results and --resume are exclusive (--resume FILE appends to FILE)");
  if (!o.shard.empty()) {
    part.shard = npu::parse_sweep_shard(o.shard);
    check(!o.results.empty() || !o.resume.empty(), "--shard ", o.shard,
          " needs --resume FILE (or --results FILE): the file the shard's points go to, for wafer sweep-merge");
  }
  part.resume = !o.resume.empty();
  part.results_path = part.resume ? o.resume : o.results;
  return part;
}

int run_sweep_command(const SweepCliOptions& o, const std::optional<MpiSession>& mpi) {
  const api::SweepPart part = sweep_part(o);
  report::parse_sweep_plot_axes(o.output.pareto);  // a bad --pareto fails before hours of simulation
  api::SweepSession session(o);
  if (mpi && mpi->rank() > 0) {
    mpi_worker(*mpi, session);
    return 0;
  }
  // On a terminal the progress line rewrites itself; in a log, one line per design.
  const bool tty = isatty(2);
  auto progress = [&](size_t i, size_t n) {
    if (!o.quiet)
      std::cerr << (tty ? "\r" : "") << "sweep: design " << i << "/" << n << (tty ? "" : "\n") << std::flush;
  };
  api::SweepRunner runner = mpi ? mpi_coordinator_runner(*mpi) : api::thread_runner(o.jobs);
  api::SweepPartRun done = api::run_sweep_part(session, part, runner, progress);
  if (!o.quiet && tty && done.evaluated) std::cerr << "\n";
  const auto& header = session.results_header();
  if (part.shard) {
    std::cout << "shard " << o.shard << " of " << sweep_title(header.model, header.hw, header.batch) << ": "
              << done.evaluated << " design(s) evaluated, " << done.reused << " already in " << part.results_path
              << "; results in " << part.results_path << " (wafer sweep-merge joins the shards' files)\n";
    return 0;
  }
  api::SweepRun run = api::assemble_sweep(session.axes(), session.size(), std::move(done.points), "");
  print_sweep(o.output, sweep_title(header.model, header.hw, header.batch), run);
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto* sub = app.add_subcommand("sweep", "Simulate a model over a grid of hardware designs; mark the Pareto front");
  auto o = std::make_shared<SweepCliOptions>();
  sub->add_option("model", o->m.model, "ONNX model file or folder with model.onnx")->required();
  sub->add_option("--hw", o->hw.preset_or_path, "Base hardware preset or YAML file")->required();
  sub->add_option("--set", o->sets, "FIELD=v1,v2,... an axis of the grid (repeatable; cartesian product)")->required();
  sub->add_option("--batch", o->m.batch, "Batch size (binds the 'batch' dimension)")->capture_default_str();
  add_precision_option(sub, o->m.precision);
  sub->add_option("--shape", o->m.shapes, "NAME=d0,d1,... fixes an input's shape, or SYMBOL=value binds a dim");
  add_sweep_output_options(sub, o->output);
  sub->add_flag("-q,--quiet", o->quiet, "No progress on stderr");
  sub->add_option("-j,--jobs", o->jobs, "Design points evaluated at once on threads (0: all cores)")
      ->capture_default_str();
  sub->add_option("--shard", o->shard,
                  "i/N: run only shard i (from 0) of N, the points whose index is i modulo N, into --resume FILE "
                  "(e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); join the files with wafer sweep-merge");
  sub->add_option("--results", o->results,
                  "Also write every design point to FILE as it completes (JSON Lines, started afresh)");
  sub->add_option("--resume", o->resume,
                  "Append every design point to FILE as it completes, skipping the points FILE already holds "
                  "(a killed sweep, restarted with the same arguments, goes on where it stopped)");
  sub->add_flag("--mpi", o->mpi,
                "Run under mpirun: rank 0 hands out points to the other ranks as they ask and prints the result");
  set_action(sub, [o]() {
    if (!o->mpi) return run_sweep_command(*o, std::nullopt);
    std::optional<MpiSession> mpi;
    mpi.emplace();
    try {
      return run_sweep_command(*o, mpi);
    } catch (const std::exception& e) {
      // The other ranks would wait for this one for ever: end them all (any exception, not only Error).
      std::cerr << "wafer: error: " << (mpi->size() > 1 ? "rank " + std::to_string(mpi->rank()) + ": " : "")
                << api::one_line(e.what()) << "\n";
      mpi_abort(2);
    }
  });
}

}  // namespace wafer::cli
