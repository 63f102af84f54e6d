#include "core/dtype.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/rng.h"

namespace mm {

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(round_bf16(1.0f), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even -> 1
  EXPECT_EQ(round_bf16(1.00390625f), 1.0f);
  // just above the tie rounds up
  EXPECT_EQ(round_bf16(1.00390625f + 1e-7f), 1.0078125f);
  // 1 + 3*2^-8 is a tie between 1+2^-7 (odd) and 1+2^-6 (even) -> up
  EXPECT_EQ(round_bf16(1.01171875f), 1.015625f);
  EXPECT_TRUE(std::isnan(round_bf16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(round_bf16(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(round_bf16(3.4e38f), std::numeric_limits<float>::infinity());  // overflow rounds to inf
  EXPECT_EQ(round_bf16(-2.5f), -2.5f);
}

TEST(DType, Bf16AgreesWithDoubleRounding) {
  // Independent formulation: the nearest of the two bf16 neighbours, computed in double.
  Rng rng(7);
  for (int i = 0; i < 20000; ++i) {
    const float x = static_cast<float>(rng.normal() * std::pow(10.0, rng.uniform() * 8 - 4));
    const uint32_t u = f32_bits(x) & 0xffff0000u;
    const double lo = bits_f32(u), hi = bits_f32(u + 0x10000u);
    const double dl = std::abs(x - lo), dh = std::abs(hi - x);
    const float want = static_cast<float>(dl < dh ? lo : dh < dl ? hi : (((u >> 16) & 1) ? hi : lo));
    ASSERT_EQ(round_bf16(x), want) << x;
  }
}

TEST(DType, F16RoundTripAndRounding) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_bits_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16_bits(f), h) << std::hex << h;  // every half value survives the round trip
  }
  EXPECT_EQ(f16_bits_to_f32(f32_to_f16_bits(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_bits_to_f32(f32_to_f16_bits(70000.0f))));
  EXPECT_EQ(f16_bits_to_f32(f32_to_f16_bits(1.0f + 1.0f / 2048)), 1.0f);  // tie to even
  EXPECT_EQ(f16_bits_to_f32(f32_to_f16_bits(5.9604644775390625e-8f)), 5.9604644775390625e-8f);  // smallest subnormal
}

TEST(DType, Names) {
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32})
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_FALSE(dtype_from_name("F8_E4M3").has_value());
}

}  // namespace mm
