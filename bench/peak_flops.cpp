// Measured fp32 peak of this machine: independent fused multiply-adds on
// registers only (no memory traffic), on T threads for about a second each.
// `make bench` divides every model's GFLOP/s by this number.
//
//   g++ -O2 -pthread bench/peak_flops.cpp -o build/peak_flops
//   build/peak_flops [threads=2] [seconds=1]
//     -> {"threads":T,"seconds":S,"gflops":G,"vector_bits":B,"isa":"avx512|avx2|scalar","check":C}
//
// Built without -m flags, so it runs on every x86-64 CPU: the widest FMA the CPU
// has is chosen at run time (AVX-512, else AVX2+FMA, else SSE multiply and add),
// capped by WAFER_CPU_ISA=avx512|avx2|scalar as the cpu backend is (an AVX-512
// machine measures the peak its AVX2 path can reach under WAFER_CPU_ISA=avx2).
//
// Each thread keeps 16 accumulators in flight with AVX-512 (32 registers), 12 with
// AVX2 and SSE (16 registers, two of them hold the constants; more would spill
// to memory): enough to cover FMA latency (4-5 cycles) times the FMA ports (2)
// on current x86 cores.
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr long kInner = 1 << 16;  // FMAs per accumulator between clock checks

double elapsed(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs FMA blocks until `seconds` pass; returns FLOPs done. The result sink keeps
// the compiler from deleting the loop. One body per instruction set, each compiled
// for its own target (the attribute, not a -m flag, so nothing else uses it).
#define WAFER_BURN(NAME, TARGET, VEC, LANES, ACC, SPLAT, MADD)                               \
  TARGET double NAME(double seconds, float* sink) {                                          \
    constexpr int kAcc = ACC;                                                                \
    VEC acc[kAcc];                                                                           \
    for (int i = 0; i < kAcc; ++i) acc[i] = SPLAT(1.0f + 1e-7f * float(i));                  \
    const VEC a = SPLAT(0.999999f), b = SPLAT(1e-7f);                                        \
    long blocks = 0;                                                                         \
    auto start = std::chrono::steady_clock::now();                                           \
    do {                                                                                     \
      for (long k = 0; k < kInner; ++k) {                                                    \
        _Pragma("GCC unroll 16") for (int i = 0; i < kAcc; ++i) acc[i] = MADD(acc[i], a, b); \
      }                                                                                      \
      ++blocks;                                                                              \
    } while (elapsed(start) < seconds);                                                      \
    alignas(64) float f[LANES];                                                              \
    float s = 0;                                                                             \
    for (int i = 0; i < kAcc; ++i) {                                                         \
      std::memcpy(f, &acc[i], sizeof f);                                                     \
      for (float x : f) s += x;                                                              \
    }                                                                                        \
    *sink = s;                                                                               \
    return double(blocks) * kInner * kAcc * LANES * 2;                                       \
  }

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))
AVX512 inline __m512 fma512(__m512 a, __m512 b, __m512 c) {
  return _mm512_fmadd_ps(a, b, c);
}
AVX2 inline __m256 fma256(__m256 a, __m256 b, __m256 c) {
  return _mm256_fmadd_ps(a, b, c);
}
// SSE has no FMA: a multiply and an add, two FLOPs per lane as well.
inline __m128 madd128(__m128 a, __m128 b, __m128 c) {
  return _mm_add_ps(_mm_mul_ps(a, b), c);
}
WAFER_BURN(burn_avx512, AVX512, __m512, 16, 16, _mm512_set1_ps, fma512)
WAFER_BURN(burn_avx2, AVX2, __m256, 8, 12, _mm256_set1_ps, fma256)
WAFER_BURN(burn_scalar, , __m128, 4, 12, _mm_set1_ps, madd128)

struct Level {
  const char* name;
  int bits;
  double (*burn)(double, float*);
};
const Level kLevels[] = {{"scalar", 128, burn_scalar}, {"avx2", 256, burn_avx2}, {"avx512", 512, burn_avx512}};

// The level the cpu backend would use (src/backends/cpu/isa.cpp): the CPU's own, capped by WAFER_CPU_ISA.
int pick_level() {
  __builtin_cpu_init();
  int hw = 0;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) hw = 1;
  if (hw == 1 && __builtin_cpu_supports("avx512f")) hw = 2;
  const char* env = std::getenv("WAFER_CPU_ISA");
  if (!env || !*env) return hw;
  for (int i = 0; i < 3; ++i)
    if (std::string(env) == kLevels[i].name) return i < hw ? i : hw;
  std::fprintf(stderr, "peak_flops: WAFER_CPU_ISA='%s': expected avx512, avx2 or scalar\n", env);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  if (threads < 1 || threads > 1024 || !(seconds > 0 && seconds < 100)) {
    std::fprintf(stderr, "usage: peak_flops [threads] [seconds]\n");
    return 2;
  }
  const Level& level = kLevels[pick_level()];
  float warm = 0;
  level.burn(0.1, &warm);  // wake the core up (clock ramp) before measuring
  std::vector<double> flops(static_cast<size_t>(threads));
  std::vector<float> sinks(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { flops[size_t(t)] = level.burn(seconds, &sinks[size_t(t)]); });
  for (auto& th : pool) th.join();
  double wall = elapsed(start);
  double total = 0;
  for (double f : flops) total += f;
  std::printf(
      "{\"threads\": %d, \"seconds\": %.3f, \"gflops\": %.1f, \"vector_bits\": %d, \"isa\": \"%s\", "
      "\"check\": %g}\n",
      threads, wall, total / wall / 1e9, level.bits, level.name, double(sinks[0]));
  return 0;
}
