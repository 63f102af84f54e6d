// Checkpoint blocks (core/text_weights.h WeightBlock) into the reference's matrices: any float dtype on
// disk, converted to the precision's scalar; the BF16 mode rounds to bf16 (what loading the official
// model in bf16 does). Shared by the text and vision loaders.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/text_weights.h"
#include "core/safetensors.h"
#include "core/error.h"
#include "reference/linear.h"
#include "reference/precision.h"
#include "reference/weight.h"

namespace mm::ref {

// The rounding of one stored value (exactly converted to double) to the precision's scalar.
template <class P>
typename P::T weight_value(double x) {
  using T = typename P::T;
  return P::kBf16 ? round_bf16(static_cast<float>(x)) : static_cast<T>(x);
}

// Rows [r0, r0 + n) of the block into out[0, n * cols) (row-major), a panel of at most kPanelElements
// doubles at a time: converting a large tensor costs one panel of scratch, not a double copy of it. Each
// panel's mapped pages are handed back once read (WeightBlock::release_rows), so the stored block never
// sits in memory beside its conversion.
inline constexpr int64_t kPanelElements = int64_t{1} << 16;
template <class P>
void convert_rows(const WeightBlock& b, int64_t r0, int64_t n, typename P::T* out) {
  const int64_t per = b.cols > 0 ? std::max<int64_t>(1, kPanelElements / b.cols) : n;  // rows per panel
  std::vector<double> panel(static_cast<std::size_t>(std::min(per, n) * b.cols));
  for (int64_t r = 0; r < n; r += per) {
    const int64_t k = std::min(per, n - r);
    b.read_rows_f64(r0 + r, k, panel.data());
    b.release_rows(r0 + r, k);
    for (int64_t i = 0; i < k * b.cols; ++i) out[r * b.cols + i] = weight_value<P>(panel[static_cast<std::size_t>(i)]);
  }
}

// [rows, cols] row-major.
template <class P>
Mat<typename P::T> to_mat(const WeightBlock& b) {
  Mat<typename P::T> m(b.rows, b.cols);
  convert_rows<P>(b, 0, b.rows, m.data());
  return m;
}

// y = x W^T (linear.h) for a stored block W [rows, cols] converted `rows_per_block` rows at a time, each
// block's product written to its columns of y: the memory is one block of W, not W. Every element of y
// is the dot product linear<P>(x, to_mat<P>(W)) computes, over the same k; only the GEMM's N changes
// from call to call (tests/reference/model_streamed_test.cpp compares the two bit for bit).
template <class P>
Mat<typename P::T> linear_blocked(const Mat<typename P::T>& x, const WeightBlock& w, int64_t rows_per_block) {
  Mat<typename P::T> y(x.rows(), w.rows), block;
  for (int64_t r0 = 0; r0 < w.rows; r0 += rows_per_block) {
    const int64_t k = std::min(rows_per_block, w.rows - r0);
    block.resize(k, w.cols);
    convert_rows<P>(w, r0, k, block.data());
    w.release_rows(r0, k);  // the block's mapped pages: not ours to keep while the next block is read
    y.middleCols(r0, k) = linear<P>(x, block);
  }
  return y;
}

// The block held in bf16 (WeightResidency::Bf16, weight.h): each value converted as convert_rows<P> does
// (the BF16 mode rounds to bf16 there), which must then be a bf16 value, so that the held weight means
// exactly what the resident one does. The fp32 mode on a checkpoint stored in F32 with values bf16 cannot
// hold is refused, naming the tensor. A NaN (a checkpoint loaded with --allow-nonfinite-weights) stays a
// NaN. A panel at a time, its mapped pages handed back once read.
template <class P>
std::shared_ptr<const HeldBf16> to_held_bf16(const WeightBlock& b) {
  using T = typename P::T;
  auto h = std::make_shared<HeldBf16>();
  h->name = b.tensor->name;
  h->rows = b.rows;
  h->cols = b.cols;
  h->bits.resize(static_cast<std::size_t>(b.numel()));
  const int64_t per = b.cols > 0 ? std::max<int64_t>(1, kPanelElements / b.cols) : b.rows;
  std::vector<T> panel(static_cast<std::size_t>(std::min(per, b.rows) * b.cols));
  for (int64_t r = 0; r < b.rows; r += per) {
    const int64_t k = std::min(per, b.rows - r);
    convert_rows<P>(b, r, k, panel.data());
    for (int64_t i = 0; i < k * b.cols; ++i) {
      const T v = panel[static_cast<std::size_t>(i)];
      const float f = static_cast<float>(v);
      if (!std::isnan(f) && (static_cast<T>(f) != v || round_bf16(f) != f))
        throw Error(b.tensor->file + ": tensor '" + b.tensor->name + "' (" + dtype_name(b.tensor->dtype) + ") element [" +
                    std::to_string(r + i / b.cols) + ", " + std::to_string(i % b.cols) +
                    "] is not a bf16 value: weights held in bf16 (--weights bf16) need a checkpoint stored in BF16 "
                    "with " + P::kName + " (ref-bf16 rounds every weight to bf16 at load)");
      h->bits[static_cast<std::size_t>(r * b.cols + i)] = f32_to_bf16_bits(f);
    }
  }
  return h;
}

// A [1, n] block as a vector.
template <class P>
Vec<typename P::T> to_vec(const WeightBlock& b) {
  return to_mat<P>(b).row(0).transpose();
}

}  // namespace mm::ref
