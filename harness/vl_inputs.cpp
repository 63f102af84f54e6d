#include "harness/vl_inputs.h"

#include "core/error.h"
#include <algorithm>
#include <string_view>

#include "core/image_synthetic.h"

namespace mm::harness {

ImageCrops synthetic_image_crops(const vl::PreprocessConfig& pc, int width, int height, uint64_t seed, SyntheticImage* info) {
  const image::Image im = image::synthetic_image(width, height, image::Mode::RGB, seed, image::SyntheticContent::Noise);
  ImageCrops c = vl::image_crops(vl::preprocess_image(im, pc), pc);
  if (info) *info = {width, height, seed, c.num_crops, c.num_tokens};
  return c;
}

void avoid_placeholder(std::vector<int64_t>& tokens, int64_t image_token_id, int64_t vocab_size) {
  for (int64_t& t : tokens)
    if (t == image_token_id) t = (t + 1) % vocab_size;
}

ModelInput image_prompt(const std::vector<int64_t>& text, std::vector<ImageCrops> images, int64_t image_token_id) {
  const std::size_t n = text.size(), K = images.size();
  std::vector<int64_t> prompt;
  for (std::size_t i = 0; i <= n; ++i) {
    for (std::size_t k = 0; k < K; ++k)
      if (i == (k + 1) * n / (K + 1)) prompt.insert(prompt.end(), static_cast<std::size_t>(images[k].num_tokens), image_token_id);
    if (i < n) prompt.push_back(text[i]);
  }
  ModelInput in(std::move(prompt));
  in.images = std::move(images);
  in.image_token_id = in.images.empty() ? -1 : image_token_id;
  return in;
}

std::vector<std::array<int, 2>> parse_image_sizes(const std::string& s, const std::string& option) {
  const std::string expect = " (expected WxH[,WxH...], each side an integer in [1, " + std::to_string(kMaxImageSide) +
                             "], e.g. 300x200)";
  std::vector<std::array<int, 2>> out;
  auto side = [&](const std::string& item, std::string_view v) {
    int x = 0;
    if (v.empty() || v.size() > 5) throw UsageError(option + ": bad size '" + item + "'" + expect);
    for (char ch : v) {
      if (ch < '0' || ch > '9') throw UsageError(option + ": bad size '" + item + "'" + expect);
      x = x * 10 + (ch - '0');
    }
    if (x < 1 || x > kMaxImageSide) throw UsageError(option + ": side " + std::string(v) + " of '" + item + "' is out of range" + expect);
    return x;
  };
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    const std::string item = s.substr(start, end - start);
    start = end + 1;
    if (item.empty()) throw UsageError(option + ": element " + std::to_string(out.size() + 1) + " is empty (in '" + s + "')" + expect);
    const auto x = item.find('x');
    if (x == std::string::npos) throw UsageError(option + ": bad size '" + item + "'" + expect);
    out.push_back({side(item, std::string_view(item).substr(0, x)), side(item, std::string_view(item).substr(x + 1))});
    if (out.size() > 16) throw UsageError(option + ": at most 16 sizes, got more in '" + s + "'");
  }
  return out;
}

}  // namespace mm::harness
