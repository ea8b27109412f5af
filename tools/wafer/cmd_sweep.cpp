// wafer sweep MODEL --hw BASE --set FIELD=v1,v2,... [--set ...]: simulate
// every design of the grid, mark the Pareto-optimal ones in (latency, energy,
// area), print the table and write sweep.csv and sweep.json.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "api/sweep.h"
#include "commands.h"
#include "model_options.h"
#include "npu/report/report.h"
#include "npu/report/sweep_report.h"

namespace wafer::cli {

void add_sweep_command(CLI::App& app) {
  auto* sub = app.add_subcommand("sweep", "Simulate a model over a grid of hardware designs; mark the Pareto front");
  struct Opts : api::SweepOptions {
    std::string out = ".";
    bool json = false, quiet = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->m.model, "ONNX model file or folder with model.onnx")->required();
  sub->add_option("--hw", o->hw.preset_or_path, "Base hardware preset or YAML file")->required();
  sub->add_option("--set", o->sets, "FIELD=v1,v2,... an axis of the grid (repeatable; cartesian product)")->required();
  sub->add_option("--batch", o->m.batch, "Batch size (binds the 'batch' dimension)")->capture_default_str();
  add_precision_option(sub, o->m.precision);
  sub->add_option("--shape", o->m.shapes, "NAME=d0,d1,... fixes an input's shape, or SYMBOL=value binds a dim");
  sub->add_option("--out", o->out, "Folder for sweep.csv and sweep.json (empty: do not write)")->capture_default_str();
  sub->add_flag("--json", o->json, "Print the result as JSON instead of the table");
  sub->add_flag("-q,--quiet", o->quiet, "No progress on stderr");
  set_action(sub, [o]() {
    // On a terminal the progress line rewrites itself; in a log, one line per design.
    const bool tty = isatty(2);
    auto progress = [&](size_t i, size_t n) {
      if (!o->quiet)
        std::cerr << (tty ? "\r" : "") << "sweep: design " << i << "/" << n << (tty ? "" : "\n") << std::flush;
    };
    api::SweepRun run = api::sweep(*o, progress);
    const auto& axes = run.axes;
    const auto& points = run.points;
    if (!o->quiet && tty) std::cerr << "\n";
    if (!o->out.empty()) {
      std::filesystem::path dir(o->out);
      report::write_text_file((dir / "sweep.csv").string(), report::sweep_csv(axes, points));
      report::write_text_file((dir / "sweep.json").string(), report::sweep_json(axes, points).dump(2) + "\n");
    }
    if (o->json) {
      std::cout << report::sweep_json(axes, points).dump(2) << "\n";
    } else {
      std::cout << "sweep of " << api::model_display_name(o->m.model) << " over " << o->hw.preset_or_path << " (batch "
                << o->m.batch << ")\n"
                << report::sweep_table(axes, points);
      if (!o->out.empty()) std::cout << "written to " << o->out << " (sweep.csv, sweep.json)\n";
    }
    return 0;
  });
}

}  // namespace wafer::cli
