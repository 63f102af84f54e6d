// Stored weights into the reference's scalars (reference/weight_block.h): converted a panel at a time,
// the result is bit for bit the whole-tensor conversion (read everything to double, then round), for
// every stored dtype and every precision, across panel boundaries and from an offset into a tensor.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "core/safetensors.h"
#include "core/text_weights.h"
#include "reference/precision.h"
#include "reference/weight_block.h"
#include "tests/core/test_util.h"

namespace mm::ref {
namespace {

// The conversion as the loader wrote it before panels: the whole block in double, then each value.
template <class P>
std::vector<typename P::T> whole_then_round(const WeightBlock& b) {
  const std::vector<double> v = b.read_f64();
  std::vector<typename P::T> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    out[i] = P::kBf16 ? round_bf16(static_cast<float>(v[i])) : static_cast<typename P::T>(v[i]);
  return out;
}

template <class P>
void expect_same_bits(const WeightBlock& b, const char* what) {
  const Mat<typename P::T> m = to_mat<P>(b);
  const std::vector<typename P::T> want = whole_then_round<P>(b);
  ASSERT_EQ(static_cast<std::size_t>(m.size()), want.size()) << what;
  EXPECT_EQ(std::memcmp(m.data(), want.data(), want.size() * sizeof(typename P::T)), 0) << what;
}

TEST(WeightBlock, PanelsGiveTheWholeConversionBitForBit) {
  // 40 rows of 3001: 21 rows per 64 Ki-element panel, so a full panel and a ragged last one.
  const int64_t R = 40, C = 3001;
  std::vector<double> vals(static_cast<std::size_t>(R * C));
  Rng rng(3);
  for (auto& v : vals) v = rng.normal() * 3;
  // values on rounding ties and beyond: halfway between bf16 neighbours, tiny, huge, NaN, infinities
  vals[5] = 1.0 + std::ldexp(1.0, -8);
  vals[6] = -(1.0 + 3 * std::ldexp(1.0, -8));
  vals[7] = 1e-40;
  vals[8] = 3e38;
  vals[9] = std::numeric_limits<double>::quiet_NaN();
  vals[10] = -std::numeric_limits<double>::infinity();
  test::TempDir d;
  for (DType dt : {DType::F32, DType::BF16, DType::F16, DType::F64}) {
    const std::string path = d.file(std::string(dtype_name(dt)) + ".safetensors");
    write_safetensors(path, std::vector<NamedValues>{{{"w", dt, {R, C}}, vals}});
    const SafetensorsFile f(path);
    const TensorInfo* t = f.find("w");
    ASSERT_NE(t, nullptr);
    // the whole tensor, and 37 rows from an offset of 2 rows (as a loader cuts a fused tensor)
    for (const WeightBlock& b : {WeightBlock{t, 0, R, C}, WeightBlock{t, 2 * C, 37, C}}) {
      expect_same_bits<F64>(b, dtype_name(dt));
      expect_same_bits<F32>(b, dtype_name(dt));
      expect_same_bits<BF16>(b, dtype_name(dt));
    }
  }
}

}  // namespace
}  // namespace mm::ref
