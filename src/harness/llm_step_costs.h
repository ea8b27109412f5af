// What one iteration of an LLM serving engine costs on a device: a prefill of a prompt of some
// tokens, and a decode step of some sequences at some context. Costs are measured (simulated) at a
// small grid of points and interpolated between them:
// - prefill: piecewise linear in the prompt's tokens (its cost is linear in tokens apart from the
//   attention term, which the grid's spacing keeps small);
// - decode: bilinear in (batch, mean context), the context being the mean number of cached
//   tokens per sequence. A step's cost is linear in the context it reads, so interpolating in
//   context is exact up to tiling effects; in batch it is piecewise linear between grid batches.
// Outside the grid, the nearest edge segment is extended (linearly), never clamped.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace wafer::harness {

class StepCostTable {
 public:
  // `tokens` ascending, distinct, >= 1; seconds[i] for tokens[i].
  void set_prefill(std::vector<int64_t> tokens, std::vector<double> seconds);
  // `batches` and `contexts` ascending, distinct; seconds[b * contexts.size() + c].
  void set_decode(std::vector<int64_t> batches, std::vector<int64_t> contexts, std::vector<double> seconds);

  // Fills both grids by calling the given functions at every grid point.
  void measure(const std::vector<int64_t>& prefill_tokens, const std::function<double(int64_t)>& prefill,
               const std::vector<int64_t>& batches, const std::vector<int64_t>& contexts,
               const std::function<double(int64_t, int64_t)>& decode);

  double prefill_s(double tokens) const;
  double decode_s(double batch, double context) const;

  const std::vector<int64_t>& prefill_tokens() const { return prefill_tokens_; }
  const std::vector<int64_t>& batches() const { return batches_; }
  const std::vector<int64_t>& contexts() const { return contexts_; }

 private:
  std::vector<int64_t> prefill_tokens_, batches_, contexts_;
  std::vector<double> prefill_s_, decode_s_;
};

// Grid points: 1, then powers of two up to and including `max` (max itself added when it is not one).
std::vector<int64_t> power_of_two_grid(int64_t max);

}  // namespace wafer::harness
