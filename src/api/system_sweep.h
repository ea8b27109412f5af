// `wafer sweep CONFIG.json --hw SYSTEM --set FIELD=v1,v2,...`: an LLM over a grid of systems of chips
// (docs/SYSTEMS.md, "Sweeps over systems"). The axes are the system's fields (count, topology, dims,
// links.bandwidth, links.latency, ... as load_system's overrides) and the split's factors tp, pp, dp,
// ep. Every point is simulated by simulate_llm; a point that fails (an invalid value, a model that does
// not fit) is a result with its error. The Pareto front is over (TPOT, energy per token, cost), all
// minimised, as a chip sweep's is over (latency, energy, area).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/llm_sim.h"
#include "api/sweep.h"
#include "npu/sweep.h"

namespace wafer::api {

struct SystemSweepOptions {
  LlmSimOptions llm;              // model, base system (hw), prompt, generation, batch; tp..ep when not axes
  std::vector<std::string> sets;  // FIELD=v1,v2,... one axis each (cartesian product)
  int jobs = 1;                   // points simulated at once on threads; 0: all cores
};

struct SystemSweepPoint {
  npu::Overrides values;
  bool ok = false;
  std::string error;
  std::string system;  // the point's system: "name: count x chip on a topology"
  int64_t tp = 1, pp = 1, dp = 1, ep = 1;
  double ttft_s = 0, tpot_s = 0, tokens_per_s = 0, tokens_per_s_per_user = 0;
  double energy_per_token_j = 0, power_w = 0, cost_usd = 0;  // cost 0: the chip has no cost section
  double comm_fraction = 0, contention = 1;                  // contention: the larger of all-reduces' and all-to-alls'
  double perf_per_w() const { return power_w > 0 ? tokens_per_s / power_w : 0; }
  double perf_per_usd() const { return cost_usd > 0 ? tokens_per_s / cost_usd : 0; }
  bool pareto = false;
};

struct SystemSweepRun {
  std::vector<npu::SweepAxis> axes;
  std::vector<SystemSweepPoint> points;
};

// The split axes: tp, pp, dp, ep take positive integers. With none of them an axis and the options' split
// 1 x 1 x 1 x 1, each point uses tp = its system's chip count. A field the system description does not
// have is an error naming it (before any point runs); a bad value is that point's error.
SystemSweepRun sweep_system(const SystemSweepOptions& options, const npu::SweepProgress& progress = {});

// `wafer sweep MODEL.onnx --hw SYSTEM --set count=1,2,4,8`: a model that is not an LLM architecture runs data
// parallel on each point's system, as `wafer sim MODEL --hw SYSTEM` does (api/simulate.h: shares of the batch
// per chip); each point is a chip sweep's point with the system's totals (throughput, energy and area of all
// its chips, cost with the network). The axes are the system's fields; tp, pp, dp and ep are errors.
SweepRun sweep_system_model(const SweepOptions& options, const npu::SweepProgress& progress = {});

std::string system_sweep_table(const SystemSweepRun& run);
nlohmann::json system_sweep_json(const SystemSweepRun& run);

}  // namespace wafer::api
