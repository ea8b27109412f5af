// Seeded random numbers for schedules and sample choice. The distributions are
// written out here (not <random>'s, whose algorithms are library-defined) so
// the same seed gives the same run everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace wafer::harness {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t next() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform01() { return double(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0, without modulo bias (rejection).
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
      uint64_t x = next();
      if (x < limit) return x % n;
    }
  }
  // Exponential with the given rate (mean 1/rate): Poisson inter-arrival times.
  double exponential(double rate) { return -std::log1p(-uniform01()) / rate; }

 private:
  std::mt19937_64 engine_;  // the engine is fully specified by the standard
};

}  // namespace wafer::harness
