#include "harness/vl_golden.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string_view>

#include "core/error.h"
#include "core/file_io.h"
#include "core/image_decode.h"
#include "core/sha256.h"
#include "core/text_weights.h"
#include "harness/tensor_id.h"
#include "reference/vl_preprocess.h"

namespace mm::golden {
namespace fs = std::filesystem;
using harness::Tensor;
using harness::TensorMap;

namespace {

// The values of an index tensor (stored as F64/I64 in expected.safetensors), as row / column indices.
std::vector<int64_t> indices(const SafetensorsFile& f, const std::string& name, const std::string& where) {
  const TensorInfo* t = f.find(name);
  if (!t) throw Error(where + ": expected.safetensors has no index tensor '" + name + "'");
  std::vector<int64_t> v;
  for (double x : read_f64(*t)) {
    if (!(x >= 0 && x < 9.0e15 && x == std::floor(x)))
      throw Error(where + ": index tensor '" + name + "' holds " + std::to_string(x) + ", expected a row index");
    v.push_back(static_cast<int64_t>(x));
  }
  return v;
}

// Rows `rows` of each of `groups` consecutive blocks of `per` rows of t [groups * per, C] -> [groups, R, C].
Tensor gather(const Tensor& t, int64_t groups, int64_t per, const std::vector<int64_t>& rows, const std::string& name) {
  require(t.shape.size() == 2 && t.shape[0] == groups * per,
          "golden view: tensor '" + name + "' has " + std::to_string(t.shape.empty() ? 0 : t.shape[0]) +
              " rows, expected " + std::to_string(groups) + " x " + std::to_string(per));
  const int64_t C = t.shape[1];
  Tensor out;
  out.shape = {groups, static_cast<int64_t>(rows.size()), C};
  out.values.reserve(static_cast<std::size_t>(groups) * rows.size() * static_cast<std::size_t>(C));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t r : rows) {
      require(r < per, "golden view: row " + std::to_string(r) + " of '" + name + "' is past its " + std::to_string(per) + " rows");
      const double* src = t.values.data() + (g * per + r) * C;
      out.values.insert(out.values.end(), src, src + C);
    }
  return out;
}
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& rows, const std::string& name) {
  Tensor g = gather(t, 1, t.shape.empty() ? 0 : t.shape[0], rows, name);
  g.shape = {g.shape[1], g.shape[2]};
  return g;
}
// Columns `cols` of t [R, V].
Tensor gather_cols(const Tensor& t, const std::vector<int64_t>& cols) {
  const int64_t R = t.shape.at(0), V = t.shape.at(1);
  Tensor out;
  out.shape = {R, static_cast<int64_t>(cols.size())};
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c : cols) {
      require(c < V, "golden view: vocabulary column " + std::to_string(c) + " is past the logits' " + std::to_string(V));
      out.values.push_back(t.values[static_cast<std::size_t>(r * V + c)]);
    }
  return out;
}
// The logsumexp of each row of t [R, V] over all V columns -> [R].
Tensor logsumexp_rows(const Tensor& t) {
  const int64_t R = t.shape.at(0), V = t.shape.at(1);
  Tensor out;
  out.shape = {R};
  for (int64_t r = 0; r < R; ++r) {
    const double* row = t.values.data() + r * V;
    const double m = *std::max_element(row, row + V);
    double s = 0;
    for (int64_t c = 0; c < V; ++c) s += std::exp(row[c] - m);
    out.values.push_back(m + std::log(s));
  }
  return out;
}
Tensor last_row(const Tensor& t) {
  Tensor out;
  out.shape = {1, t.shape.at(1)};
  out.values.assign(t.values.end() - t.shape[1], t.values.end());
  return out;
}

}  // namespace

template <class F>
static auto named(const VlCase& c, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {  // a missing or mistyped field of the case's files
    throw Error("VL golden case '" + c.name + "' (" + c.dir + "): malformed manifest.json or inputs.json: " + e.what());
  }
}

// The bodies of vl_case_prompt / compare_vl_case (below), which named() wraps.
static ModelInput vl_case_prompt_unchecked(const VlCase& c, int64_t model_image_token_index);
static std::vector<VlTensorDiff> compare_vl_case_unchecked(const VlCase& c, const SafetensorsFile& expected,
                                                           const TensorMap& view, const std::string& tol_key);

bool is_vl_case(const std::string& dir) {
  const fs::path mf = fs::path(dir) / "manifest.json";
  std::error_code ec;
  if (!fs::is_regular_file(mf, ec)) return false;
  const nlohmann::json m = read_json_file(mf.string(), "golden manifest");
  return m.is_object() && m.contains("images") && m.contains("vision");
}

VlCase load_vl_case(const std::string& dir) {
  const Case base = load_case(dir);  // the directory, manifest.json, inputs.json's token arrays
  VlCase c;
  c.name = base.name;
  c.dir = base.dir;
  c.manifest = base.manifest;
  c.prompt = base.prompt;
  c.decode = base.decode;
  const std::string inf = (fs::path(dir) / "inputs.json").string();
  c.inputs = read_json_file(inf, "VL golden inputs");
  const auto need = [&](const nlohmann::json& j, const char* key, const std::string& file) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) throw Error(file + ": missing '" + key + "' (a MiniMax-VL-01 golden case)");
    return j.at(key);
  };
  const nlohmann::json& idx = need(c.inputs, "image_token_index", inf);
  if (!idx.is_number_integer()) throw Error(inf + ": image_token_index: expected an integer");
  c.image_token_index = idx.get<int64_t>();
  const std::string mf = (fs::path(dir) / "manifest.json").string();
  if (!need(c.manifest, "images", mf).is_array()) throw Error(mf + ": images: expected an array");
  if (!need(c.manifest, "tensors", mf).is_object()) throw Error(mf + ": tensors: expected an object");
  return c;
}

std::vector<std::string> vl_case_dirs(const std::string& golden_root) {
  std::vector<std::string> out;
  const fs::path root = fs::path(golden_root) / "vl_cases";
  if (fs::is_directory(root))
    for (const auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "manifest.json")) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

ModelInput vl_case_prompt(const VlCase& c, int64_t model_image_token_index) {
  return named(c, [&] { return vl_case_prompt_unchecked(c, model_image_token_index); });
}

static ModelInput vl_case_prompt_unchecked(const VlCase& c, int64_t model_image_token_index) {
  const std::string where = "VL golden case '" + c.name + "' (" + c.dir + ")";
  require(model_image_token_index == c.image_token_index,
          where + ": image_token_index " + std::to_string(c.image_token_index) + " in inputs.json, the model's is " +
              std::to_string(model_image_token_index));
  const vl::PreprocessConfig pre = vl::load_preprocess_config(c.dir);
  ModelInput in;
  in.image_token_id = model_image_token_index;
  const auto& imgs = c.manifest.at("images");
  for (std::size_t k = 0; k < imgs.size(); ++k) {
    const std::string file = (fs::path(c.dir) / imgs[k].at("file").get<std::string>()).string();
    vl::PreprocessedImage p = vl::preprocess_image(image::decode_image_file(file), pre);
    const auto& sums = imgs[k].at("crop_sha256");
    require(sums.is_array() && static_cast<int64_t>(sums.size()) == p.plan.num_crops,
            where + ": image " + std::to_string(k) + " (" + file + ") gives " + std::to_string(p.plan.num_crops) +
                " crops, the case stores " + std::to_string(sums.size()));
    const std::size_t crop_bytes = p.crops_rgb.size() / static_cast<std::size_t>(p.plan.num_crops);
    for (int j = 0; j < p.plan.num_crops; ++j) {
      const std::string got =
          sha256_hex(std::string_view(reinterpret_cast<const char*>(p.crops_rgb.data()) + crop_bytes * j, crop_bytes));
      require(got == sums[static_cast<std::size_t>(j)].get<std::string>(),
              where + ": image " + std::to_string(k) + " (" + file + ") crop " + std::to_string(j) +
                  ": the preprocessing gives other pixels than the independent implementation's (sha256 " + got + ")");
    }
    const int64_t tokens = imgs[k].at("num_image_tokens").get<int64_t>();
    require(p.plan.num_image_tokens == tokens, where + ": image " + std::to_string(k) + " gives " +
                                                   std::to_string(p.plan.num_image_tokens) + " image tokens, the case stores " +
                                                   std::to_string(tokens));
    in.images.push_back(vl::image_crops(std::move(p), pre));
  }
  // one placeholder per image, expanded as the CLI does (cli/image_inputs.h)
  std::size_t k = 0;
  for (int64_t id : c.prompt) {
    if (id != in.image_token_id) {
      in.tokens.push_back(id);
      continue;
    }
    require(k < in.images.size(), where + ": more image placeholders in prompt_tokens than images");
    in.tokens.insert(in.tokens.end(), static_cast<std::size_t>(in.images[k++].num_tokens), id);
  }
  require(k == in.images.size(), where + ": " + std::to_string(k) + " image placeholders in prompt_tokens for " +
                                     std::to_string(in.images.size()) + " images");
  require(in.tokens == c.inputs.at("prompt_tokens_expanded").get<std::vector<int64_t>>(),
          where + ": the expanded prompt differs from the case's prompt_tokens_expanded");
  return in;
}

TensorMap golden_view(const VlCase& c, const SafetensorsFile& expected, const TensorMap& run, const ModelInput& prompt,
                      const ModelConfig& text) {
  const std::string where = "VL golden case '" + c.name + "'";
  int64_t crops = 0;
  for (const ImageCrops& im : prompt.images) crops += im.num_crops;
  const auto vrows = indices(expected, "vision.rows", where), frows = indices(expected, "vision.feature_rows", where);
  const auto trows = indices(expected, "text.rows", where), irows = indices(expected, "image_features.rows", where);
  const bool cols = expected.find("vocab.cols") != nullptr;
  const auto vcols = cols ? indices(expected, "vocab.cols", where) : std::vector<int64_t>{};
  TensorMap got;
  // Only what the case stores (a run holds more: router tensors, k/v caches, ...).
  const auto stored = [&](const std::string& n) { return expected.find(n) != nullptr; };
  for (const auto& [name, t] : run) {
    const harness::TensorId id = harness::TensorId::parse(name);
    const bool decode = id.phase == harness::Phase::Decode;
    if (name == "projector.image_features") {
      if (stored("image_features")) got["image_features"] = gather_rows(t, irows, name);
      continue;
    }
    if (name == "logits" || name == "decode_logits") {
      const std::string p = name == "logits" ? "logits_last" : "decode_logits";
      if (cols && stored(p + "_cols")) {
        const Tensor rows = name == "logits" ? last_row(t) : t;
        got[p + "_cols"] = gather_cols(rows, vcols);
        got[p + "_logsumexp"] = logsumexp_rows(rows);
      } else if (!cols && stored(name)) {
        got[name] = name == "logits" ? gather_rows(t, trows, name) : t;
      }
      continue;
    }
    if (!stored(name)) continue;
    // the vision tensors hold every crop's rows: 577 per crop (CLS + patches), 576 after the CLS is dropped
    const int64_t per_crop = crops > 0 && !t.shape.empty() ? t.shape[0] / crops : 0;
    if (name == "vision.features" || name == "projector.output") got[name] = gather(t, crops, per_crop, frows, name);
    else if (id.family == harness::Family::VisionEncoder) got[name] = gather(t, crops, per_crop, vrows, name);
    else if (id.kind == "lightning_state") got[name] = t;  // [heads, d, d], prefill and after the decode steps
    else got[name] = decode ? t : gather_rows(t, trows, name);  // text rows; decode: one row per step, all stored
  }
  // inputs_embeds: the token embeddings with the image rows spliced in, from the checkpoint's table.
  const auto feats = run.find("projector.image_features");
  if (feats != run.end() && stored("inputs_embeds")) {
    const Checkpoint ck(c.dir);
    const std::vector<double> embed = map_text_weights(ck, text).embed.read_f64();
    const int64_t H = text.hidden_size;
    Tensor e;
    e.shape = {prompt.length(), H};
    int64_t next_image_row = 0;
    for (int64_t id : prompt.tokens) {
      const double* row =
          id == prompt.image_token_id ? feats->second.values.data() + next_image_row++ * H : embed.data() + id * H;
      e.values.insert(e.values.end(), row, row + H);
    }
    got["inputs_embeds"] = gather_rows(e, trows, "inputs_embeds");
  }
  return got;
}

std::vector<VlTensorDiff> compare_vl_case(const VlCase& c, const SafetensorsFile& expected, const TensorMap& view,
                                          const std::string& tol_key) {
  return named(c, [&] { return compare_vl_case_unchecked(c, expected, view, tol_key); });
}

static std::vector<VlTensorDiff> compare_vl_case_unchecked(const VlCase& c, const SafetensorsFile& expected,
                                                           const TensorMap& view, const std::string& tol_key) {
  const auto& tensors = c.manifest.at("tensors");
  std::vector<std::string> names;
  for (const auto& [n, t] : expected.tensors()) {
    require(tensors.contains(n), "VL golden case '" + c.name + "': manifest.json has no entry for tensor '" + n + "'");
    if (!tensors.at(n).value("index", false)) names.push_back(n);
  }
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return harness::order_key(a) < harness::order_key(b); });
  std::vector<VlTensorDiff> out;
  for (const std::string& n : names) {
    VlTensorDiff d;
    d.name = n;
    const auto& tol = tensors.at(n).at(tol_key);
    d.tol_rel_fro = tol.at("rel_fro").get<double>();
    d.tol_max_abs = tol.at("max_abs").get<double>();
    const auto g = view.find(n);
    d.produced = g != view.end();
    if (d.produced) {
      const TensorInfo& ti = *expected.find(n);
      const Diff diff = compare(g->second, read_f64(ti), ti.shape);
      d.shape_ok = diff.shape_ok;
      d.rel_fro = diff.rel_fro;
      d.max_abs = diff.max_abs;
      // NaN never passes: the comparisons are false for NaN
      d.pass = d.shape_ok && d.rel_fro <= d.tol_rel_fro && d.max_abs <= d.tol_max_abs;
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace mm::golden
