// What one model step consumes, typed, and the one check of it.
//
// A step (prefill or decode) takes a ModelInput: the token ids of the step and, for MiniMax-VL-01, the
// image embeddings to splice in at the image-token positions (the vision tower's packed, projected
// features; docs/semantics/vl-01-vision.md), so every backend and command keeps one signature.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace mm {

struct ModelConfig;  // core/config.h (kept out: the CUDA model's nvcc-compiled header includes this one)

// Embeddings that replace the token embeddings at every position whose id is `token_id` (the image
// placeholder), in order: row r goes to the r-th such position of the step (the official model's
// masked_scatter). Empty (token_id < 0) for text.
struct SplicedEmbeddings {
  int64_t token_id = -1;       // the placeholder id (a VL config's image_token_index); < 0: none
  int64_t rows = 0, cols = 0;  // [rows, hidden_size]: rows = the placeholder count of the step
  std::vector<double> values;  // row-major, finite
  bool empty() const { return token_id < 0; }
};

// The hidden state a run's first layer reads instead of the token embeddings: the residual stream
// another run left after the layer before (a slice continuing a slice; docs/slices.md). Empty for a
// run that starts from the embedding.
struct HiddenIn {
  int64_t rows = 0, cols = 0;  // [rows = the step's tokens, hidden_size]
  std::vector<double> values;  // row-major, finite
  bool empty() const { return values.empty() && rows == 0; }
};

// One preprocessed image (reference/vl_preprocess.h makes it from a file): the crops the vision tower
// reads and the geometry its features are packed by. Its features fill `num_tokens` placeholder
// positions of the step.
struct ImageCrops {
  int64_t width = 0, height = 0;       // the original image (W, H)
  int64_t grid_rows = 0, grid_cols = 0;  // tiles of the keep-ratio canvas
  int64_t num_crops = 0;               // 1 + grid_rows * grid_cols (thumbnail first)
  int64_t num_tokens = 0;              // 576 + kept rows * (kept cols + 1)
  int64_t crop_size = 336;
  std::vector<float> pixel_values;     // [num_crops, 3, crop_size, crop_size], normalised
};

struct ModelInput {
  std::vector<int64_t> tokens;  // [S] ids in [0, vocab_size), positions position .. position+S-1
  SplicedEmbeddings spliced;    // MiniMax-VL-01 image features, or empty
  // MiniMax-VL-01 images, in placeholder order: a VL backend runs them through the vision tower and
  // splices the features at the positions holding image_token_id (exclusive with `spliced`).
  std::vector<ImageCrops> images;
  int64_t image_token_id = -1;  // the config's image_token_index when `images` is not empty
  HiddenIn hidden;              // a slice continuing another's hidden state (exclusive with images, spliced)

  ModelInput() = default;
  ModelInput(std::vector<int64_t> t) : tokens(std::move(t)) {}  // NOLINT: a token list is an input
  ModelInput(std::initializer_list<int64_t> t) : tokens(t) {}
  // iterators only (also compiled as C++17 by nvcc, so no concept)
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  ModelInput(It first, It last) : tokens(first, last) {}
  int64_t length() const { return static_cast<int64_t>(tokens.size()); }
};

// The id range check alone: every id in [0, vocab_size). `where` starts the message (e.g. "forward"
// or "prompt.txt (--tokens-file)"); `position` > 0 adds each id's absolute position to it.
void check_token_ids(const std::vector<int64_t>& ids, int64_t vocab_size, const std::string& where,
                     int64_t position = 0);

// Everything a step's input must satisfy, before anything runs, as mm::Error: at least one token, ids
// in [0, vocab_size), position + S <= max_position_embeddings, and spliced embeddings (when present)
// with one finite row of hidden_size values per placeholder token of the step; images (when present)
// whose token counts add up to the placeholder count, each with num_crops crops of pixel values; a
// hidden state in (when present) of one finite row of hidden_size values per token, with no image.
void check_model_input(const ModelConfig& cfg, const ModelInput& in, int64_t position);

}  // namespace mm
