// Instruction-set levels of the cpu backend. Wafer's own kernels are compiled
// for each level (isa_dispatch.h) and oneDNN picks its own; WAFER_CPU_ISA caps
// both, so every path that users' machines take can be tested on one machine
// (an AVX-512 machine runs its AVX2 and scalar paths under the cap).
#pragma once

#include <string>
#include <string_view>

namespace wafer::cpu {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

// The highest level this CPU and OS support. avx512 = AVX-512 F, BW, DQ and VL
// (oneDNN's avx512_core, Skylake-SP and later, Zen 4); avx2 = AVX2 with FMA.
Isa hardware_isa();

// hardware_isa() capped by WAFER_CPU_ISA=avx512|avx2|scalar (read once); an
// unknown value is an Error naming the variable and the valid values.
Isa cpu_isa();

// "avx512" | "avx2" | "scalar", and back (an Error names `what` on a bad name).
const char* isa_name(Isa isa);
Isa parse_isa(std::string_view name, std::string_view what = "WAFER_CPU_ISA");

// AVX512_BF16 (bf16 dot products and conversions), only when cpu_isa() is avx512:
// without it `--precision bf16` runs the fp32 program.
bool has_avx512_bf16();

// An AMD CPU of family 19h (Zen 3, Zen 4; CPUID leaf 1, base + extended family): where the
// cpu backend's fp32 convolutions were measured faster in nChw16c than in oneDNN's own choice
// (conv_kernel.cpp, docs/PERFORMANCE.md). Zen 5 is family 1Ah.
bool amd_family_19h();

// The CPU's model name as the OS reports it (/proc/cpuinfo "model name"), "unknown" where
// it reports none: reports say which CPU a time was measured on (wafer run --json).
std::string cpu_model_name();

// Caps oneDNN at cpu_isa() (scalar: SSE4.1, oneDNN's lowest jit level) before its
// first kernel is generated. Every cpu Program calls it before making its engine.
void cap_onednn_isa();

}  // namespace wafer::cpu
