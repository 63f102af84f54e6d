// RMSNorm over the last dim (official MiniMaxText01RMSNorm; no (1+w) offset):
//   y = x * rsqrt(mean(x^2) + eps);  out = w * y
// x [S, D], w [D] -> [S, D]. BF16 mode rounds twice, as the official code does:
// bf16(y) (the .to(input_dtype)), then bf16(w * bf16(y)). Statistics are in fp32.
#pragma once
#include "reference/precision.h"

namespace mm::ref {

template <class P>
Mat<typename P::T> rmsnorm(const Mat<typename P::T>& x, const Vec<typename P::T>& w, double eps) {
  using T = typename P::T;
  Mat<T> out(x.rows(), x.cols());
  const T e = constant<P>(eps);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const T var = x.row(i).squaredNorm() / static_cast<T>(x.cols());
    const T inv = T(1) / std::sqrt(var + e);
    for (Eigen::Index j = 0; j < x.cols(); ++j) out(i, j) = P::r(w(j) * P::r(x(i, j) * inv));
  }
  return out;
}

}  // namespace mm::ref
