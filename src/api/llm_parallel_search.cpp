// `wafer sim CONFIG --hw SYSTEM --parallel auto`: the splits of a system's chips, each simulated by
// simulate_llm and ranked (api/llm_sim.h).
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "api/llm_parallel.h"
#include "api/llm_sim.h"
#include "api/npu_model.h"
#include "core/error.h"
#include "frontend/llm/llm_config.h"
#include "npu/system.h"

namespace wafer::api {

namespace {

std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i <= n; ++i)
    if (n % i == 0) d.push_back(i);
  return d;
}

std::string why(const LlmSimReport& r) {
  std::ostringstream o;
  o << std::setprecision(3);
  const LlmMemoryLevel& m = r.memory.front();
  o << double(m.used_bytes) / 1e9 << " of " << double(m.capacity_bytes) / 1e9 << " GB per chip ("
    << 100.0 * double(m.used_bytes) / double(m.capacity_bytes) << " %), comm " << 100 * r.comm_fraction
    << " % of the request, bubble " << 100 * r.pipeline_bubble << " %";
  const double contention =
      std::max({r.prefill.tp_contention, r.decode.tp_contention, r.prefill.ep_contention, r.decode.ep_contention});
  if (contention > 1) o << ", link contention x" << contention;
  return o.str();
}

}  // namespace

std::vector<LlmParallelChoice> search_llm_parallel(const LlmSimOptions& options, double max_tpot_s) {
  check(options.hw.yaml_text.empty() && npu::is_system(options.hw.preset_or_path),
        "--parallel auto needs a system of chips for --hw (e.g. dgx-h100: wafer hw --list)");
  check(llm::is_llm_config_path(options.model), "--parallel auto needs an LLM architecture (config.json)");
  check(max_tpot_s >= 0, "--max-tpot-ms must be at least 0, got ", max_tpot_s * 1e3);
  const npu::SystemDesc system = npu::load_system(options.hw.preset_or_path, parse_set_options(options.sets));
  const llm::LlmConfig full = llm::load_llm_config(options.model);
  std::vector<LlmParallelChoice> out;
  std::string last_error;
  // Every chip used: tp x pp x ep x dp = the system's count (fewer chips only lower total tokens/s).
  for (int64_t tp : divisors(system.count))
    for (int64_t pp : divisors(system.count / tp))
      for (int64_t ep : divisors(system.count / tp / pp)) {
        const ParallelSplit split{tp, pp, system.count / tp / pp / ep, ep};
        if (!split_runs(split, full, system)) continue;
        LlmSimOptions o = options;
        o.tp = split.tp, o.pp = split.pp, o.dp = split.dp, o.ep = split.ep;
        try {
          LlmParallelChoice c;
          c.report = simulate_llm(o);
          c.why = why(c.report);
          c.within_bound = max_tpot_s <= 0 || c.report.tpot_s <= max_tpot_s;
          out.push_back(std::move(c));
        } catch (const UnsupportedError&) {
          throw;
        } catch (const Error& e) {
          last_error = e.what();  // does not fit: not a candidate
        }
      }
  check(!out.empty(), options.model, ": no split of the ", system.count, " chips of ", system.name, " fits (",
        last_error, ")");
  std::stable_sort(out.begin(), out.end(), [](const LlmParallelChoice& a, const LlmParallelChoice& b) {
    if (a.within_bound != b.within_bound) return a.within_bound;
    return a.report.tokens_per_s > b.report.tokens_per_s;
  });
  return out;
}

std::string llm_parallel_table(const std::vector<LlmParallelChoice>& choices, size_t top) {
  std::ostringstream o;
  o << std::setprecision(4);
  if (choices.empty()) return "";
  const LlmSimReport& f = choices.front().report;
  o << f.model << " on " << f.system_name << ": " << choices.size()
    << " splits fit; ranked by total tokens/s (TPOT bound first)\n";
  o << "  " << std::left << std::setw(28) << "split" << std::right << std::setw(12) << "tokens/s" << std::setw(12)
    << "per user" << std::setw(11) << "TTFT ms" << std::setw(10) << "TPOT ms"
    << "  why\n";
  for (size_t i = 0; i < choices.size() && i < top; ++i) {
    const LlmParallelChoice& c = choices[i];
    const LlmSimReport& r = c.report;
    const ParallelSplit s{r.tp, r.pp, r.dp, r.ep};
    o << "  " << std::left << std::setw(28) << s.flags() + (c.within_bound ? "" : " (TPOT over)") << std::right
      << std::setw(12) << r.tokens_per_s << std::setw(12) << r.tokens_per_s_per_user << std::setw(11) << r.ttft_s * 1e3
      << std::setw(10) << r.tpot_s * 1e3 << "  " << c.why << "\n";
  }
  return o.str();
}

}  // namespace wafer::api
