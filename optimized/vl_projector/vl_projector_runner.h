// Host entry points of the MiniMax-VL-01 packing + splicing gather (plain types; bf16 as uint16_t bits),
// declared for backend_simt (header-inline, vl_projector_runner.cuh) and, when linked, backend_cuda
// (vl_projector.cu). The stem convention (docs/architecture.md, "Kernel stems: one convention"): Args,
// the version table (optimized/common/version_table.h) whose entries' `launch(args, stream)` is the entry
// verb, and `run`, the host round trip the tests use.
//
// The stem is named after reference/vl_projector.cpp, whose pack_image_features and
// splice_image_features it computes on the device (the projector's two linear layers and GELU are GEMMs
// and an elementwise op; they are not part of this stem). The planner below (plain C++, the same for
// both builds) turns the images' geometry and the prompt's ids into one source row per output row; the
// kernels (vl_projector.cuh) are a pure gather.
#pragma once
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::vl_projector {

// out[t, :] = virtual[row_map[t], :], virtual = [features; image_newline; table] stacked (vl_projector.cuh):
// a source in [0, F) is a feature row, F the newline, F + 1 + id the token embedding of id. A source
// outside [0, F + 1 + vocab) gives a zero row and atomicMin(bad, t) (bad may be null). Device pointers.
struct Args {
  const uint16_t* features = nullptr;  // [feature_rows, Ht] bf16: every image's projected crops, stacked in
                                       // prompt order (per image the thumbnail, then the tiles row-major;
                                       // the harness's "projector.output"; with ImageGeometry::cls each
                                       // crop's projected CLS row first, which the row map skips)
  const uint16_t* newline = nullptr;   // [Ht] bf16: image_newline
  const uint16_t* table = nullptr;     // [vocab, Ht] bf16: embed_tokens
  const int* row_map = nullptr;        // [rows]: virtual source rows (plan_rows)
  uint16_t* out = nullptr;             // [rows, Ht] bf16: the spliced input embeddings
  int rows = 0, Ht = 0, feature_rows = 0, vocab = 0;
  int* bad = nullptr;  // [1], first bad output row (min), or null
};

using Version = mm::gpu::KernelVersion<Args>;

// ---- the planner ---------------------------------------------------------------------------------------
// The packing of docs/semantics/vl-01-vision.md#packing as row indices. The geometry is the anyres plan's
// (reference/vl_preprocess.h, vl::AnyresPlan); the unpad rule is ref::unpad_window's, restated here in
// plain C++ because the kernels' side does not link the reference (tests/optimized/vl_projector_test.cpp
// holds it equal to ref::unpad_window over a sweep of sizes and the whole plan equal to
// ref::pack_image_features + ref::splice_image_features).

// One image as the anyres plan cut it.
struct ImageGeometry {
  int width = 0, height = 0;         // the ORIGINAL image size (W, H): plan.width, plan.height
  int grid_rows = 0, grid_cols = 0;  // the tile grid (plan.grid_rows, plan.grid_cols), at least 1 x 1
  int side = 24;                     // features per crop side (336 / 14); a crop has side * side rows
  int64_t num_tokens = -1;           // plan.num_image_tokens, checked against the packing when >= 0
  // true: each crop's rows in the features start with its CLS row (the tower's 577 rows per crop, as
  // they leave it), which the packing skips: the CLS drop is the row map's, not a separate pass.
  bool cls = false;
};

// Rows [row0, row0 + rows) and columns [col0, col0 + cols) of a cur_h x cur_w feature map kept for an
// image of W x H: ref::unpad_window. The aspect test compares two correctly rounded double quotients
// (the official Python int / int); the rest is floor division of non-negative integers.
struct UnpadWindow {
  int64_t row0 = 0, rows = 0, col0 = 0, cols = 0;
};
inline UnpadWindow unpad_window(int64_t W, int64_t H, int64_t cur_h, int64_t cur_w) {
  UnpadWindow u{0, cur_h, 0, cur_w};
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

namespace detail {
inline std::string image_name(size_t k, size_t n) {
  return "vl_projector: image " + std::to_string(k + 1) + " of " + std::to_string(n);
}
inline void check_geometry(const ImageGeometry& g, size_t k, size_t n) {
  if (g.width < 1 || g.height < 1 || g.grid_rows < 1 || g.grid_cols < 1 || g.side < 1 || g.side > 4096 ||
      int64_t(g.grid_rows) * g.grid_cols > (1 << 20))
    throw std::invalid_argument(image_name(k, n) + ": size " + std::to_string(g.width) + " x " +
                                std::to_string(g.height) + ", grid " + std::to_string(g.grid_rows) + " x " +
                                std::to_string(g.grid_cols) + ", crop side " + std::to_string(g.side) +
                                " is not a packable geometry (sizes, grid and side must be >= 1)");
}
}  // namespace detail

// Feature rows one image's crops hold: (1 + grid_rows * grid_cols) * (side^2 + cls).
inline int64_t feature_rows(const ImageGeometry& g) {
  return (1 + int64_t(g.grid_rows) * g.grid_cols) * (int64_t(g.side) * g.side + (g.cls ? 1 : 0));
}

// The packed rows of `images` in prompt order, as indices into their stacked crops ([sum of
// feature_rows, Ht]), the newline as that sum (= F, the virtual index of image_newline). Per image with
// base b (the first row of its thumbnail), N = side^2, a crop's stride P = N + cls and first feature
// row z = cls (1 when each crop starts with its CLS row, skipped), window u of its (grid_rows side) x
// (grid_cols side) tile map:
//   b + z .. b + z + N - 1                                            the thumbnail, in token order
//   for r in [u.row0, u.row0 + u.rows):
//     for c in [u.col0, u.col0 + u.cols):
//       b + P (1 + (r / side) grid_cols + c / side) + z + (r % side) side + c % side     tile (r/s, c/s)
//     F                                                                image_newline
// Throws std::invalid_argument for a bad geometry, or when a plan's num_tokens disagrees with the packing.
inline std::vector<int> pack_rows(const std::vector<ImageGeometry>& images, int64_t* total_feature_rows = nullptr) {
  int64_t F = 0;
  for (size_t k = 0; k < images.size(); ++k) {
    detail::check_geometry(images[k], k, images.size());
    F += feature_rows(images[k]);
  }
  if (F >= INT_MAX)
    throw std::invalid_argument("vl_projector: the images hold " + std::to_string(F) +
                                " feature rows, more than a 32-bit row map can index");
  std::vector<int> map;
  int64_t base = 0;
  for (size_t k = 0; k < images.size(); ++k) {
    const ImageGeometry& g = images[k];
    const int64_t s = g.side, N = s * s, z = g.cls ? 1 : 0, P = N + z;
    const UnpadWindow u = unpad_window(g.width, g.height, int64_t(g.grid_rows) * s, int64_t(g.grid_cols) * s);
    const int64_t packed = N + u.rows * (u.cols + 1);
    if (g.num_tokens >= 0 && packed != g.num_tokens)
      throw std::invalid_argument(detail::image_name(k, images.size()) + " (" + std::to_string(g.width) + " x " +
                                  std::to_string(g.height) + ", grid " + std::to_string(g.grid_rows) + " x " +
                                  std::to_string(g.grid_cols) + ") packs to " + std::to_string(packed) +
                                  " rows (kept " + std::to_string(u.rows) + " x " + std::to_string(u.cols) +
                                  "), its plan says " + std::to_string(g.num_tokens));
    for (int64_t i = 0; i < N; ++i) map.push_back(static_cast<int>(base + z + i));
    for (int64_t r = u.row0; r < u.row0 + u.rows; ++r) {
      for (int64_t c = u.col0; c < u.col0 + u.cols; ++c)
        map.push_back(static_cast<int>(base + P * (1 + (r / s) * g.grid_cols + c / s) + z + (r % s) * s + c % s));
      map.push_back(static_cast<int>(F));
    }
    base += feature_rows(g);
  }
  if (total_feature_rows) *total_feature_rows = F;
  return map;
}

// The row map of a whole prompt: position t holding image_token_id takes the next packed row (images in
// order), any other position its token embedding (F + 1 + ids[t]). Throws std::invalid_argument, naming
// both counts, when the prompt's image tokens and the packed rows differ in number, and, naming the id
// and position, for a text id outside [0, vocab). `feature_rows_out` receives F.
inline std::vector<int> plan_rows(const std::vector<int>& ids, int image_token_id,
                                  const std::vector<ImageGeometry>& images, int vocab, int* feature_rows_out = nullptr) {
  int64_t F = 0;
  const std::vector<int> packed = pack_rows(images, &F);
  if (vocab < 1 || F + 1 + int64_t(vocab) > INT_MAX)
    throw std::invalid_argument("vl_projector: " + std::to_string(F) + " feature rows, the newline and a vocabulary of " +
                                std::to_string(vocab) + " do not fit a 32-bit row map (vocab must be >= 1)");
  int64_t n_image = 0;
  for (int id : ids) n_image += id == image_token_id;
  if (n_image != static_cast<int64_t>(packed.size()))
    throw std::invalid_argument("vl_projector: the prompt has " + std::to_string(n_image) + " image tokens (id " +
                                std::to_string(image_token_id) + ") but its " + std::to_string(images.size()) +
                                " image(s) pack to " + std::to_string(packed.size()) + " rows");
  std::vector<int> map(ids.size());
  size_t k = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] == image_token_id) {
      map[t] = packed[k++];
      continue;
    }
    if (ids[t] < 0 || ids[t] >= vocab)
      throw std::invalid_argument("vl_projector: token id " + std::to_string(ids[t]) + " at position " +
                                  std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    map[t] = static_cast<int>(F + 1 + ids[t]);
  }
  if (feature_rows_out) *feature_rows_out = static_cast<int>(F);
  return map;
}

// Every entry of a row map inside [0, F + 1 + vocab); else std::invalid_argument naming the first bad row.
inline void check_row_map(const std::vector<int>& row_map, int feature_rows, int vocab) {
  const int64_t n = int64_t(feature_rows) + 1 + vocab;
  for (size_t t = 0; t < row_map.size(); ++t)
    if (row_map[t] < 0 || row_map[t] >= n)
      throw std::invalid_argument("vl_projector: row_map[" + std::to_string(t) + "] = " + std::to_string(row_map[t]) +
                                  " is outside [0, " + std::to_string(n) + ") (" + std::to_string(feature_rows) +
                                  " feature rows, the newline, " + std::to_string(vocab) + " token rows)");
}

}  // namespace mm::vl_projector

#define MM_VL_PROJECTOR_DECLARE_RUNNERS(ns)                                                                    \
  MM_DECLARE_STEM_RUNNERS(vl_projector, ns,                                                                   \
  /* v1 thread per element, v2 warp per row (16-byte copies where Ht % 8 == 0 and aligned, else scalar); */   \
  /* both take every shape (rows >= 0, Ht > 0, feature_rows >= 0, vocab >= 0) */                               \
  const std::vector<Version>& versions();                                                                     \
  /* checks the buffer sizes and the row map (std::invalid_argument naming the first bad row), gathers */     \
  std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& features, int feature_rows,         \
                            const std::vector<uint16_t>& newline, const std::vector<uint16_t>& table, int vocab, \
                            int Ht, const std::vector<int>& row_map);                                         \
  /* no row-map validation: returns the output and the kernel's first bad row (INT32_MAX if none) */          \
  std::vector<uint16_t> run_unchecked(const Version& v, const std::vector<uint16_t>& features, int feature_rows, \
                                      const std::vector<uint16_t>& newline, const std::vector<uint16_t>& table, \
                                      int vocab, int Ht, const std::vector<int>& row_map, int* first_bad);    \
  )

#if defined(__CUDACC__) || defined(MM_VL_PROJECTOR_DECLARE_CUDA)
MM_VL_PROJECTOR_DECLARE_RUNNERS(backend_cuda)
#endif
