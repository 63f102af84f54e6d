#include "reference/rope.h"

#include <cmath>

namespace mm::ref {

double rope_inv_freq(int i, int rotary_dim, double theta) {
  return static_cast<double>(static_cast<float>(1.0 / std::pow(theta, (2.0 * i) / rotary_dim)));
}

double rope_angle(int64_t pos, int i, int rotary_dim, double theta) {
  return static_cast<double>(static_cast<float>(pos) * static_cast<float>(rope_inv_freq(i, rotary_dim, theta)));
}

template <class P>
void apply_rope(Mat<typename P::T>& x, int heads, int head_dim, int rotary_dim, double theta, int64_t pos0) {
  using T = typename P::T;
  const int half = rotary_dim / 2;
  for (Eigen::Index t = 0; t < x.rows(); ++t) {
    for (int i = 0; i < half; ++i) {
      const double a = rope_angle(pos0 + t, i, rotary_dim, theta);
      const T c = static_cast<T>(std::cos(a)), s = static_cast<T>(std::sin(a));
      for (int h = 0; h < heads; ++h) {
        T& x1 = x(t, h * head_dim + i);
        T& x2 = x(t, h * head_dim + i + half);
        const T a1 = x1, a2 = x2;
        x1 = P::r(a1 * c - a2 * s);
        x2 = P::r(a2 * c + a1 * s);
      }
    }
  }
}

template void apply_rope<F64>(Mat<double>&, int, int, int, double, int64_t);
template void apply_rope<F32>(Mat<float>&, int, int, int, double, int64_t);
template void apply_rope<BF16>(Mat<float>&, int, int, int, double, int64_t);

}  // namespace mm::ref
