// MiniMax-VL-01 any-res preprocessing: the official processor's arithmetic (docs/semantics/
// vl-01-preprocessing.md). Every float expression mirrors the official Python: float64 for the
// resolution choice and the keep-ratio size (Python's int / int and int() truncation), float32 for the
// normalisation (torchvision's ToTensor + Normalize).
#include "reference/vl_preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sys/stat.h>

#include "core/error.h"
#include "core/file_io.h"
#include "core/vl_config.h"

namespace mm::vl {
namespace {

using nlohmann::json;

std::string at(const std::string& file, const std::string& field) { return file + ": \"" + field + "\""; }

// A JSON integer in [lo, hi] (a float with no fraction is accepted, as Python would).
int int_in(const json& v, const std::string& where, int64_t lo, int64_t hi) {
  double d = 0;
  if (v.is_number_integer() || v.is_number_unsigned()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
      throw Error(where + " is " + v.dump() + ", expected an integer in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    d = static_cast<double>(v.get<int64_t>());
  } else if (v.is_number_float()) {
    d = v.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d) throw Error(where + " is " + v.dump() + ", expected an integer");
  } else {
    throw Error(where + " is " + v.dump() + ", expected an integer");
  }
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw Error(where + " is " + v.dump() + ", expected an integer in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  return static_cast<int>(d);
}

std::array<float, 3> three_floats(const json& v, const std::string& where, bool positive) {
  if (!v.is_array() || v.size() != 3) throw Error(where + " is " + v.dump() + ", expected 3 numbers (R, G, B)");
  std::array<float, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    if (!v[i].is_number()) throw Error(where + "[" + std::to_string(i) + "] is " + v[i].dump() + ", expected a number");
    const double d = v[i].get<double>();
    const float f = static_cast<float>(d);
    if (!std::isfinite(d) || !std::isfinite(f) || (positive && !(f > 0.0f)))
      throw Error(where + "[" + std::to_string(i) + "] is " + v[i].dump() + ", expected a finite" +
                  (positive ? " positive" : "") + " number");
    out[i] = f;
  }
  return out;
}


bool file_exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

PreprocessConfig released_preprocess_config() {
  PreprocessConfig c;
  c.pinpoints = released_image_grid_pinpoints(c.crop_size);
  c.source = "released defaults";
  return c;
}

PreprocessConfig parse_preprocess_config(const json& doc, const std::string& file) {
  if (!doc.is_object()) throw Error(file + ": expected a JSON object");
  PreprocessConfig c = released_preprocess_config();
  c.source = file;
  if (doc.contains("process_image_mode") && doc.at("process_image_mode") != "anyres")
    throw Error(at(file, "process_image_mode") + " is " + doc.at("process_image_mode").dump() +
                ", expected \"anyres\" (the only mode MiniMax-VL-01 was released with)");
  if (doc.contains("size")) {
    const json& s = doc.at("size");
    int w = 0, h = 0;
    if (s.is_array() && s.size() == 2) {
      w = int_in(s[0], at(file, "size") + "[0]", 1, 1 << 16);
      h = int_in(s[1], at(file, "size") + "[1]", 1, 1 << 16);
    } else if (s.is_object() && s.contains("width") && s.contains("height") && s.size() == 2) {
      w = int_in(s.at("width"), at(file, "size.width"), 1, 1 << 16);
      h = int_in(s.at("height"), at(file, "size.height"), 1, 1 << 16);
    } else {
      throw Error(at(file, "size") + " is " + s.dump() + R"(, expected [336, 336] or {"height": 336, "width": 336})");
    }
    if (w != 336 || h != 336)
      throw Error(at(file, "size") + " is " + s.dump() + ", expected 336 x 336 (the vision tower's image_size)");
  }
  if (doc.contains("patch_size") && int_in(doc.at("patch_size"), at(file, "patch_size"), 1, 1 << 16) != 14)
    throw Error(at(file, "patch_size") + " is " + doc.at("patch_size").dump() + ", expected 14 (the vision tower's)");
  if (doc.contains("image_mean")) c.image_mean = three_floats(doc.at("image_mean"), at(file, "image_mean"), false);
  if (doc.contains("image_std")) c.image_std = three_floats(doc.at("image_std"), at(file, "image_std"), true);
  if (doc.contains("image_grid_pinpoints"))
    c.pinpoints = parse_image_grid_pinpoints(doc.at("image_grid_pinpoints"), file, "image_grid_pinpoints", c.crop_size);
  return c;
}

PreprocessConfig load_preprocess_config(const std::string& model_dir) {
  const std::string pp = model_dir + "/preprocessor_config.json";
  PreprocessConfig c = file_exists(pp) ? parse_preprocess_config(read_json_file(pp, "preprocessor config"), pp)
                                       : released_preprocess_config();
  if (!file_exists(pp)) c.source = "released defaults (" + pp + " is absent)";
  const std::string cj = model_dir + "/config.json";
  if (file_exists(cj)) {
    // A checkpoint's config.json must be MiniMax-VL-01's, and its pinpoints (the list the model unpacks
    // with) must equal the processor's (the list it tiles with).
    const json cfg = read_json_file(cj, "model config");
    if (!cfg.is_object() || !cfg.contains("model_type") || cfg.at("model_type") != "minimax_vl_01")
      throw Error(at(cj, "model_type") + " is " + (cfg.is_object() && cfg.contains("model_type") ? cfg.at("model_type").dump() : "missing") +
                  ": images need a MiniMax-VL-01 checkpoint (model_type \"minimax_vl_01\")");
    if (!cfg.contains("image_grid_pinpoints"))
      throw Error(at(cj, "image_grid_pinpoints") + " is missing: a MiniMax-VL-01 config names the pinpoints the model unpacks with");
    const auto model_pins = parse_image_grid_pinpoints(cfg.at("image_grid_pinpoints"), cj, "image_grid_pinpoints", c.crop_size);
    if (model_pins != c.pinpoints)
      throw Error(cj + ": \"image_grid_pinpoints\" differ from " + c.source +
                  "'s: the processor tiles with one list and the model unpacks with the other, so they must be equal");
  }
  return c;
}

std::array<int, 2> select_best_resolution(int width, int height, const PreprocessConfig& cfg) {
  require(width > 0 && height > 0, "select_best_resolution: image size must be positive");
  std::array<int, 2> best{0, 0};
  int64_t max_eff = 0;
  double min_waste = std::numeric_limits<double>::infinity();
  const int64_t pixels = static_cast<int64_t>(width) * height;
  for (const auto& p : cfg.pinpoints) {
    const double s = std::min(static_cast<double>(p[0]) / width, static_cast<double>(p[1]) / height);
    const auto dw = static_cast<int64_t>(width * s), dh = static_cast<int64_t>(height * s);
    const int64_t eff = std::min(dw * dh, pixels);
    const auto waste = static_cast<double>(static_cast<int64_t>(p[0]) * p[1] - eff);
    if (eff > max_eff || (eff == max_eff && waste < min_waste)) {
      max_eff = eff;
      min_waste = waste;
      best = p;
    }
  }
  require(best[0] > 0, "select_best_resolution: no pinpoint fits a " + std::to_string(width) + "x" +
                           std::to_string(height) + " image");
  return best;
}

namespace {

// The official get_num_token's unpadding: how many feature rows and columns of the (ch x cw) tile grid
// keep image content, by the original aspect ratio, in floor integer arithmetic.
struct KeptGrid {
  int64_t rows = 0, cols = 0;
};

KeptGrid kept_grid(int width, int height, const std::array<int, 2>& best, const PreprocessConfig& cfg) {
  const int64_t cw = best[0] / cfg.patch_size, ch = best[1] / cfg.patch_size;
  const int64_t W = width, H = height;
  if (static_cast<double>(W) / static_cast<double>(H) > static_cast<double>(cw) / static_cast<double>(ch))
    return {ch - 2 * ((ch - (H * cw) / W) / 2), cw};
  return {ch, cw - 2 * ((cw - (W * ch) / H) / 2)};
}

int64_t thumbnail_tokens(const PreprocessConfig& cfg) {
  const int64_t side = cfg.crop_size / cfg.patch_size;
  return side * side;
}

}  // namespace

int64_t image_token_count(int width, int height, const PreprocessConfig& cfg) {
  const KeptGrid g = kept_grid(width, height, select_best_resolution(width, height, cfg), cfg);
  return thumbnail_tokens(cfg) + g.rows * (g.cols + 1);
}

AnyresPlan plan_anyres(int width, int height, const PreprocessConfig& cfg) {
  AnyresPlan p;
  p.width = width;
  p.height = height;
  const auto best = select_best_resolution(width, height, cfg);
  p.best_width = best[0];
  p.best_height = best[1];
  p.grid_rows = p.best_height / cfg.crop_size;
  p.grid_cols = p.best_width / cfg.crop_size;
  p.num_crops = 1 + p.grid_rows * p.grid_cols;
  // keepratio_resize: Python's w / h > Wb / Hb and int(Wb * h / w), both float64.
  const int64_t W = width, H = height, Wb = p.best_width, Hb = p.best_height;
  if (static_cast<double>(W) / static_cast<double>(H) > static_cast<double>(Wb) / static_cast<double>(Hb)) {
    p.resized_width = p.best_width;
    p.resized_height = static_cast<int>(static_cast<double>(Wb * H) / static_cast<double>(W));
    p.pad_top = (p.best_height - p.resized_height) / 2;
  } else {
    p.resized_height = p.best_height;
    p.resized_width = static_cast<int>(static_cast<double>(Hb * W) / static_cast<double>(H));
    p.pad_left = (p.best_width - p.resized_width) / 2;
  }
  if (p.resized_width <= 0 || p.resized_height <= 0)
    throw Error("image " + std::to_string(width) + "x" + std::to_string(height) +
                ": aspect ratio too extreme: the keep-ratio resize to fit " + std::to_string(p.best_width) + "x" +
                std::to_string(p.best_height) + " would be " + std::to_string(p.resized_width) + "x" +
                std::to_string(p.resized_height) + " pixels (the official processor fails here too: Pillow "
                "cannot resize to a side of 0); refused");
  const KeptGrid g = kept_grid(width, height, best, cfg);
  p.kept_rows = static_cast<int>(g.rows);
  p.kept_cols = static_cast<int>(g.cols);
  p.num_image_tokens = thumbnail_tokens(cfg) + g.rows * (g.cols + 1);
  return p;
}

PreprocessedImage preprocess_file(const std::string& path, const PreprocessConfig& cfg, const PreprocessOptions& opt,
                                  const image::DecodeLimits& limits, image::Image* decoded) {
  image::Image im = image::decode_image_file(path, limits);  // its errors start with the path
  try {
    PreprocessedImage out = preprocess_image(im, cfg, opt);
    if (decoded) *decoded = std::move(im);
    return out;
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

ImageCrops image_crops(PreprocessedImage&& pre, const PreprocessConfig& cfg) {
  ImageCrops c;
  c.width = pre.plan.width;
  c.height = pre.plan.height;
  c.grid_rows = pre.plan.grid_rows;
  c.grid_cols = pre.plan.grid_cols;
  c.num_crops = pre.plan.num_crops;
  c.num_tokens = pre.plan.num_image_tokens;
  c.crop_size = cfg.crop_size;
  c.pixel_values = std::move(pre.pixel_values);
  return c;
}

float normalize_value(const PreprocessConfig& cfg, int c, uint8_t x) {
  // torchvision: ToTensor divides the uint8 by 255 in float32, Normalize subtracts then divides.
  const float v = static_cast<float>(x) / 255.0f;
  return (v - cfg.image_mean[static_cast<std::size_t>(c)]) / cfg.image_std[static_cast<std::size_t>(c)];
}

PreprocessedImage preprocess_image(const image::Image& im, const PreprocessConfig& cfg, const PreprocessOptions& opt) {
  PreprocessedImage out;
  out.plan = plan_anyres(im.width, im.height, cfg);
  const AnyresPlan& p = out.plan;
  const int S = cfg.crop_size;
  const std::size_t crop_bytes = static_cast<std::size_t>(S) * S * 3;
  out.crops_rgb.assign(crop_bytes * static_cast<std::size_t>(p.num_crops), 0);

  // Thumbnail first: the whole image squashed to S x S, then converted to RGB.
  const image::Image thumb = image::to_rgb(image::resize_bicubic(im, S, S, opt.resize_order));
  std::memcpy(out.crops_rgb.data(), thumb.pixels.data(), crop_bytes);

  // The keep-ratio resize, pasted on a black canvas; converting to RGB before pasting is what Pillow's
  // paste does for L, 1 and P, and for RGBA / LA it keeps the colour bytes and drops alpha.
  const image::Image resized =
      image::to_rgb(image::resize_bicubic(im, p.resized_width, p.resized_height, opt.resize_order));
  // Tiles straight from the pasted image: tile (r, c) pixel (y, x) is canvas (r S + y, c S + x), which is
  // resized (r S + y - pad_top, c S + x - pad_left) where that lies inside it, else black.
  for (int r = 0; r < p.grid_rows; ++r)
    for (int c = 0; c < p.grid_cols; ++c) {
      uint8_t* tile = out.crops_rgb.data() + crop_bytes * static_cast<std::size_t>(1 + r * p.grid_cols + c);
      for (int y = 0; y < S; ++y) {
        const int sy = r * S + y - p.pad_top;
        if (sy < 0 || sy >= resized.height) continue;
        const int x0 = std::max(0, p.pad_left - c * S), x1 = std::min(S, p.pad_left + resized.width - c * S);
        if (x0 >= x1) continue;
        std::memcpy(tile + (static_cast<std::size_t>(y) * S + x0) * 3,
                    resized.row(sy) + static_cast<std::size_t>(c * S + x0 - p.pad_left) * 3,
                    static_cast<std::size_t>(x1 - x0) * 3);
      }
    }

  // Normalise through a per-channel table of the 256 float32 values (the same arithmetic per value).
  std::array<std::array<float, 256>, 3> lut{};
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 256; ++x) lut[static_cast<std::size_t>(c)][static_cast<std::size_t>(x)] =
        normalize_value(cfg, c, static_cast<uint8_t>(x));
  const std::size_t plane = static_cast<std::size_t>(S) * S;
  out.pixel_values.resize(plane * 3 * static_cast<std::size_t>(p.num_crops));
  for (int k = 0; k < p.num_crops; ++k) {
    const uint8_t* src = out.crops_rgb.data() + crop_bytes * static_cast<std::size_t>(k);
    float* dst = out.pixel_values.data() + plane * 3 * static_cast<std::size_t>(k);
    for (std::size_t i = 0; i < plane; ++i)
      for (int c = 0; c < 3; ++c) dst[plane * static_cast<std::size_t>(c) + i] = lut[static_cast<std::size_t>(c)][src[i * 3 + static_cast<std::size_t>(c)]];
  }
  return out;
}

}  // namespace mm::vl
