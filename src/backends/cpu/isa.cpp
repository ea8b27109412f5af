#include "backends/cpu/isa.h"

#include <cpuid.h>

#include <cstdlib>
#include <dnnl.hpp>
#include <fstream>
#include <string>

#include "core/error.h"

namespace wafer::cpu {

Isa hardware_isa() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
      return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
    return Isa::scalar;
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    case Isa::scalar:
      break;
  }
  return "scalar";
}

Isa parse_isa(std::string_view name, std::string_view what) {
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::scalar})
    if (name == isa_name(isa)) return isa;
  fail(what, "='", name, "': expected avx512, avx2 or scalar");
}

Isa cpu_isa() {
  // Not a static initializer: an invalid value throws on every call, and the
  // cpu Program calls this while compiling, so the error reaches the user there.
  static const Isa isa = [] {
    const char* env = std::getenv("WAFER_CPU_ISA");
    Isa hw = hardware_isa();
    if (!env || !*env) return hw;
    Isa cap = parse_isa(env);
    return cap < hw ? cap : hw;
  }();
  return isa;
}

bool has_avx512_bf16() {
  // CPUID leaf 7, sub-leaf 1: EAX bit 5 = AVX512_BF16.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (cpu_isa() != Isa::avx512 || !__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  return (eax & (1u << 5)) != 0;
}

bool amd_family_19h() {
  static const bool zen34 = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
    bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
    if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    unsigned family = ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff);  // base + extended (base is 0xf on AMD)
    return family == 0x19;
  }();
  return zen34;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) break;
    auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown" : line.substr(start);
  }
  return "unknown";
}

void cap_onednn_isa() {
  static const bool capped = [] {
    Isa isa = cpu_isa();
    if (isa == hardware_isa()) return false;  // oneDNN's own choice (or ONEDNN_MAX_CPU_ISA) stands
    auto cap = isa == Isa::avx2 ? dnnl::cpu_isa::avx2 : dnnl::cpu_isa::sse41;
    try {
      dnnl::set_max_cpu_isa(cap);
    } catch (const dnnl::error& e) {
      fail("WAFER_CPU_ISA=", isa_name(isa), ": oneDNN refused the cap (", e.what(),
           "); it must be set before the first oneDNN kernel is created");
    }
    return true;
  }();
  (void)capped;
}

}  // namespace wafer::cpu
