#include "profile_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

namespace wafer::cli {

namespace {

std::string kernel_text(const StepProfile& s) {
  if (s.library == "reference") return "reference";
  std::string k = s.library + " " + s.kernel;
  if (s.library != "oneDNN" && !s.isa.empty()) k += " (" + s.isa + ")";  // oneDNN's name carries its ISA
  return k;
}

// A rate with three significant digits below 100 (tiny steps would all read 0.0).
std::string rate(double v, const char* unit) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f %s" : "%.3g %s", v, unit);
  return buf;
}

// GFLOP/s for steps that multiply-accumulate, GB/s for the rest (data movement, elementwise).
std::string rate_text(const ProfileRow& r) {
  if (r.step->compute && r.gflops) return rate(*r.gflops, "GFLOP/s");
  if (r.gbps && *r.step->bytes > 0) return rate(*r.gbps, "GB/s");
  return "-";
}

std::string fmt(const char* f, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void print_table(std::ostream& os, const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows, size_t right_cols) {
  std::vector<size_t> w(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    w[c] = head[c].size();
    for (const auto& r : rows) w[c] = std::max(w[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s = " ";
    for (size_t c = 0; c < r.size(); ++c) {
      std::string pad(w[c] - r[c].size(), ' ');
      s += " " + (c < right_cols ? pad + r[c] : (c + 1 == r.size() ? r[c] : r[c] + pad));
    }
    os << s << "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
}

}  // namespace

void print_profile(std::ostream& os, const Profile& profile, int top) {
  auto rows = profile_rows(profile);
  double total = 0;
  for (const auto& r : rows) total += r.ms;
  os << "profile: " << rows.size() << " steps, " << fmt("%.3f", total) << " ms per run (sum of step medians over "
     << profile.runs << " timed run" << (profile.runs == 1 ? "" : "s") << ")\n";
  std::vector<const ProfileRow*> order;
  for (const auto& r : rows) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->ms > b->ms; });
  size_t shown = top > 0 ? std::min(order.size(), size_t(top)) : order.size();
  std::vector<std::vector<std::string>> table;
  double cumulative = 0;
  for (size_t i = 0; i < shown; ++i) {
    const ProfileRow& r = *order[i];
    cumulative += r.share;
    table.push_back({std::to_string(i + 1), fmt("%.3f", r.ms), fmt("%.1f%%", 100 * r.share),
                     fmt("%.1f%%", 100 * cumulative), rate_text(r), kernel_text(*r.step), r.step->label});
  }
  print_table(os, {"#", "ms", "share", "cumul", "rate", "kernel", "step"}, table, 5);
  if (shown < order.size()) {
    double rest = 0;
    for (size_t i = shown; i < order.size(); ++i) rest += order[i]->ms;
    os << "  (" << order.size() - shown << " more steps: " << fmt("%.3f", rest) << " ms, "
       << fmt("%.1f%%", total > 0 ? 100 * rest / total : 0) << "; --profile-top 0 lists all)\n";
  }
  // Per op type: where the time goes when one op repeats through the model.
  struct Agg {
    double ms = 0;
    int steps = 0;
    double flops = 0, bytes = 0;
    bool flops_known = true, compute = false;
  };
  std::map<std::string, Agg> by_op;
  for (const auto& r : rows) {
    Agg& a = by_op[r.step->op];
    a.ms += r.ms;
    a.steps++;
    if (r.step->flops)
      a.flops += double(*r.step->flops);
    else
      a.flops_known = false;
    a.bytes += double(r.step->bytes.value_or(0));
    a.compute |= r.step->compute;
  }
  std::vector<std::pair<std::string, Agg>> ops(by_op.begin(), by_op.end());
  std::stable_sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.second.ms > b.second.ms; });
  table.clear();
  for (const auto& [op, a] : ops) {
    std::string r = "-";
    if (a.ms > 0 && a.compute && a.flops_known)
      r = rate(a.flops / (a.ms / 1e3) / 1e9, "GFLOP/s");
    else if (a.ms > 0 && a.bytes > 0)
      r = rate(a.bytes / (a.ms / 1e3) / 1e9, "GB/s");
    table.push_back(
        {std::to_string(a.steps), fmt("%.3f", a.ms), fmt("%.1f%%", total > 0 ? 100 * a.ms / total : 0), r, op});
  }
  os << "by op type:\n";
  print_table(os, {"steps", "ms", "share", "rate", "op"}, table, 4);
}

}  // namespace wafer::cli
