#include "api/system_sweep.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <mutex>
#include <sstream>

#include "api/llm_parallel.h"
#include "api/npu_model.h"
#include "core/error.h"
#include "core/parallel_for.h"
#include "frontend/llm/llm_config.h"
#include "npu/report/report.h"
#include "npu/system.h"

namespace wafer::api {

namespace {

bool is_split_axis(const std::string& f) {
  return f == "tp" || f == "pp" || f == "dp" || f == "ep";
}

int64_t split_value(const std::string& field, const std::string& v) {
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used == v.size() && n >= 1, "--set ", field, "=", v, ": ", field, " takes whole numbers of at least 1");
  return n;
}

SystemSweepPoint run_point(const SystemSweepOptions& o, const npu::Overrides& values, bool tp_is_chips) {
  SystemSweepPoint p;
  p.values = values;
  try {
    LlmSimOptions l = o.llm;
    npu::Overrides system_sets;
    for (const auto& [f, v] : values) {
      if (f == "tp")
        l.tp = split_value(f, v);
      else if (f == "pp")
        l.pp = split_value(f, v);
      else if (f == "dp")
        l.dp = split_value(f, v);
      else if (f == "ep")
        l.ep = split_value(f, v);
      else
        system_sets.emplace_back(f, v), l.sets.push_back(f + "=" + v);
    }
    npu::Overrides all = parse_set_options(o.llm.sets);
    all.insert(all.end(), system_sets.begin(), system_sets.end());
    const npu::SystemDesc s = npu::load_system(o.llm.hw.preset_or_path, all);
    p.system = s.name + ": " + std::to_string(s.count) + " x " + s.chip.name + " on a " +
               std::string(npu::topology_name(s.topology));
    if (tp_is_chips) l.tp = s.count;
    p.tp = l.tp, p.pp = l.pp, p.dp = l.dp, p.ep = l.ep;
    const LlmSimReport r = simulate_llm(l);
    p.ttft_s = r.ttft_s, p.tpot_s = r.tpot_s;
    p.tokens_per_s = r.tokens_per_s, p.tokens_per_s_per_user = r.tokens_per_s_per_user;
    p.energy_per_token_j = r.energy_per_token_j;
    p.power_w = r.energy_per_token_j * r.tokens_per_s;
    p.cost_usd = r.cost ? r.cost->system_cost_usd : 0;
    p.comm_fraction = r.comm_fraction;
    p.contention =
        std::max({r.prefill.tp_contention, r.decode.tp_contention, r.prefill.ep_contention, r.decode.ep_contention});
    p.ok = true;
  } catch (const UnsupportedError&) {
    throw;
  } catch (const Error& e) {
    p.error = e.what();  // an invalid system or a model that does not fit is a result
  }
  return p;
}

// Runs point(i) for every point on `jobs` threads, reporting each start to progress (one at a time).
void for_each_point(size_t n, int jobs, const npu::SweepProgress& progress, const std::function<void(size_t)>& point) {
  size_t started = 0;
  std::mutex m;
  parallel_for(n, jobs, [&](size_t i) {
    if (progress) {
      std::lock_guard lock(m);
      progress(++started, n);
    }
    point(i);
  });
}

// A field the description does not have fails every point: say so once, before any runs.
void check_system_field(const std::string& system, const npu::Overrides& base, const npu::SweepAxis& a) {
  for (const auto& v : a.values) {
    npu::Overrides one = base;
    one.emplace_back(a.field, v);
    try {
      npu::load_system(system, one);
    } catch (const Error& e) {
      const std::string m = e.what();
      if (m.find(a.field + ": unknown field") != std::string::npos ||
          m.find("override '" + a.field + "'") != std::string::npos)
        fail("--set ", a.field, ": not a field of the system ", system,
             " (count, topology, dims, links.per_chip, links.bandwidth, links.latency, links.pj_per_byte, ...; "
             "docs/SYSTEMS.md): ",
             m);
    }
  }
}

// One system of a model sweep: the model data parallel on its chips (api::simulate).
npu::SweepPoint run_model_point(const SweepOptions& o, const npu::Overrides& values) {
  npu::SweepPoint p;
  p.values = values;
  SimOptions s;
  s.m = o.m;
  s.hw = o.hw;
  for (const auto& [field, value] : values) s.sets.push_back(field + "=" + value);
  try {
    const npu::SimResult r = simulate(s, false).result;
    p.hw_name = r.hw_name;
    npu::set_point_results(p, r);
  } catch (const UnsupportedError&) {
    throw;
  } catch (const Error& e) {
    p.error = e.what();  // an invalid system is a result
  }
  return p;
}

}  // namespace

SweepRun sweep_system_model(const SweepOptions& o, const npu::SweepProgress& progress) {
  check(npu::is_system(o.hw.preset_or_path), "--hw ", o.hw.preset_or_path, " is not a system of chips");
  SweepRun run;
  run.axes = npu::parse_sweep_axes(o.sets);
  for (const auto& a : run.axes) {
    check(!is_split_axis(a.field), "--set ", a.field, ": ", o.m.model,
          " is not an LLM architecture, so it runs data parallel on every chip of the system (tp, pp, dp and ep "
          "split LLMs: config.json; docs/SYSTEMS.md)");
    check_system_field(o.hw.preset_or_path, {}, a);
  }
  const std::vector<npu::Overrides> grid = npu::expand_grid(run.axes);
  run.points.resize(grid.size());
  for_each_point(grid.size(), o.jobs, progress, [&](size_t i) { run.points[i] = run_model_point(o, grid[i]); });
  npu::mark_pareto(run.points);
  return run;
}

SystemSweepRun sweep_system(const SystemSweepOptions& o, const npu::SweepProgress& progress) {
  check(npu::is_system(o.llm.hw.preset_or_path), "--hw ", o.llm.hw.preset_or_path,
        " is not a system of chips (a sweep over a chip's fields takes an ONNX model; wafer hw --list)");
  check(llm::is_llm_config_path(o.llm.model), o.llm.model,
        ": a sweep over a system simulates an LLM architecture (config.json; docs/SYSTEMS.md)");
  SystemSweepRun run;
  run.axes = npu::parse_sweep_axes(o.sets);
  bool split_axis = false;
  const npu::Overrides base = parse_set_options(o.llm.sets);
  for (const auto& a : run.axes) {
    if (is_split_axis(a.field)) {
      for (const auto& v : a.values) split_value(a.field, v);
      split_axis = true;
      continue;
    }
    check_system_field(o.llm.hw.preset_or_path, base, a);
  }
  const bool tp_is_chips = !split_axis && o.llm.tp == 1 && o.llm.pp == 1 && o.llm.dp == 1 && o.llm.ep == 1;
  const std::vector<npu::Overrides> grid = npu::expand_grid(run.axes);
  run.points.resize(grid.size());
  for_each_point(grid.size(), o.jobs, progress, [&](size_t i) { run.points[i] = run_point(o, grid[i], tp_is_chips); });
  std::vector<std::vector<double>> objectives;
  std::vector<size_t> index;
  for (size_t i = 0; i < run.points.size(); ++i)
    if (run.points[i].ok) {
      const SystemSweepPoint& p = run.points[i];
      objectives.push_back({p.tpot_s, p.energy_per_token_j, p.cost_usd});
      index.push_back(i);
    }
  const std::vector<bool> front = report::pareto_front(objectives);
  for (size_t k = 0; k < index.size(); ++k) run.points[index[k]].pareto = front[k];
  return run;
}

std::string system_sweep_table(const SystemSweepRun& run) {
  std::vector<std::string> header = {"#"};
  for (const auto& a : run.axes) header.push_back(a.field);
  for (const char* h : {"split", "TTFT (ms)", "TPOT (ms)", "tokens/s", "per user", "J/token", "power (W)", "tokens/s/W",
                        "cost ($)", "tokens/s/$", "comm", "contention", "pareto"})
    header.push_back(h);
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < run.points.size(); ++i) {
    const SystemSweepPoint& p = run.points[i];
    std::vector<std::string> row = {std::to_string(i + 1)};
    for (const auto& [_, v] : p.values) row.push_back(v);
    if (p.ok) {
      row.push_back(ParallelSplit{p.tp, p.pp, p.dp, p.ep}.flags());
      row.push_back(report::format_number(p.ttft_s * 1e3, "%.4g"));
      row.push_back(report::format_number(p.tpot_s * 1e3, "%.4g"));
      row.push_back(report::format_number(p.tokens_per_s, "%.5g"));
      row.push_back(report::format_number(p.tokens_per_s_per_user, "%.4g"));
      row.push_back(report::format_number(p.energy_per_token_j, "%.4g"));
      row.push_back(report::format_number(p.power_w, "%.4g"));
      row.push_back(report::format_number(p.perf_per_w(), "%.4g"));
      row.push_back(p.cost_usd > 0 ? report::format_number(p.cost_usd, "%.0f") : "-");
      row.push_back(p.cost_usd > 0 ? report::format_number(p.perf_per_usd(), "%.4g") : "-");
      row.push_back(report::format_number(100 * p.comm_fraction, "%.3g") + " %");
      row.push_back(report::format_number(p.contention, "%.3g"));
      row.push_back(p.pareto ? "*" : "");
    } else {
      row.push_back("invalid: " + p.error);
    }
    rows.push_back(std::move(row));
  }
  std::ostringstream out;
  out << report::aligned_table(header, rows);
  const auto ok = std::count_if(run.points.begin(), run.points.end(), [](const auto& p) { return p.ok; });
  const auto front = std::count_if(run.points.begin(), run.points.end(), [](const auto& p) { return p.pareto; });
  out << run.points.size() << " system(s), " << ok << " valid, " << front
      << " Pareto-optimal (*: not dominated in TPOT, energy per token and cost)\n";
  return out.str();
}

nlohmann::json system_sweep_json(const SystemSweepRun& run) {
  nlohmann::json j;
  j["axes"] = nlohmann::json::array();
  for (const auto& a : run.axes) j["axes"].push_back({{"field", a.field}, {"values", a.values}});
  j["points"] = nlohmann::json::array();
  for (const SystemSweepPoint& p : run.points) {
    nlohmann::json v = nlohmann::json::object();
    for (const auto& [f, val] : p.values) v[f] = val;
    nlohmann::json row = {{"values", v}, {"valid", p.ok}, {"pareto", p.pareto}};
    if (p.ok) {
      row["system"] = p.system;
      row["tp"] = p.tp, row["pp"] = p.pp, row["dp"] = p.dp, row["ep"] = p.ep;
      row["ttft_s"] = p.ttft_s, row["tpot_s"] = p.tpot_s;
      row["tokens_per_s"] = p.tokens_per_s, row["tokens_per_s_per_user"] = p.tokens_per_s_per_user;
      row["energy_per_token_j"] = p.energy_per_token_j, row["power_w"] = p.power_w;
      row["perf_per_w"] = p.perf_per_w(), row["cost_usd"] = p.cost_usd, row["perf_per_usd"] = p.perf_per_usd();
      row["comm_fraction"] = p.comm_fraction, row["contention"] = p.contention;
    } else {
      row["error"] = p.error;
    }
    j["points"].push_back(row);
  }
  return j;
}

}  // namespace wafer::api
