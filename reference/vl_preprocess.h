// MiniMax-VL-01's image preprocessing ("anyres"), as the official processor does it
// (docs/semantics/vl-01-preprocessing.md):
//
//   1. (Wb, Hb) = select_best_resolution((W, H), pinpoints), both read as (width, height);
//   2. keep-ratio resize of the image to fit (Wb, Hb) (Pillow BICUBIC), pasted onto a black RGB canvas
//      of (Wb, Hb), centred with the odd pixel of padding at the bottom / right;
//   3. the canvas cut into 336x336 tiles, row-major;
//   4. a thumbnail: the whole image resized to 336x336, aspect ratio not kept, placed FIRST;
//   5. every crop converted to RGB, /255, minus the CLIP mean, over the CLIP std, channels first.
//
// The number of <image> tokens the model consumes for the image is 576 + rows * (cols + 1): the
// thumbnail's 24x24 features, then every kept feature row of the tile grid with one image_newline.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/image.h"
#include "core/image_decode.h"
#include "core/model_input.h"
#include "reference/pillow_resize.h"

namespace mm::vl {

// The image-processor settings (preprocessor_config.json).
struct PreprocessConfig {
  int crop_size = 336;   // "size": (width, height); the ViT's image_size, the only supported value
  int patch_size = 14;   // the ViT's patch; 336 / 14 = 24 features per side
  std::array<float, 3> image_mean{0.48145466f, 0.4578275f, 0.40821073f};  // OpenAI CLIP, R G B
  std::array<float, 3> image_std{0.26862954f, 0.26130258f, 0.27577711f};
  std::vector<std::array<int, 2>> pinpoints;  // (width, height), multiples of crop_size, in file order
  std::string source;  // the file these came from, or "released defaults"
};

// The values MiniMax-VL-01 was released with: size 336, patch 14, CLIP mean/std, the 28 pinpoints
// (i x 336, j x 336) for i, j in 1..6 with i * j <= 18.
PreprocessConfig released_preprocess_config();

// Parses a preprocessor_config.json document (named `file` in errors). Accepts both spellings of
// "size" ([336, 336] and {"height": 336, "width": 336}); refuses a process_image_mode other than
// "anyres", sizes other than 336, a patch other than 14, non-finite or non-positive std, and pinpoints
// that are not positive multiples of 336.
PreprocessConfig parse_preprocess_config(const nlohmann::json& doc, const std::string& file);

// DIR/preprocessor_config.json, checked against DIR/config.json's image_grid_pinpoints when that file
// has them (the processor tiles with its own copy, the model unpacks with config.json's: they must
// agree). Without preprocessor_config.json: the released values, `source` saying so.
PreprocessConfig load_preprocess_config(const std::string& model_dir);

// How one image of (width, height) is cut up.
struct AnyresPlan {
  int width = 0, height = 0;            // the original image (W, H)
  int best_width = 0, best_height = 0;  // (Wb, Hb): the chosen pinpoint
  int grid_rows = 0, grid_cols = 0;     // Hb / 336, Wb / 336
  int resized_width = 0, resized_height = 0;  // the keep-ratio resize
  int pad_left = 0, pad_top = 0;        // where it is pasted on the canvas
  int num_crops = 0;                    // 1 + grid_rows * grid_cols (thumbnail first)
  int kept_rows = 0, kept_cols = 0;     // tile-grid feature rows / columns left after unpadding
  int64_t num_image_tokens = 0;         // 576 + kept_rows * (kept_cols + 1)
};

// select_best_resolution in the official (width, height) convention: the pinpoint that keeps the most
// original pixels when the image is scaled to fit it, ties to the one that wastes the fewest.
std::array<int, 2> select_best_resolution(int width, int height, const PreprocessConfig& cfg);

// The official get_num_token: defined for every size >= 1 (also where the pixel pipeline refuses).
int64_t image_token_count(int width, int height, const PreprocessConfig& cfg);

// The plan for an image. Throws mm::Error when the keep-ratio resize would have a side of 0 pixels
// (aspect ratios beyond about 2016:1; Pillow, and so the official processor, fails there too).
AnyresPlan plan_anyres(int width, int height, const PreprocessConfig& cfg);

struct PreprocessOptions {
  image::ResizeOrder resize_order = image::ResizeOrder::Pillow12;
};

struct PreprocessedImage {
  AnyresPlan plan;
  std::vector<uint8_t> crops_rgb;   // [num_crops][336][336][3] uint8, HWC, thumbnail first
  std::vector<float> pixel_values;  // [num_crops][3][336][336] float32, normalised
};

// The whole pipeline for one decoded image.
PreprocessedImage preprocess_image(const image::Image& im, const PreprocessConfig& cfg,
                                   const PreprocessOptions& opt = {});

// An image file decoded (core/image_decode.h, within `limits`) and preprocessed; every error names the
// file. `decoded`, when given, receives the decoded image.
PreprocessedImage preprocess_file(const std::string& path, const PreprocessConfig& cfg, const PreprocessOptions& opt = {},
                                  const image::DecodeLimits& limits = {}, image::Image* decoded = nullptr);

// The model's input for one preprocessed image (ModelInput::images): its geometry and pixel_values
// (moved out of `pre`).
ImageCrops image_crops(PreprocessedImage&& pre, const PreprocessConfig& cfg);

// The normalisation of one uint8 value x of channel c, in float32 and in torchvision's order:
// (x / 255 - mean[c]) / std[c].
float normalize_value(const PreprocessConfig& cfg, int c, uint8_t x);

}  // namespace mm::vl
