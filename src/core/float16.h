// IEEE half and bfloat16 storage types with exact round-to-nearest-even
// conversion from float. Arithmetic happens in float: these are storage only.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace wafer {

struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  explicit BFloat16(float f) : bits(from_float(f)) {}
  explicit operator float() const { return std::bit_cast<float>(uint32_t(bits) << 16); }

  static uint16_t from_float(float f) {
    uint32_t u = std::bit_cast<uint32_t>(f);
    if (std::isnan(f)) return uint16_t((u >> 16) | 0x40);  // keep it a quiet NaN
    u += 0x7fff + ((u >> 16) & 1);                          // round to nearest even
    return uint16_t(u >> 16);
  }
};

struct Float16 {
  uint16_t bits = 0;
  Float16() = default;
  explicit Float16(float f) : bits(from_float(f)) {}
  explicit operator float() const { return to_float(bits); }

  static float to_float(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000 | (mant << 13));  // inf/nan
    if (exp == 0) {
      if (mant == 0) return std::bit_cast<float>(sign);
      // Subnormal half: value is mant * 2^-24.
      float v = std::ldexp(float(mant), -24);
      return sign ? -v : v;
    }
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  }

  static uint16_t from_float(float f) {
    uint32_t u = std::bit_cast<uint32_t>(f);
    uint16_t sign = uint16_t((u >> 16) & 0x8000);
    uint32_t abs = u & 0x7fffffff;
    if (abs >= 0x7f800000) return uint16_t(sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0));
    if (abs >= 0x477ff000) return uint16_t(sign | 0x7c00);  // rounds to >= 65520: inf
    if (abs < 0x38800000) {
      // Result is subnormal (or zero) in half: round abs * 2^24 to an integer.
      float scaled = std::bit_cast<float>(abs) * 16777216.0f;
      return uint16_t(sign | uint16_t(std::nearbyint(scaled)));
    }
    uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
    return uint16_t(sign | ((rounded - 0x38000000) >> 13));
  }
};

}  // namespace wafer
