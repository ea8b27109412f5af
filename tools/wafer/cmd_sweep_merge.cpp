// wafer sweep-merge FILE... : the results files of one sweep's shards (or resumed runs) into the
// serial sweep's output: the same table or --json on stdout, the same sweep.csv, sweep.json and
// sweep.html in --out.
#include "api/sweep.h"
#include "commands.h"
#include "sweep_output.h"

namespace wafer::cli {

void add_sweep_merge_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sweep-merge", "Join the results files of a sweep's shards (--shard/--resume) into the whole sweep's report");
  struct Opts {
    std::vector<std::string> files;
    SweepOutputOptions output;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("files", o->files, "Results files (JSON Lines) of one sweep, in any order")->required();
  add_sweep_output_options(sub, o->output);
  set_action(sub, [o]() {
    report::parse_sweep_plot_axes(o->output.pareto);
    api::MergedSweep merged = api::merge_sweep_results(o->files);
    print_sweep(o->output, sweep_title(merged.header.model, merged.header.hw, merged.header.batch), merged.run);
    return 0;
  });
}

}  // namespace wafer::cli
