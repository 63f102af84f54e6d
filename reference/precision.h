// The three precisions of the reference. One code, templated on a precision policy P:
//   F64  - the oracle: every value and every operation in double.
//   F32  - the fp32 reference: float storage and arithmetic, no extra rounding.
//   BF16 - "official bf16": float arithmetic, values rounded to bf16 exactly where the official
//          bf16 PyTorch model stores a bf16 tensor (docs/semantics/text-01-numerics.md#bf16-rounding-points).
//          GEMMs take bf16 inputs, accumulate in fp32 and round their output, as cuBLAS does.
// The harness uses BF16's error against F64 as the "naive low-precision" budget for kernels.
#pragma once
#include <Eigen/Core>
#include <cmath>

#include "core/dtype.h"

namespace mm::ref {

template <class T> using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T> using RowVec = Eigen::Matrix<T, 1, Eigen::Dynamic>;

struct F64 {
  using T = double;
  static constexpr bool kBf16 = false;
  static constexpr const char* kName = "ref-f64";
  static T r(T x) { return x; }
};
struct F32 {
  using T = float;
  static constexpr bool kBf16 = false;
  static constexpr const char* kName = "ref-f32";
  static T r(T x) { return x; }
};
struct BF16 {
  using T = float;
  static constexpr bool kBf16 = true;
  static constexpr const char* kName = "ref-bf16";
  static T r(T x) { return round_bf16(x); }  // a bf16 store
};

// Round every element where the official model stores a bf16 tensor (no-op for F64/F32).
template <class P, class M> inline void store(M& m) {
  if constexpr (P::kBf16) m = m.unaryExpr([](float v) { return round_bf16(v); });
}
template <class P, class E> inline Mat<typename P::T> stored(const E& e) {
  Mat<typename P::T> m = e;
  store<P>(m);
  return m;
}

// A python-float constant as the model sees it: double in the oracle, fp32 (opmath) otherwise.
template <class P> inline typename P::T constant(double v) { return static_cast<typename P::T>(v); }

template <class T> inline T silu(T x) { return x / (T(1) + std::exp(-x)); }
template <class T> inline T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

}  // namespace mm::ref
