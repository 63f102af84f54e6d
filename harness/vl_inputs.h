// Seeded MiniMax-VL-01 image inputs for the harness commands (check, bench, soak): synthetic RGB noise
// images (core/image_synthetic.h) preprocessed exactly as a real image is (reference/vl_preprocess.h, with
// the model directory's preprocessor settings), and prompts with each image's placeholder tokens
// expanded in place. Nothing is read from disk but the model's preprocessor_config.json.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/model_input.h"
#include "reference/vl_preprocess.h"

namespace mm::harness {

// One seeded image as a report lists it: its size and seed, and what preprocessing made of it.
struct SyntheticImage {
  int width = 0, height = 0;
  uint64_t seed = 0;
  int64_t crops = 0, tokens = 0;  // crops (thumbnail + tiles) and placeholder tokens (vl::image_token_count)
};

// A width x height RGB noise image drawn from `seed`, through the whole anyres pipeline of `pc`. `info`
// (optional) receives its size, seed, crops and tokens. mm::Error for a size the pipeline refuses.
ImageCrops synthetic_image_crops(const vl::PreprocessConfig& pc, int width, int height, uint64_t seed,
                                 SyntheticImage* info = nullptr);

// Random text never holds the placeholder id: every `image_token_id` becomes the next id (mod vocab).
void avoid_placeholder(std::vector<int64_t>& tokens, int64_t image_token_id, int64_t vocab_size);

// The prompt of `text` with K = images.size() images: image k's num_tokens placeholders go before
// text[(k + 1) * n / (K + 1)] (n = text.size(); at the end when that is n), so the images split the text
// evenly (K = 2: at n/3 and 2n/3, as check places them). images / image_token_id are set (both empty /
// -1 without images).
ModelInput image_prompt(const std::vector<int64_t>& text, std::vector<ImageCrops> images, int64_t image_token_id);

// Largest side an image option may ask for (a 4096 x 4096 image is at most 19 crops; larger ones only
// make the run slower, not more telling).
inline constexpr int kMaxImageSide = 4096;

// "300x200,120x500" -> (width, height) pairs; `option` ("--image-sizes") names the option in every
// error: an empty list or element, a side that is not a decimal integer in [1, kMaxImageSide], more
// than 16 entries.
std::vector<std::array<int, 2>> parse_image_sizes(const std::string& s, const std::string& option);

}  // namespace mm::harness
