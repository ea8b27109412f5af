#include "backends/profile.h"

namespace wafer {

std::vector<ProfileRow> profile_rows(const Profile& profile) {
  std::vector<ProfileRow> rows;
  double total = 0;
  for (const auto& s : profile.steps) {
    ProfileRow r;
    r.step = &s;
    r.mean_ms = profile.runs > 0 ? s.total_ms / profile.runs : 0;
    total += r.mean_ms;
    double seconds = r.mean_ms / 1e3;
    if (seconds > 0 && s.flops) r.gflops = double(*s.flops) / seconds / 1e9;
    if (seconds > 0 && s.bytes) r.gbps = double(*s.bytes) / seconds / 1e9;
    rows.push_back(r);
  }
  for (auto& r : rows) r.share = total > 0 ? r.mean_ms / total : 0;
  return rows;
}

}  // namespace wafer
