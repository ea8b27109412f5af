#include "harness/llm_step_costs.h"

#include <algorithm>

#include "core/error.h"

namespace wafer::harness {

namespace {
void check_axis(const std::vector<int64_t>& axis, const char* what) {
  check(!axis.empty(), "step cost table: no ", what, " points");
  for (size_t i = 0; i < axis.size(); ++i) {
    check(axis[i] >= 0, "step cost table: negative ", what, " point ", axis[i]);
    check(i == 0 || axis[i] > axis[i - 1], "step cost table: ", what, " points must ascend");
  }
}

// The segment [i, i + 1] of `axis` that x falls in (or the edge segment it extends), and the
// weight of point i + 1. A one-point axis has weight 0 (constant).
std::pair<size_t, double> locate(const std::vector<int64_t>& axis, double x) {
  if (axis.size() == 1) return {0, 0.0};
  size_t i = size_t(std::upper_bound(axis.begin(), axis.end(), x) - axis.begin());
  i = std::clamp<size_t>(i, 1, axis.size() - 1) - 1;
  double x0 = double(axis[i]), x1 = double(axis[i + 1]);
  return {i, (x - x0) / (x1 - x0)};
}
}  // namespace

std::vector<int64_t> power_of_two_grid(int64_t max) {
  check(max >= 1, "grid maximum must be at least 1, got ", max);
  std::vector<int64_t> g{1};
  for (int64_t v = 2; v < max; v *= 2) g.push_back(v);
  if (max > 1) g.push_back(max);
  return g;
}

void StepCostTable::set_prefill(std::vector<int64_t> tokens, std::vector<double> seconds) {
  check_axis(tokens, "prefill token");
  check(seconds.size() == tokens.size(), "step cost table: ", seconds.size(), " prefill costs for ", tokens.size(),
        " points");
  prefill_tokens_ = std::move(tokens);
  prefill_s_ = std::move(seconds);
}

void StepCostTable::set_decode(std::vector<int64_t> batches, std::vector<int64_t> contexts,
                               std::vector<double> seconds) {
  check_axis(batches, "decode batch");
  check_axis(contexts, "decode context");
  check(seconds.size() == batches.size() * contexts.size(), "step cost table: ", seconds.size(), " decode costs for a ",
        batches.size(), " x ", contexts.size(), " grid");
  batches_ = std::move(batches);
  contexts_ = std::move(contexts);
  decode_s_ = std::move(seconds);
}

void StepCostTable::measure(const std::vector<int64_t>& prefill_tokens, const std::function<double(int64_t)>& prefill,
                            const std::vector<int64_t>& batches, const std::vector<int64_t>& contexts,
                            const std::function<double(int64_t, int64_t)>& decode) {
  std::vector<double> p, d;
  for (int64_t t : prefill_tokens) p.push_back(prefill(t));
  for (int64_t b : batches)
    for (int64_t c : contexts) d.push_back(decode(b, c));
  set_prefill(prefill_tokens, std::move(p));
  set_decode(batches, contexts, std::move(d));
}

double StepCostTable::prefill_s(double tokens) const {
  check(!prefill_s_.empty(), "step cost table: no prefill costs");
  auto [i, w] = locate(prefill_tokens_, tokens);
  if (prefill_s_.size() == 1) return prefill_s_[0];
  return std::max(0.0, prefill_s_[i] + w * (prefill_s_[i + 1] - prefill_s_[i]));
}

double StepCostTable::decode_s(double batch, double context) const {
  check(!decode_s_.empty(), "step cost table: no decode costs");
  const size_t nc = contexts_.size();
  auto [bi, bw] = locate(batches_, batch);
  auto [ci, cw] = locate(contexts_, context);
  auto at = [&](size_t b, size_t c) { return decode_s_[std::min(b, batches_.size() - 1) * nc + std::min(c, nc - 1)]; };
  double lo = at(bi, ci) + cw * (at(bi, ci + 1) - at(bi, ci));
  double hi = at(bi + 1, ci) + cw * (at(bi + 1, ci + 1) - at(bi + 1, ci));
  return std::max(0.0, lo + bw * (hi - lo));
}

}  // namespace wafer::harness
