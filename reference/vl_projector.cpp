#include "reference/vl_projector.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace mm::ref {

// ---- projector (docs/semantics/vl-01-vision.md#projector) ---------------------------------------------------

template <class P>
Mat<typename P::T> project(const Mat<typename P::T>& features, const ProjectorWeights<typename P::T>& w) {
  using T = typename P::T;
  require(w.linear_1.w.cols() == features.cols() && w.linear_1.b.size() == w.linear_1.w.rows() &&
              w.linear_2.w.cols() == w.linear_1.w.rows() && w.linear_2.b.size() == w.linear_2.w.rows(),
          "projector: features [" + std::to_string(features.rows()) + ", " + std::to_string(features.cols()) +
              "] do not fit linear_1 [" + std::to_string(w.linear_1.w.rows()) + ", " +
              std::to_string(w.linear_1.w.cols()) + "] / linear_2 [" + std::to_string(w.linear_2.w.rows()) + ", " +
              std::to_string(w.linear_2.w.cols()) + "] and their biases");
  Mat<T> h = linear_bias<P>(features, w.linear_1);                   // [S, Ht]
  gelu_erf_stored<P>(h);                                             // exact GELU, stored as bf16
  return linear_bias<P>(h, w.linear_2);                              // [S, Ht]
}

// ---- packing (#packing) ---------------------------------------------------------------------------------------

UnpadWindow unpad_window(int64_t W, int64_t H, int64_t cur_h, int64_t cur_w) {
  UnpadWindow u{0, cur_h, 0, cur_w};
  // The official test is a float comparison of the two aspect ratios; a Python int / int is the correctly
  // rounded double quotient, which is what these double divisions give.
  if (static_cast<double>(W) / static_cast<double>(H) > static_cast<double>(cur_w) / static_cast<double>(cur_h)) {
    const int64_t new_h = (H * cur_w) / W, pad = (cur_h - new_h) / 2;  // wider than the grid: crop rows
    u.row0 = pad;
    u.rows = cur_h - 2 * pad;
  } else {
    const int64_t new_w = (W * cur_h) / H, pad = (cur_w - new_w) / 2;  // taller (or equal): crop columns
    u.col0 = pad;
    u.cols = cur_w - 2 * pad;
  }
  return u;
}

template <class P>
Mat<typename P::T> pack_image_features(const std::vector<Mat<typename P::T>>& crops, const vl::AnyresPlan& plan,
                                       const Vec<typename P::T>& image_newline) {
  using T = typename P::T;
  const int64_t tiles = int64_t(plan.grid_rows) * plan.grid_cols;
  require(tiles >= 1 && plan.width >= 1 && plan.height >= 1,
          "pack_image_features: the plan has a " + std::to_string(plan.grid_rows) + " x " +
              std::to_string(plan.grid_cols) + " grid for a " + std::to_string(plan.width) + " x " +
              std::to_string(plan.height) + " image");
  require(static_cast<int64_t>(crops.size()) == 1 + tiles && plan.num_crops == 1 + tiles,
          "pack_image_features: " + std::to_string(crops.size()) + " crops for a plan of " +
              std::to_string(plan.num_crops) + " (a thumbnail and " + std::to_string(plan.grid_rows) + " x " +
              std::to_string(plan.grid_cols) + " tiles)");
  const int64_t N = crops[0].rows(), Ht = crops[0].cols();
  int64_t side = 0;
  while ((side + 1) * (side + 1) <= N) ++side;
  require(side >= 1 && side * side == N, "pack_image_features: a crop has " + std::to_string(N) +
                                             " feature rows, not a square number");
  for (std::size_t c = 0; c < crops.size(); ++c)
    require(crops[c].rows() == N && crops[c].cols() == Ht,
            "pack_image_features: crop " + std::to_string(c) + " is [" + std::to_string(crops[c].rows()) + ", " +
                std::to_string(crops[c].cols()) + "], crop 0 is [" + std::to_string(N) + ", " + std::to_string(Ht) +
                "]");
  require(image_newline.size() == Ht, "pack_image_features: image_newline has " +
                                          std::to_string(image_newline.size()) + " values, the features " +
                                          std::to_string(Ht));

  const int64_t cur_h = plan.grid_rows * side, cur_w = plan.grid_cols * side;
  const UnpadWindow u = unpad_window(plan.width, plan.height, cur_h, cur_w);
  const int64_t total = N + u.rows * (u.cols + 1);
  require(u.rows == plan.kept_rows && u.cols == plan.kept_cols && total == plan.num_image_tokens,
          "pack_image_features: the unpadded grid is " + std::to_string(u.rows) + " x " + std::to_string(u.cols) +
              " (" + std::to_string(total) + " tokens), the plan says " + std::to_string(plan.kept_rows) + " x " +
              std::to_string(plan.kept_cols) + " (" + std::to_string(plan.num_image_tokens) + " tokens)");

  Mat<T> out(total, Ht);
  out.topRows(N) = crops[0];  // the thumbnail (base) block, no newline after it
  int64_t row = N;
  for (int64_t r = u.row0; r < u.row0 + u.rows; ++r) {
    for (int64_t c = u.col0; c < u.col0 + u.cols; ++c) {
      const Mat<T>& tile = crops[static_cast<std::size_t>(1 + (r / side) * plan.grid_cols + c / side)];
      out.row(row++) = tile.row((r % side) * side + c % side);
    }
    out.row(row++) = image_newline.transpose();
  }
  return out;
}

// ---- splicing (#splicing) -------------------------------------------------------------------------------------

template <class P>
Mat<typename P::T> splice_image_features(const Mat<typename P::T>& embeds, const std::vector<int64_t>& ids,
                                         int64_t image_token_index, const Mat<typename P::T>& image_features) {
  require(static_cast<int64_t>(ids.size()) == embeds.rows(),
          "splice_image_features: " + std::to_string(ids.size()) + " token ids for " +
              std::to_string(embeds.rows()) + " embedding rows");
  int64_t n = 0;
  for (int64_t id : ids) n += id == image_token_index;
  require(n == image_features.rows(),
          "splice_image_features: the input has " + std::to_string(n) + " image tokens (id " +
              std::to_string(image_token_index) + ") but the images give " + std::to_string(image_features.rows()) +
              " feature rows");
  require(n == 0 || image_features.cols() == embeds.cols(),
          "splice_image_features: image features are " + std::to_string(image_features.cols()) +
              " wide, the token embeddings " + std::to_string(embeds.cols()));
  Mat<typename P::T> out = embeds;
  int64_t k = 0;
  for (std::size_t s = 0; s < ids.size(); ++s)
    if (ids[s] == image_token_index) out.row(static_cast<Eigen::Index>(s)) = image_features.row(k++);
  return out;
}

#define MM_INSTANTIATE(P)                                                                                       \
  template Mat<P::T> project<P>(const Mat<P::T>&, const ProjectorWeights<P::T>&);                               \
  template Mat<P::T> pack_image_features<P>(const std::vector<Mat<P::T>>&, const vl::AnyresPlan&,               \
                                            const Vec<P::T>&);                                                  \
  template Mat<P::T> splice_image_features<P>(const Mat<P::T>&, const std::vector<int64_t>&, int64_t,          \
                                              const Mat<P::T>&);
MM_INSTANTIATE(F64)
MM_INSTANTIATE(F32)
MM_INSTANTIATE(BF16)
#undef MM_INSTANTIATE

}  // namespace mm::ref

namespace mm::ref {

ProjectorWeights<double> random_projector_weights(int64_t D, int64_t Ht, Rng& rng) {
  auto mat = [&](int64_t r, int64_t c, double s) {
    Mat<double> m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = s * rng.normal();
    return m;
  };
  auto vec = [&](int64_t n, double s) {
    Vec<double> v(n);
    for (Eigen::Index i = 0; i < n; ++i) v(i) = s * rng.normal();
    return v;
  };
  ProjectorWeights<double> w;
  w.linear_1.w = mat(Ht, D, 1.0 / std::sqrt(double(D)));
  w.linear_1.b = vec(Ht, 0.1);
  w.linear_2.w = mat(Ht, Ht, 1.0 / std::sqrt(double(Ht)));
  w.linear_2.b = vec(Ht, 0.1);
  w.image_newline = vec(Ht, 1.0);
  return w;
}

template <class P> ProjectorWeights<typename P::T> convert_weights(const ProjectorWeights<double>& w) {
  Vec<typename P::T> nl = w.image_newline.cast<typename P::T>();
  store<P>(nl);
  return {convert_weights<P>(w.linear_1), convert_weights<P>(w.linear_2), std::move(nl)};
}
template ProjectorWeights<double> convert_weights<F64>(const ProjectorWeights<double>&);
template ProjectorWeights<float> convert_weights<F32>(const ProjectorWeights<double>&);
template ProjectorWeights<float> convert_weights<BF16>(const ProjectorWeights<double>&);

}  // namespace mm::ref
