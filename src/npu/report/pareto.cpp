// Pareto front by pairwise dominance: O(n^2 d), fine for sweeps of thousands
// of points, and obviously correct for ties and duplicates.
#include <cmath>

#include "core/error.h"
#include "npu/report/report.h"

namespace wafer::report {

namespace {
bool has_nan(const std::vector<double>& p) {
  for (double v : p)
    if (std::isnan(v)) return true;
  return false;
}
}  // namespace

std::vector<bool> pareto_front(const std::vector<std::vector<double>>& points) {
  for (const auto& p : points) check(p.size() == points.front().size(), "pareto_front: points of different dimensions");
  std::vector<bool> front(points.size(), false);
  for (size_t i = 0; i < points.size(); ++i) {
    if (has_nan(points[i])) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (j == i || has_nan(points[j])) continue;
      bool all_le = true, any_lt = false;
      for (size_t d = 0; d < points[i].size(); ++d) {
        all_le = all_le && points[j][d] <= points[i][d];
        any_lt = any_lt || points[j][d] < points[i][d];
      }
      dominated = all_le && any_lt;
    }
    front[i] = !dominated;
  }
  return front;
}

}  // namespace wafer::report
