// Checkpoint blocks (core/text_weights.h WeightBlock) into the reference's matrices: any float dtype on
// disk, converted to the precision's scalar; the BF16 mode rounds to bf16 (what loading the official
// model in bf16 does). Shared by the text and vision loaders.
#pragma once
#include <vector>

#include "core/dtype.h"
#include "core/text_weights.h"
#include "reference/precision.h"

namespace mm::ref {

// [rows, cols] row-major.
template <class P>
Mat<typename P::T> to_mat(const WeightBlock& b) {
  using T = typename P::T;
  const std::vector<double> v = b.read_f64();
  Mat<T> m(b.rows, b.cols);
  for (int64_t i = 0; i < b.numel(); ++i) {
    const double x = v[static_cast<std::size_t>(i)];
    m.data()[i] = P::kBf16 ? round_bf16(static_cast<float>(x)) : static_cast<T>(x);
  }
  return m;
}

// A [1, n] block as a vector.
template <class P>
Vec<typename P::T> to_vec(const WeightBlock& b) {
  return to_mat<P>(b).row(0).transpose();
}

}  // namespace mm::ref
