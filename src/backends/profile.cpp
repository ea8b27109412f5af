#include "backends/profile.h"

#include <algorithm>
#include <numeric>

namespace wafer {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + ptrdiff_t(mid), v.end());
  double hi = v[mid];
  if (v.size() % 2) return hi;
  return (*std::max_element(v.begin(), v.begin() + ptrdiff_t(mid)) + hi) / 2;
}

std::vector<ProfileRow> profile_rows(const Profile& profile) {
  std::vector<ProfileRow> rows;
  double total = 0;
  for (const auto& s : profile.steps) {
    ProfileRow r;
    r.step = &s;
    r.ms = median(s.run_ms);
    r.mean_ms = s.run_ms.empty() ? 0 : std::accumulate(s.run_ms.begin(), s.run_ms.end(), 0.0) / double(s.run_ms.size());
    total += r.ms;
    double seconds = r.ms / 1e3;
    if (seconds > 0 && s.flops) r.gflops = double(*s.flops) / seconds / 1e9;
    if (seconds > 0 && s.bytes) r.gbps = double(*s.bytes) / seconds / 1e9;
    rows.push_back(r);
  }
  for (auto& r : rows) r.share = total > 0 ? r.ms / total : 0;
  return rows;
}

}  // namespace wafer
