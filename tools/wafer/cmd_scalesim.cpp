// wafer scalesim -c CONFIG.cfg -t TOPOLOGY.csv [-i conv|gemm] -p OUTDIR
// SCALE-Sim v2 compatible reports from Wafer's closed-form systolic timing.
#include <chrono>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "npu/scalesim/config.h"
#include "npu/scalesim/report.h"
#include "npu/scalesim/timing.h"
#include "npu/scalesim/topology.h"

namespace wafer::cli {

void add_scalesim_command(CLI::App& app) {
  auto* sub = app.add_subcommand("scalesim", "SCALE-Sim v2 compatible systolic-array timing reports");
  struct Opts {
    std::string config, topology, input_type = "conv", outdir = ".";
    bool quiet = false, py312_sum = false, legacy_waits = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("-c,--config", o->config, "SCALE-Sim .cfg file")->required();
  sub->add_option("-t,--topology", o->topology, "topology CSV")->required();
  sub->add_option("-i,--input-type", o->input_type, "topology layout: conv or gemm")
      ->check(CLI::IsMember({"conv", "gemm"}));
  sub->add_option("-p,--outdir", o->outdir, "output folder; reports go to OUTDIR/<run_name>/");
  sub->add_flag("--py312-sum", o->py312_sum,
                "average utilisations with Python 3.12's compensated sum() (last-digit compatibility)");
  sub->add_flag("--legacy-read-waits", o->legacy_waits,
                "count USER-mode read waits as SCALE-Sim did before commit 22f88b1 (2025-02-25; its USER goldens)");
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  set_action(sub, [o]() {
    using namespace wafer::scalesim;
    auto t0 = std::chrono::steady_clock::now();
    Config cfg = parse_config_file(o->config);
    cfg.compensated_sum = o->py312_sum;
    cfg.legacy_double_wait = o->legacy_waits;
    auto kind = o->input_type == "gemm" ? TopologyKind::kGemm : TopologyKind::kConv;
    std::vector<Layer> layers = parse_topology_file(o->topology, kind);
    std::vector<LayerResult> results;
    results.reserve(layers.size());
    int64_t total = 0, stalls = 0;
    for (const Layer& l : layers) {
      results.push_back(simulate_layer(cfg, l));
      total += results.back().total_cycles;
      stalls += results.back().stall_cycles;
    }
    std::string dir = o->outdir + "/" + cfg.run_name;
    write_reports(dir, results);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!o->quiet) {
      std::cout << "scalesim: " << layers.size() << " layer(s), " << cfg.array_height << "x" << cfg.array_width << " "
                << dataflow_name(cfg.dataflow) << ", " << (cfg.user_bandwidth ? "USER" : "CALC")
                << " bandwidth\n  total cycles " << total << ", stall cycles " << stalls << "\n  reports in " << dir
                << " (" << secs * 1000 << " ms)\n";
    }
    return 0;
  });
}

}  // namespace wafer::cli
