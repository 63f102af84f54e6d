// y = x W^T (no bias): x [S, in], W [out, in] (PyTorch Linear layout) -> y [S, out].
// BF16 mode: bf16 operands, fp32 accumulation, bf16 result (a bf16 torch Linear).
#pragma once
#include "reference/precision.h"

namespace mm::ref {

template <class P>
Mat<typename P::T> linear(const Mat<typename P::T>& x, const Mat<typename P::T>& w) {
  Mat<typename P::T> y = x * w.transpose();
  store<P>(y);
  return y;
}

}  // namespace mm::ref
