// --images: decode, preprocess, expand the placeholders (cli/image_inputs.h).
#include "cli/image_inputs.h"

#include "core/config.h"
#include "core/error.h"
#include "core/image_decode.h"

namespace mm::cli {

std::vector<std::string> image_paths(const Args& a) {
  return split_commas(a.list_text("images"));  // list_text refuses an empty value or element
}

PromptImages prepare_prompt_images(const Args& a, const std::string& model_dir, const std::optional<VlConfig>& vl,
                                   const std::vector<int64_t>& prompt, const std::string& prompt_option) {
  PromptImages p;
  p.tokens = prompt;
  const std::string& cmd = a.cmd();
  if (!vl) {
    if (a.has("images"))
      throw Error(cmd + ": --images needs a MiniMax-VL-01 checkpoint (config.json model_type \"minimax_vl_01\"); " +
                  model_dir + " holds a text model");
    return p;
  }
  p.image_token_id = vl->image_token_index;
  int64_t placeholders = 0;
  for (int64_t id : prompt) placeholders += id == p.image_token_id;
  if (a.has("images")) p.paths = image_paths(a);
  if (placeholders != static_cast<int64_t>(p.paths.size()))
    throw Error(cmd + ": " + prompt_option + " holds " + std::to_string(placeholders) + " image placeholder(s) (id " +
                std::to_string(p.image_token_id) + ", the config's image_token_index) but --images gives " +
                std::to_string(p.paths.size()) + " image(s); expected one placeholder per image, in order");
  if (p.paths.empty()) return p;

  const vl::PreprocessConfig cfg = vl::load_preprocess_config(model_dir);
  const int64_t limit = vl->text.max_position_embeddings;
  const int64_t text_tokens = static_cast<int64_t>(prompt.size()) - placeholders;
  const int64_t base = int64_t{cfg.crop_size / cfg.patch_size} * (cfg.crop_size / cfg.patch_size);  // 576
  auto too_long = [&](int64_t tokens, const std::string& why) {
    return Error(cmd + ": the prompt is at least " + std::to_string(tokens) + " tokens once its images are expanded (" +
                 why + "), beyond max_position_embeddings = " + std::to_string(limit));
  };
  // Every image adds at least its thumbnail's `base` tokens (a panorama keeps no tile row): refuse a
  // prompt that cannot fit before decoding anything.
  if (text_tokens + placeholders * base > limit)
    throw too_long(text_tokens + placeholders * base,
                   std::to_string(placeholders) + " images of at least " + std::to_string(base) + " tokens");
  int64_t tokens = text_tokens;
  uint64_t pixel_bytes = 0;
  std::string each;
  for (std::size_t k = 0; k < p.paths.size(); ++k) {
    const std::string& path = p.paths[k];
    // Decode and plan first; the crops (1.35 MB of pixel values each) only once the image fits.
    const image::Image im = image::decode_image_file(path);
    vl::AnyresPlan plan;
    try {
      plan = vl::plan_anyres(im.width, im.height, cfg);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    tokens += plan.num_image_tokens;
    each += (k ? ", " : "") + path + ": " + std::to_string(plan.num_image_tokens);
    const int64_t rest = static_cast<int64_t>(p.paths.size() - k - 1) * base;
    if (tokens + rest > limit)
      throw too_long(tokens + rest, each + " image tokens" + (rest ? ", then at least " + std::to_string(base) + " per image left" : ""));
    pixel_bytes += static_cast<uint64_t>(plan.num_crops) * 3 * static_cast<uint64_t>(cfg.crop_size) * cfg.crop_size * sizeof(float);
    require_memory(pixel_bytes, cmd + ": the pixel values of " + std::to_string(k + 1) + " image(s)");
    vl::PreprocessedImage pre = vl::preprocess_image(im, cfg);
    p.plans.push_back(pre.plan);
    p.images.push_back(vl::image_crops(std::move(pre), cfg));
  }
  // Expand: the k-th placeholder becomes images[k].num_tokens placeholders.
  std::vector<int64_t> expanded;
  std::size_t k = 0;
  for (int64_t id : prompt) {
    if (id != p.image_token_id) {
      expanded.push_back(id);
      continue;
    }
    expanded.insert(expanded.end(), static_cast<std::size_t>(p.images[k++].num_tokens), id);
  }
  p.tokens = std::move(expanded);
  return p;
}

void refuse_image_token_in_decode(const Args& a, const std::optional<VlConfig>& vl, const std::vector<int64_t>& decode,
                                  const std::string& option) {
  if (!vl) return;
  for (std::size_t i = 0; i < decode.size(); ++i)
    if (decode[i] == vl->image_token_index)
      throw Error(a.cmd() + ": " + option + " element " + std::to_string(i + 1) + " is the image placeholder id " +
                  std::to_string(vl->image_token_index) + "; images belong in the prompt (with --images)");
}

}  // namespace mm::cli
