// MiniMax-VL-01 from the vision tower's features to the text model's input embeddings
// (docs/semantics/vl-01-vision.md):
//
//   projector (#projector):  y = linear_2(gelu(linear_1(f)))          per crop: [576, D] -> [576, Ht]
//   packing   (#packing):    thumbnail's 576 rows, then the unpadded tile grid row by row, each row
//                            followed by image_newline                 -> [num_image_tokens, Ht]
//   splicing  (#splicing):   the rows of the <image> placeholder tokens replaced, in order
//
// Packing and splicing move rows without arithmetic: no precision rounds there.
#pragma once
#include <cstdint>
#include <vector>

#include "reference/vision_encoder.h"
#include "reference/vl_preprocess.h"

namespace mm::ref {

// multi_modal_projector.* and image_newline (docs/semantics/vl-01-vision.md#weight-names).
template <class T> struct ProjectorWeights {
  BiasedLinear<T> linear_1;  // [Ht, D] + [Ht]
  BiasedLinear<T> linear_2;  // [Ht, Ht] + [Ht]
  Vec<T> image_newline;      // [Ht]
};

// Seeded fp64 projector weights: linear_1 N(0, 1/D), linear_2 N(0, 1/Ht), biases N(0, 0.1^2),
// image_newline N(0, 1).
ProjectorWeights<double> random_projector_weights(int64_t vision_hidden, int64_t text_hidden, Rng& rng);
// In the precision's scalar; BF16 rounds every value to bf16.
template <class P> ProjectorWeights<typename P::T> convert_weights(const ProjectorWeights<double>& w);

// features [S, D] -> [S, Ht]; token by token. The harness name of the result (crops stacked in order) is
// "projector.output". Throws mm::Error when the shapes disagree.
template <class P>
Mat<typename P::T> project(const Mat<typename P::T>& features, const ProjectorWeights<typename P::T>& w);

// One image's projected crops (thumbnail first, then the tiles row-major: crop 1 + i * grid_cols + j is tile
// (i, j)), each [side * side, Ht] with side = 24 for the released geometry, packed for the text model:
//   - the thumbnail's rows as they are;
//   - the tiles viewed as one (grid_rows * side) x (grid_cols * side) feature map, global (r, c) = tile
//     (r / side, c / side), token (r % side) * side + c % side;
//   - unpadded with the original image size (plan.width, plan.height) in floor arithmetic;
//   - each kept row top to bottom: its kept columns left to right, then image_newline.
// Returns [plan.num_image_tokens, Ht]. Throws mm::Error if the crop count or shapes do not fit the plan, or
// if the unpadded grid disagrees with plan.kept_rows / kept_cols / num_image_tokens.
template <class P>
Mat<typename P::T> pack_image_features(const std::vector<Mat<typename P::T>>& crops, const vl::AnyresPlan& plan,
                                       const Vec<typename P::T>& image_newline);

// The unpad rule alone (#packing): which rows [row0, row0 + rows) and columns [col0, col0 + cols) of a
// cur_h x cur_w feature map survive for an image of width x height.
struct UnpadWindow {
  int64_t row0 = 0, rows = 0, col0 = 0, cols = 0;
};
UnpadWindow unpad_window(int64_t width, int64_t height, int64_t cur_h, int64_t cur_w);

// embeds [S, Ht] (the token embeddings of ids), ids [S]: a copy whose rows at ids == image_token_index are
// the rows of image_features [sum of the images' num_image_tokens, Ht], in order. Throws mm::Error when
// the counts differ (naming both) or the widths differ.
template <class P>
Mat<typename P::T> splice_image_features(const Mat<typename P::T>& embeds, const std::vector<int64_t>& ids,
                                         int64_t image_token_index, const Mat<typename P::T>& image_features);

}  // namespace mm::ref
