// Storage dtypes of checkpoints and dumps, and exact bf16/f16 <-> f32 conversions.
// Rounding is IEEE round-to-nearest-even, the same as torch's .to(bfloat16) and CUDA's
// __float2bfloat16_rn; NaN stays NaN (quiet), overflow rounds to +-inf.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace mm {

enum class DType : uint8_t { F64, F32, F16, BF16, I64, I32, U8 };  // U8: image bytes in preprocess dumps

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: return 2;
    case DType::U8: return 1;
  }
  return 0;
}
// safetensors spelling: "F64", "F32", "F16", "BF16", "I64", "I32", "U8".
const char* dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view s);

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

inline uint16_t f32_to_bf16_bits(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_bits_to_f32(uint16_t b) { return bits_f32(static_cast<uint32_t>(b) << 16); }
// The value a float takes after a round trip through bf16.
inline float round_bf16(float f) { return bf16_bits_to_f32(f32_to_bf16_bits(f)); }

uint16_t f32_to_f16_bits(float f);
float f16_bits_to_f32(uint16_t h);

}  // namespace mm
