// --images: decode, preprocess, expand the placeholders (cli/image_inputs.h).
#include "cli/image_inputs.h"

#include "core/error.h"
#include "core/image_decode.h"

namespace mm::cli {

std::vector<std::string> image_paths(const Args& a) {
  std::vector<std::string> out;
  const std::string s = a.list_text("images");  // refuses an empty value or element
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::size_t end = comma == std::string::npos ? s.size() : comma;
    out.push_back(s.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
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
  for (const std::string& path : p.paths) {
    vl::PreprocessedImage pre = vl::preprocess_file(path, cfg);
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
  const int64_t limit = vl->text.max_position_embeddings;
  if (static_cast<int64_t>(expanded.size()) > limit) {
    std::string each;
    for (std::size_t i = 0; i < p.images.size(); ++i)
      each += (i ? ", " : "") + p.paths[i] + ": " + std::to_string(p.images[i].num_tokens);
    throw Error(cmd + ": the prompt is " + std::to_string(expanded.size()) + " tokens once its images are expanded (" +
                each + " image tokens), beyond max_position_embeddings = " + std::to_string(limit));
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
