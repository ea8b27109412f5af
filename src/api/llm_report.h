// The LLM simulation as a page (report.html of `wafer sim MODEL --prompt-len P --gen-len G --out DIR`):
// the summary, the per-phase breakdown (prefill and decode: time, communication, utilization, traffic,
// energy, where the time goes by op type), memory per level, and the latency–throughput curve.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/llm_sim.h"

namespace wafer::api {

// One batch size of the latency–throughput curve: the same request simulated at that batch.
struct LlmCurvePoint {
  int64_t batch = 0;
  double ttft_s = 0, tpot_s = 0;
  double decode_tokens_per_s = 0;    // batch / TPOT: the serving rate once prefill is done
  double tokens_per_s = 0;           // over the whole request, prefill included
  double tokens_per_s_per_user = 0;  // 1 / TPOT
};

// The request of `options` at batch 1, 2, 4, ... up to `max_batch` (and max_batch itself), as long as
// the deployment fits: the first batch that does not fit ends the curve.
std::vector<LlmCurvePoint> llm_latency_throughput(const LlmSimOptions& options, int64_t max_batch);

nlohmann::json llm_curve_json(const std::vector<LlmCurvePoint>& curve);

// One self-contained page (inline SVG, no scripts).
std::string llm_sim_html(const LlmSimReport& report, const std::vector<LlmCurvePoint>& curve);

}  // namespace wafer::api
