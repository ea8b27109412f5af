// wafer sweep MODEL --hw BASE --set FIELD=v1,v2,... [--set ...]: simulate
// every design of the grid, mark the Pareto-optimal ones in (latency, energy,
// area), print the table and write sweep.csv, sweep.json and sweep.html.
// --jobs runs points on threads, --shard/--results/--resume run a part of the
// sweep into an append-only results file (merged by sweep-merge), --mpi spreads
// the points over the ranks of mpirun. Every way prints what the serial run does.
// With a system of chips for --hw and an LLM config for the model, the axes are the system's fields
// and the split's factors, and every point is an LLM simulation (api/system_sweep.h).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "api/errors.h"
#include "api/sweep.h"
#include "api/system_sweep.h"
#include "commands.h"
#include "frontend/llm/llm_config.h"
#include "model_options.h"
#include "npu/report/report.h"
#include "npu/system.h"
#include "sweep_mpi.h"
#include "sweep_output.h"

namespace wafer::cli {

namespace {

struct SweepCliOptions : api::SweepOptions {
  SweepOutputOptions output;
  bool quiet = false, mpi = false;
  std::string shard, results, resume;
  int64_t prompt_len = 128, gen_len = 128, tp = 1, pp = 1, dp = 1, ep = 1;  // system sweeps
};

int run_system_sweep_command(const SweepCliOptions& o) {
  check(o.shard.empty() && o.results.empty() && o.resume.empty() && !o.mpi,
        "--shard, --results, --resume and --mpi are for sweeps over a chip's fields, not over a system");
  const bool tty = isatty(2);
  if (!llm::is_llm_config_path(o.m.model)) {  // any other model: data parallel on each point's system
    auto progress = [&](size_t i, size_t n) {
      if (!o.quiet)
        std::cerr << (tty ? "\r" : "") << "sweep: system " << i << "/" << n << (tty ? "" : "\n") << std::flush;
    };
    const api::SweepRun run = api::sweep_system_model(o, progress);
    if (!o.quiet && tty) std::cerr << "\n";
    print_sweep(o.output, sweep_title(o.m.model, o.hw.preset_or_path, o.m.batch), run);
    return 0;
  }
  api::SystemSweepOptions s;
  s.llm.model = o.m.model;
  s.llm.hw = o.hw;
  s.llm.precision = o.m.precision;
  s.llm.batch = o.m.batch;
  s.llm.prompt_len = o.prompt_len, s.llm.gen_len = o.gen_len;
  s.llm.tp = o.tp, s.llm.pp = o.pp, s.llm.dp = o.dp, s.llm.ep = o.ep;
  s.sets = o.sets;
  s.jobs = o.jobs;
  auto progress = [&](size_t i, size_t n) {
    if (!o.quiet)
      std::cerr << (tty ? "\r" : "") << "sweep: system " << i << "/" << n << (tty ? "" : "\n") << std::flush;
  };
  const api::SystemSweepRun run = api::sweep_system(s, progress);
  if (!o.quiet && tty) std::cerr << "\n";
  const nlohmann::json j = api::system_sweep_json(run);
  if (!o.output.out.empty())
    report::write_text_file((std::filesystem::path(o.output.out) / "sweep.json").string(), j.dump(2) + "\n");
  if (o.output.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "sweep of " << o.m.model << " over " << o.hw.preset_or_path << " (batch " << o.m.batch << ", prompt "
              << o.prompt_len << ", generate " << o.gen_len << ")\n"
              << api::system_sweep_table(run);
    if (!o.output.out.empty()) std::cout << "written to " << o.output.out << " (sweep.json)\n";
  }
  return 0;
}

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
  sub->add_option("model", o->m.model, "ONNX model file or folder with model.onnx, or an LLM config.json (over a system)")
      ->required();
  sub->add_option("--hw", o->hw.preset_or_path, "Base hardware preset or YAML file, or a system of chips")->required();
  sub->add_option(
         "--set", o->sets,
         "FIELD=v1,v2,... an axis of the grid (repeatable; cartesian product); for a system also tp, pp, dp, ep")
      ->required();
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
  sub->add_option("--prompt-len", o->prompt_len, "System sweeps: prompt tokens")->capture_default_str();
  sub->add_option("--gen-len", o->gen_len, "System sweeps: generated tokens")->capture_default_str();
  sub->add_option("--tp", o->tp, "System sweeps: tensor parallelism (default: every chip of each system)");
  sub->add_option("--pp", o->pp, "System sweeps: pipeline stages");
  sub->add_option("--dp", o->dp, "System sweeps: data-parallel replicas");
  sub->add_option("--ep", o->ep, "System sweeps: expert parallelism");
  set_action(sub, [o]() {
    if (npu::is_system(o->hw.preset_or_path)) return run_system_sweep_command(*o);
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
