#include "sweep_output.h"

#include <filesystem>
#include <iostream>

#include "npu/report/report.h"

namespace wafer::cli {

void add_sweep_output_options(CLI::App* sub, SweepOutputOptions& o) {
  sub->add_option("--out", o.out, "Folder for sweep.csv, sweep.json and sweep.html (empty: do not write)")
      ->capture_default_str();
  sub->add_flag("--json", o.json, "Print the result as JSON instead of the table");
  sub->add_option("--pareto", o.pareto,
                  "The two metrics sweep.html plots, with their Pareto front: x=M,y=M out of latency, throughput, "
                  "energy, area, cycles")
      ->capture_default_str();
}

std::string sweep_title(const std::string& model, const std::string& hw, int batch) {
  return "sweep of " + model + " over " + hw + " (batch " + std::to_string(batch) + ")";
}

void print_sweep(const SweepOutputOptions& o, const std::string& title, const api::SweepRun& run) {
  const auto plot = report::parse_sweep_plot_axes(o.pareto);
  if (!o.out.empty()) {
    std::filesystem::path dir(o.out);
    report::write_text_file((dir / "sweep.csv").string(), report::sweep_csv(run.axes, run.points));
    report::write_text_file((dir / "sweep.json").string(), report::sweep_json(run.axes, run.points).dump(2) + "\n");
    report::write_text_file((dir / "sweep.html").string(), report::sweep_html(title, run.axes, run.points, plot));
  }
  if (o.json) {
    std::cout << report::sweep_json(run.axes, run.points).dump(2) << "\n";
  } else {
    std::cout << title << "\n" << report::sweep_table(run.axes, run.points);
    if (!o.out.empty()) std::cout << "written to " << o.out << " (sweep.csv, sweep.json, sweep.html)\n";
  }
}

}  // namespace wafer::cli
