// Measured fp32 peak of this machine: independent fused multiply-adds on
// registers only (no memory traffic), on T threads for about a second each.
// `make bench` divides every model's GFLOP/s by this number.
//
//   g++ -O2 -mavx512f -mfma -pthread bench/peak_flops.cpp -o build/peak_flops
//   build/peak_flops [threads=2] [seconds=1]      -> prints {"threads":T,"gflops":G}
//
// Each thread keeps 16 accumulators in flight: enough to cover FMA latency (4-5
// cycles) times the FMA ports (2) on current x86 cores.
#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
inline Vec splat(float x) {
  return _mm512_set1_ps(x);
}
inline Vec fma(Vec a, Vec b, Vec c) {
  return _mm512_fmadd_ps(a, b, c);
}
#else
using Vec = __m256;
constexpr int kLanes = 8;
inline Vec splat(float x) {
  return _mm256_set1_ps(x);
}
inline Vec fma(Vec a, Vec b, Vec c) {
  return _mm256_fmadd_ps(a, b, c);
}
#endif

inline float sum(Vec v) {
  alignas(64) float f[kLanes];
  std::memcpy(f, &v, sizeof v);
  float s = 0;
  for (float x : f) s += x;
  return s;
}

constexpr int kAcc = 16;
constexpr long kInner = 1 << 16;  // FMAs per accumulator between clock checks

// Runs FMA blocks until `seconds` pass; returns FLOPs done. The result sink
// keeps the compiler from deleting the loop.
double burn(double seconds, float* sink) {
  Vec acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = splat(1.0f + 1e-7f * float(i));
  const Vec a = splat(0.999999f), b = splat(1e-7f);
  long blocks = 0;
  auto start = std::chrono::steady_clock::now();
  do {
    for (long k = 0; k < kInner; ++k) {
      // Fully unrolled so the accumulators live in registers even at -O2.
#pragma GCC unroll 16
      for (int i = 0; i < kAcc; ++i) acc[i] = fma(acc[i], a, b);
    }
    ++blocks;
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds);
  float s = 0;
  for (int i = 0; i < kAcc; ++i) s += sum(acc[i]);
  *sink = s;
  return double(blocks) * kInner * kAcc * kLanes * 2;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  if (threads < 1 || threads > 1024 || !(seconds > 0 && seconds < 100)) {
    std::fprintf(stderr, "usage: peak_flops [threads] [seconds]\n");
    return 2;
  }
  burn(0.1, new float);  // wake the core up (clock ramp) before measuring
  std::vector<double> flops(threads);
  std::vector<float> sinks(threads);
  std::vector<std::thread> pool;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { flops[t] = burn(seconds, &sinks[t]); });
  for (auto& th : pool) th.join();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double total = 0;
  for (double f : flops) total += f;
  std::printf("{\"threads\": %d, \"seconds\": %.3f, \"gflops\": %.1f, \"vector_bits\": %d, \"check\": %g}\n", threads,
              wall, total / wall / 1e9, kLanes * 32, double(sinks[0]));
  return 0;
}
