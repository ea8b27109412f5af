#include "api/sweep.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/parallel_for.h"
#include "npu/evaluate.h"

namespace wafer::api {

namespace {

// FNV-1a, 64 bit: a change detector for arguments, not a security measure.
struct Fnv1a {
  uint64_t h = 14695981039346656037ull;
  void add(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ uint8_t(data[i])) * 1099511628211ull;
  }
  // Each field with its length, so that ("ab","c") and ("a","bc") differ.
  void field(const std::string& s) {
    const std::string len = std::to_string(s.size()) + ":";
    add(len.data(), len.size());
    add(s.data(), s.size());
  }
};

std::string model_file(const std::string& model) {
  namespace fs = std::filesystem;
  return fs::is_directory(model) ? (fs::path(model) / "model.onnx").string() : model;
}

}  // namespace

std::string sweep_fingerprint(const SweepOptions& o) {
  Fnv1a f;
  std::ifstream in(model_file(o.m.model), std::ios::binary);
  check(bool(in), o.m.model, ": cannot read the model");
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) f.add(buf, size_t(in.gcount()));
  f.field(o.hw.yaml_text.empty() ? o.hw.preset_or_path : o.hw.yaml_text);
  for (const auto& a : npu::parse_sweep_axes(o.sets)) {
    f.field(a.field);
    for (const auto& v : a.values) f.field(v);
    f.field("|");
  }
  f.field(std::to_string(o.m.batch));
  f.field(precision_name(o.m.precision));
  for (const auto& s : o.m.shapes) f.field(s);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(f.h));
  return hex;
}

SweepSession::SweepSession(const SweepOptions& o) : options_(o) {
  axes_ = npu::parse_sweep_axes(o.sets);
  grid_ = npu::expand_grid(axes_);
  model_ = load_npu_model(o.m, compile_options_);
  header_.fingerprint = sweep_fingerprint(o);
  header_.model = model_display_name(o.m.model);
  header_.hw = o.hw.preset_or_path;
  header_.batch = o.m.batch;
  header_.axes = axes_;
  header_.total = grid_.size();
}

npu::SweepPoint SweepSession::evaluate(size_t index) const {
  check(index < grid_.size(), "sweep point ", index, " is outside the grid of ", grid_.size(), " points");
  auto load = [this](const npu::Overrides& overrides) { return options_.hw.load(overrides); };
  auto evaluate = [this](const npu::HardwareDesc& hw) {
    return npu::evaluate_design(model_, hw, compile_options_, false);
  };
  return npu::evaluate_sweep_point(npu::HardwareLoader(load), grid_[index], npu::DesignEvaluator(evaluate));
}

SweepRunner thread_runner(int jobs) {
  return [jobs](const SweepSession& session, const std::vector<size_t>& todo, const SweepPointDone& done) {
    std::mutex done_mutex;
    parallel_for(todo.size(), jobs, [&](size_t k) {
      npu::SweepPoint p = session.evaluate(todo[k]);
      std::lock_guard lock(done_mutex);
      done(todo[k], std::move(p));
    });
  };
}

SweepRun sweep(const SweepOptions& o, const npu::SweepProgress& progress) {
  SweepSession session(o);
  SweepPartRun part = run_sweep_part(session, {}, thread_runner(o.jobs), progress);
  return assemble_sweep(session.axes(), session.size(), std::move(part.points), "");
}

SweepPartRun run_sweep_part(const SweepSession& session, const SweepPart& part, const SweepRunner& runner,
                            const npu::SweepProgress& progress) {
  SweepPartRun run;
  const auto& header = session.results_header();
  report::SweepResults existing;
  if (part.resume) {
    existing = report::read_sweep_results(part.results_path);
    if (existing.header) report::check_same_sweep(*existing.header, header, part.results_path);
    run.points = std::move(existing.points);
    existing.points.clear();
  }
  std::vector<size_t> todo;
  for (size_t i = 0; i < session.size(); ++i) {
    if (part.shard && !part.shard->contains(i)) continue;
    if (run.points.count(i))
      ++run.reused;
    else
      todo.push_back(i);
  }
  std::optional<report::SweepResultsWriter> writer;
  if (!part.results_path.empty()) writer.emplace(part.results_path, header, part.resume ? &existing : nullptr);
  size_t completed = 0;
  runner(session, todo, [&](size_t index, npu::SweepPoint&& p) {
    if (progress) progress(++completed, todo.size());
    if (writer) writer->append(index, p);
    run.points.insert_or_assign(index, std::move(p));
    ++run.evaluated;
  });
  return run;
}

SweepRun assemble_sweep(const std::vector<npu::SweepAxis>& axes, size_t total, std::map<size_t, npu::SweepPoint> points,
                        const std::string& missing_hint) {
  std::vector<size_t> missing;
  for (size_t i = 0; i < total; ++i)
    if (!points.count(i)) missing.push_back(i);
  if (!missing.empty()) {
    std::string first;
    for (size_t k = 0; k < missing.size() && k < 8; ++k) first += (k ? ", " : "") + std::to_string(missing[k] + 1);
    fail(missing.size(), " of the sweep's ", total, " design points are missing (#", first,
         missing.size() > 8 ? ", ..." : "", ")", missing_hint);
  }
  SweepRun run;
  run.axes = axes;
  run.points.reserve(total);
  for (auto& [_, p] : points) run.points.push_back(std::move(p));
  npu::mark_pareto(run.points);
  return run;
}

MergedSweep merge_sweep_results(const std::vector<std::string>& paths) {
  check(!paths.empty(), "sweep-merge: no results files given");
  MergedSweep merged;
  std::map<size_t, npu::SweepPoint> points;
  std::string first_path;
  for (const auto& path : paths) {
    check(std::filesystem::exists(path), path, ": no such sweep results file");
    report::SweepResults r = report::read_sweep_results(path);
    check(r.header.has_value(), path, ": empty (no complete header line): not a finished part of a sweep");
    if (first_path.empty()) {
      merged.header = *r.header;
      first_path = path;
    } else {
      report::check_same_sweep(*r.header, merged.header, path + " (compared with " + first_path + ")");
    }
    for (auto& [i, p] : r.points) points.insert_or_assign(i, std::move(p));
  }
  merged.run = assemble_sweep(merged.header.axes, merged.header.total, std::move(points),
                              ": run the shards that hold them (again, with --resume) and merge all their files");
  return merged;
}

}  // namespace wafer::api
