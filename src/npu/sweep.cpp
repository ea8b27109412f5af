#include "npu/sweep.h"

#include <mutex>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/parallel_for.h"
#include "npu/report/report.h"

namespace wafer::npu {

std::vector<SweepAxis> parse_sweep_axes(const std::vector<std::string>& specs) {
  std::vector<SweepAxis> axes;
  std::set<std::string> seen;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    check(eq != std::string::npos && eq > 0, "--set expects FIELD=v1,v2,..., got '", spec, "'");
    SweepAxis axis;
    axis.field = spec.substr(0, eq);
    check(seen.insert(axis.field).second, "--set ", axis.field, " given twice (list all its values in one --set)");
    std::string rest = spec.substr(eq + 1);
    size_t pos = 0;
    // Commas inside [...] or {...} belong to a value (a list field: dims=[4,4],[2,8]).
    auto next_comma = [&rest](size_t from) {
      int depth = 0;
      for (size_t i = from; i < rest.size(); ++i) {
        if (rest[i] == '[' || rest[i] == '{') ++depth;
        if (rest[i] == ']' || rest[i] == '}') --depth;
        if (rest[i] == ',' && depth == 0) return i;
      }
      return std::string::npos;
    };
    while (true) {
      size_t comma = next_comma(pos);
      std::string v = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      check(!v.empty(), "--set ", spec, ": empty value");
      axis.values.push_back(v);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::vector<Overrides> expand_grid(const std::vector<SweepAxis>& axes, size_t max_points) {
  size_t total = 1;
  for (const auto& a : axes) {
    check(!a.values.empty(), "sweep axis ", a.field, " has no values");
    check(total <= max_points / a.values.size(), "sweep grid has more than ", max_points, " points");
    total *= a.values.size();
  }
  std::vector<Overrides> grid;
  grid.reserve(total);
  std::vector<size_t> idx(axes.size(), 0);
  for (size_t n = 0; n < total; ++n) {
    Overrides o;
    for (size_t a = 0; a < axes.size(); ++a) o.emplace_back(axes[a].field, axes[a].values[idx[a]]);
    grid.push_back(std::move(o));
    for (size_t a = axes.size(); a-- > 0;) {  // odometer: last axis fastest
      if (++idx[a] < axes[a].values.size()) break;
      idx[a] = 0;
    }
  }
  return grid;
}

std::vector<SweepPoint> run_sweep(const std::string& base_hw, const std::vector<SweepAxis>& axes,
                                  const DesignEvaluator& evaluate, const SweepProgress& progress, int jobs) {
  auto load = [&base_hw](const Overrides& overrides) { return load_hardware(base_hw, overrides); };
  return run_sweep(HardwareLoader(load), axes, evaluate, progress, jobs);
}

void set_point_results(SweepPoint& p, const SimResult& r) {
  p.cycles = r.cycles;
  p.latency_s = r.latency_s;
  p.throughput_samples_per_s = r.throughput_samples_per_s;
  p.energy_j = r.energy_j;
  p.area_mm2 = r.area_mm2;
  p.power_w = r.power_w();
  p.cost_usd = r.cost ? r.cost->capex_usd * r.chips + r.network_usd : 0;
  p.ok = true;
}

SweepPoint evaluate_sweep_point(const HardwareLoader& load, const Overrides& values, const DesignEvaluator& evaluate) {
  SweepPoint p;
  p.values = values;
  try {
    HardwareDesc hw = load(values);
    p.hw_name = hw.name;
    set_point_results(p, evaluate(hw));
  } catch (const Error& e) {
    // Invalid designs are results of the sweep, not failures of it.
    p.error = e.what();
  }
  return p;
}

std::vector<SweepPoint> run_sweep(const HardwareLoader& load, const std::vector<SweepAxis>& axes,
                                  const DesignEvaluator& evaluate, const SweepProgress& progress, int jobs) {
  std::vector<Overrides> grid = expand_grid(axes);
  std::vector<SweepPoint> points(grid.size());
  std::mutex progress_mutex;
  size_t started = 0;
  parallel_for(grid.size(), jobs, [&](size_t i) {
    if (progress) {
      std::lock_guard lock(progress_mutex);
      progress(++started, grid.size());
    }
    points[i] = evaluate_sweep_point(load, grid[i], evaluate);
  });
  mark_pareto(points);
  return points;
}

SweepShard parse_sweep_shard(const std::string& spec) {
  auto slash = spec.find('/');
  auto number = [&](const std::string& text) -> std::optional<size_t> {
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return {};
    return size_t(std::stoul(text));
  };
  std::optional<size_t> i, n;
  if (slash != std::string::npos) {
    i = number(spec.substr(0, slash));
    n = number(spec.substr(slash + 1));
  }
  check(i && n, "--shard '", spec, "': expected i/N, shard i (from 0) of N, e.g. 0/4");
  check(*n >= 1, "--shard '", spec, "': the number of shards N must be at least 1");
  check(*i < *n, "--shard '", spec, "': shard i must be in 0..", *n - 1, " (shards count from 0)");
  return SweepShard{*i, *n};
}

void mark_pareto(std::vector<SweepPoint>& points) {
  std::vector<std::vector<double>> objectives;
  std::vector<size_t> index;
  for (size_t i = 0; i < points.size(); ++i) {
    points[i].pareto = false;
    if (!points[i].ok) continue;
    objectives.push_back({points[i].latency_s, points[i].energy_j, points[i].area_mm2});
    index.push_back(i);
  }
  std::vector<bool> front = report::pareto_front(objectives);
  for (size_t k = 0; k < index.size(); ++k) points[index[k]].pareto = front[k];
}

}  // namespace wafer::npu
