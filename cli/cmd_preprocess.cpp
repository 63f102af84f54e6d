// minimax01 preprocess: one image through MiniMax-VL-01's official any-res preprocessing
// (docs/semantics/vl-01-preprocessing.md), printing the plan and optionally dumping the crops
// (docs/preprocess-dump.md).
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/stdout_document.h"
#include "cli/output_guard.h"
#include "core/clock.h"
#include "core/image_decode.h"
#include "core/safetensors.h"
#include "reference/vl_preprocess.h"

namespace mm::cli {

namespace {

void print_plan(const std::string& image, const image::Image& im, const vl::PreprocessConfig& cfg,
                const vl::AnyresPlan& p, image::ResizeOrder order) {
  std::printf("image %s: %d x %d (W x H), Pillow mode %s\n", image.c_str(), p.width, p.height,
              image::mode_name(im.mode));
  std::printf("settings: %s; resize order %s\n", cfg.source.c_str(), image::resize_order_name(order));
  std::printf("best resolution %d x %d, grid %d x %d tiles (rows x cols), keep-ratio resize %d x %d at (%d, %d)\n",
              p.best_width, p.best_height, p.grid_rows, p.grid_cols, p.resized_width, p.resized_height, p.pad_left,
              p.pad_top);
  std::printf("crops %d (thumbnail + %d tiles), kept feature grid %d x %d, image tokens %" PRId64 "\n", p.num_crops,
              p.num_crops - 1, p.kept_rows, p.kept_cols, p.num_image_tokens);
}

void write_dump(const std::string& path, const std::string& image, const vl::PreprocessedImage& out,
                const vl::PreprocessConfig& cfg, image::ResizeOrder order) {
  const vl::AnyresPlan& p = out.plan;
  const int64_t n = p.num_crops, s = cfg.crop_size;
  const std::vector<TensorSpec> specs = {{"pixel_values", DType::F32, {n, 3, s, s}},
                                         {"crops_uint8", DType::U8, {n, s, s, 3}}};
  auto num = [](int64_t v) { return std::to_string(v); };
  const std::map<std::string, std::string> meta = {
      {"format", "minimax01-preprocess-v1"},
      {"image", image},
      {"image_size", num(p.width) + "x" + num(p.height)},
      {"best_resolution", num(p.best_width) + "x" + num(p.best_height)},
      {"grid", num(p.grid_rows) + "x" + num(p.grid_cols)},
      {"resized", num(p.resized_width) + "x" + num(p.resized_height)},
      {"paste_offset", num(p.pad_left) + "," + num(p.pad_top)},
      {"kept_grid", num(p.kept_rows) + "x" + num(p.kept_cols)},
      {"num_image_tokens", num(p.num_image_tokens)},
      {"resize_order", image::resize_order_name(order)},
      {"settings", cfg.source}};
  write_safetensors(
      path, specs,
      [&](std::size_t i, std::vector<double>& v) {
        if (i == 0) v.assign(out.pixel_values.begin(), out.pixel_values.end());
        else v.assign(out.crops_rgb.begin(), out.crops_rgb.end());
      },
      meta);
}

}  // namespace

int cmd_preprocess(const std::vector<std::string>& argv) {
  const Args a(command_spec("preprocess"), argv);
  const std::string image = a.required("image");
  if (a.has("dump")) refuse_input_as_output(a, "dump", a.str("dump", ""));  // before the run, not after
  if (is_stdout_path(a.str("dump", "")))
    throw UsageError("preprocess: --dump takes a file path: a dump is a binary safetensors file, not for standard output ('-')");
  const image::ResizeOrder order = image::parse_resize_order(a.str("resize-order", "pillow-12"), "preprocess: --resize-order");
  image::DecodeLimits limits;
  limits.max_pixels = static_cast<uint64_t>(
      a.integer("max-pixels", static_cast<int64_t>(limits.max_pixels), 1, int64_t{1} << 32));
  const vl::PreprocessConfig cfg =
      a.has("model") ? vl::load_preprocess_config(a.str("model", "")) : vl::released_preprocess_config();
  const auto t0 = SteadyClock::now();
  vl::PreprocessOptions opt;
  opt.resize_order = order;
  image::Image im;
  const vl::PreprocessedImage out = vl::preprocess_file(image, cfg, opt, limits, &im);
  const auto t2 = SteadyClock::now();
  print_plan(image, im, cfg, out.plan, order);
  std::printf("decode and preprocess %.3f s\n", seconds_between(t0, t2));
  if (a.has("dump")) {
    write_dump(a.str("dump", ""), image, out, cfg, order);
    std::printf("wrote %s\n", a.str("dump", "").c_str());
  }
  return 0;
}

}  // namespace mm::cli
