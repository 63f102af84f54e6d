// The --images option of forward and generate (MiniMax-VL-01): every image file decoded and preprocessed
// with the checkpoint's settings (reference/vl_preprocess.h), and each image placeholder of the prompt
// expanded to its image's token count, as the official processor's legacy expansion does
// (docs/forward-dump.md#images).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "core/model_input.h"
#include "core/vl_config.h"
#include "reference/vl_preprocess.h"

namespace mm::cli {

struct PromptImages {
  std::vector<std::string> paths;   // --images, in order
  std::vector<vl::AnyresPlan> plans;
  std::vector<ImageCrops> images;   // what ModelInput::images takes
  std::vector<int64_t> tokens;      // the prompt with each placeholder expanded to its image's count
  int64_t image_token_id = -1;
};

// The comma-separated paths of --images (no empty element).
std::vector<std::string> image_paths(const Args& a);

// `vl`: the checkpoint's VL config, or none for a text model. Throws mm::Error, naming the options:
// --images given for a text model; a VL prompt whose placeholder count differs from the number of
// images (also: placeholders without --images); an expanded prompt beyond max_position_embeddings.
// Without --images and without placeholders, returns the prompt unchanged.
PromptImages prepare_prompt_images(const Args& a, const std::string& model_dir, const std::optional<VlConfig>& vl,
                                   const std::vector<int64_t>& prompt, const std::string& prompt_option);

// Decode tokens must not hold the image placeholder (an image is part of a prompt, not a decode step).
void refuse_image_token_in_decode(const Args& a, const std::optional<VlConfig>& vl, const std::vector<int64_t>& decode,
                                  const std::string& option);

}  // namespace mm::cli
