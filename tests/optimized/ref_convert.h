// Conversions between the kernels' flat float vectors and the reference's Eigen matrices, for tests.
#pragma once
#include <vector>

#include "reference/precision.h"

namespace mm::kt {

template <class T> ref::Mat<T> to_mat(const std::vector<float>& v, int rows, int cols) {
  ref::Mat<T> m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = static_cast<T>(v[static_cast<size_t>(i) * cols + j]);
  return m;
}
template <class T> ref::Vec<T> to_vec(const std::vector<float>& v) {
  ref::Vec<T> m(static_cast<Eigen::Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) m(static_cast<Eigen::Index>(i)) = static_cast<T>(v[i]);
  return m;
}
template <class T> std::vector<T> flat(const ref::Mat<T>& m) { return std::vector<T>(m.data(), m.data() + m.size()); }

}  // namespace mm::kt
