// MiniMax-VL-01 end to end against an independent implementation assembled from released pieces
// (golden/vl_cases/, golden/generate_vl.py: Pillow 12.0.0 crops, transformers' CLIPVisionModel with exact
// GELU and the last hidden state, LLaVA-NeXT's projector and packing, the patched HF MiniMax text model
// driven with inputs_embeds; float64 and float32 runs).
//
// Each case runs through the harness backends ref-f64 / ref-f32 exactly as `forward --images` does:
// images decoded and preprocessed with the case's preprocessor_config.json, placeholders expanded, one
// prefill capturing every tensor, then the decode tokens. Every stored tensor is compared with the
// manifest's tolerance (rel_fro and max_abs, against the float64 run); the goldens store most per-token
// tensors at a subset of rows (vision.rows, vision.feature_rows, image_features.rows, text.rows), which
// the test gathers from the full tensors. The first diverging tensor in dataflow order is named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "core/image_decode.h"
#include "core/safetensors.h"
#include "core/sha256.h"
#include "core/text_weights.h"
#include "harness/backend.h"
#include "harness/golden_case.h"
#include "harness/tensor_id.h"
#include "reference/vl_preprocess.h"

namespace mm {
namespace {

using harness::Tensor;
namespace fs = std::filesystem;

std::vector<std::string> vl_case_dirs() {
  std::vector<std::string> out;
  const fs::path root = fs::path(MM_GOLDEN_ROOT) / "vl_cases";
  if (fs::is_directory(root))
    for (const auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "manifest.json")) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> ints(const TensorInfo& t) {
  std::vector<int64_t> v;
  for (double x : read_f64(t)) v.push_back(static_cast<int64_t>(x));
  return v;
}

// Rows `rows` of each of `groups` consecutive blocks of `per` rows of t [groups * per, C] -> [groups, R, C].
Tensor gather(const Tensor& t, int64_t groups, int64_t per, const std::vector<int64_t>& rows) {
  const int64_t C = t.shape.at(1);
  require(t.shape.at(0) == groups * per, "gather: " + std::to_string(t.shape.at(0)) + " rows, expected " +
                                             std::to_string(groups) + " x " + std::to_string(per));
  Tensor out;
  out.shape = {groups, static_cast<int64_t>(rows.size()), C};
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t r : rows)
      for (int64_t c = 0; c < C; ++c) out.values.push_back(t.values[static_cast<std::size_t>((g * per + r) * C + c)]);
  return out;
}
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& rows) {
  Tensor g = gather(t, 1, t.shape.at(0), rows);
  g.shape = {g.shape[1], g.shape[2]};
  return g;
}
// Columns `cols` of t [R, V], and the logsumexp of each row over all V columns.
Tensor gather_cols(const Tensor& t, const std::vector<int64_t>& cols) {
  const int64_t R = t.shape.at(0), V = t.shape.at(1);
  Tensor out;
  out.shape = {R, static_cast<int64_t>(cols.size())};
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c : cols) out.values.push_back(t.values[static_cast<std::size_t>(r * V + c)]);
  return out;
}
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
void append(Tensor& stack, const Tensor& row) {
  if (stack.shape.empty()) stack.shape = row.shape, stack.shape[0] = 0;
  stack.shape[0] += row.shape.at(0);
  stack.values.insert(stack.values.end(), row.values.begin(), row.values.end());
}

struct VlCase {
  std::string dir, name;
  nlohmann::json manifest, inputs;
};

VlCase load(const std::string& dir) {
  VlCase c;
  c.dir = dir;
  c.name = fs::path(dir).filename().string();
  c.manifest = read_json_file(dir + "/manifest.json", "VL golden manifest");
  c.inputs = read_json_file(dir + "/inputs.json", "VL golden inputs");
  return c;
}

// The model input as `forward --images` builds it, with the crops checked against Pillow's.
ModelInput model_input(const VlCase& c, const harness::LoadedModel& m) {
  const vl::PreprocessConfig pre = vl::load_preprocess_config(c.dir);
  ModelInput in;
  in.image_token_id = m.vl->image_token_index;
  EXPECT_EQ(in.image_token_id, c.inputs.at("image_token_index").get<int64_t>());
  const auto& imgs = c.manifest.at("images");
  for (std::size_t k = 0; k < imgs.size(); ++k) {
    vl::PreprocessedImage p = vl::preprocess_image(image::decode_image_file(c.dir + "/" + imgs[k].at("file").get<std::string>()), pre);
    const std::size_t crop_bytes = 336u * 336u * 3u;
    for (int j = 0; j < p.plan.num_crops; ++j)
      EXPECT_EQ(sha256_hex(std::string_view(reinterpret_cast<const char*>(p.crops_rgb.data()) + crop_bytes * j, crop_bytes)),
                imgs[k].at("crop_sha256")[static_cast<std::size_t>(j)].get<std::string>())
          << c.name << " image " << k << " crop " << j;
    EXPECT_EQ(p.plan.num_image_tokens, imgs[k].at("num_image_tokens").get<int64_t>());
    in.images.push_back(vl::image_crops(std::move(p), pre));
  }
  // Expand the one-placeholder-per-image prompt as the CLI does; it must equal the generator's.
  std::size_t k = 0;
  for (int64_t id : c.inputs.at("prompt_tokens").get<std::vector<int64_t>>()) {
    if (id != in.image_token_id) {
      in.tokens.push_back(id);
      continue;
    }
    in.tokens.insert(in.tokens.end(), static_cast<std::size_t>(in.images.at(k++).num_tokens), id);
  }
  EXPECT_EQ(in.tokens, c.inputs.at("prompt_tokens_expanded").get<std::vector<int64_t>>());
  return in;
}

// Everything the case stores, computed by `backend`, under the golden's names and shapes.
harness::TensorMap run(const VlCase& c, const std::string& backend, const SafetensorsFile& expected) {
  const harness::LoadedModel m = harness::load_model(c.dir);
  EXPECT_TRUE(m.vl.has_value());
  const ModelInput in = model_input(c, m);
  auto b = harness::registry().make(backend, m);
  harness::StepRequest req;
  req.capture = true;
  const harness::StepResult pre = b->step(in, req);
  const harness::TensorMap caches = b->caches();
  harness::TensorMap got;
  int64_t crops = 0;
  for (const ImageCrops& im : in.images) crops += im.num_crops;
  const auto vrows = ints(*expected.find("vision.rows")), frows = ints(*expected.find("vision.feature_rows"));
  const auto trows = ints(*expected.find("text.rows")), irows = ints(*expected.find("image_features.rows"));
  for (const auto& [name, t] : pre.tensors) {
    const harness::TensorId id = harness::TensorId::parse(name);
    if (name == "vision.features" || name == "projector.output") got[name] = gather(t, crops, 576, frows);
    else if (id.family == harness::Family::VisionEncoder) got[name] = gather(t, crops, 577, vrows);
    else if (name == "projector.image_features") got["image_features"] = gather_rows(t, irows);
    else if (id.family == harness::Family::TextDecoder || name == "final_norm") got[name] = gather_rows(t, trows);
  }
  for (const auto& [name, t] : caches)
    if (name.find("lightning_state") != std::string::npos) got[name] = t;
  // inputs_embeds: the token embeddings with the image rows spliced in, from the checkpoint's table.
  {
    const Checkpoint ck(c.dir);
    const TextWeightMap w = map_text_weights(ck, m.config);
    const std::vector<double> embed = w.embed.read_f64();
    const Tensor& feats = pre.tensors.at("projector.image_features");
    const int64_t H = m.config.hidden_size;
    Tensor e;
    e.shape = {static_cast<int64_t>(in.tokens.size()), H};
    int64_t next_image_row = 0;
    for (int64_t id : in.tokens) {
      const double* row = id == in.image_token_id ? feats.values.data() + next_image_row++ * H : embed.data() + id * H;
      e.values.insert(e.values.end(), row, row + H);
    }
    got["inputs_embeds"] = gather_rows(e, trows);
  }
  const bool cols = expected.find("vocab.cols") != nullptr;
  if (cols) {
    const auto vcols = ints(*expected.find("vocab.cols"));
    const Tensor last = gather_rows(pre.logits, {pre.logits.shape[0] - 1});
    got["logits_last_cols"] = gather_cols(last, vcols);
    got["logits_last_logsumexp"] = logsumexp_rows(last);
  } else {
    got["logits"] = gather_rows(pre.logits, trows);
  }
  // Decode: the given tokens one by one, each step's tensors stacked.
  Tensor dec_logits;
  std::map<std::string, Tensor> dec;
  for (int64_t t : c.inputs.at("decode_tokens").get<std::vector<int64_t>>()) {
    const harness::StepResult d = b->step(ModelInput({t}), req);
    append(dec_logits, d.logits);
    for (const auto& [name, x] : d.tensors)
      if (harness::TensorId::parse(name).family == harness::Family::TextDecoder || name == "final_norm")
        append(dec["decode." + name], x);
  }
  for (auto& [name, x] : dec) got[name] = x;
  for (const auto& [name, t] : b->caches())
    if (name.find("lightning_state") != std::string::npos) got["decode." + name] = t;
  if (cols) {
    got["decode_logits_cols"] = gather_cols(dec_logits, ints(*expected.find("vocab.cols")));
    got["decode_logits_logsumexp"] = logsumexp_rows(dec_logits);
  } else {
    got["decode_logits"] = dec_logits;
  }
  return got;
}

void check(const std::string& dir, const std::string& backend, const char* tol_key) {
  const VlCase c = load(dir);
  const SafetensorsFile expected(dir + "/expected.safetensors");
  const harness::TensorMap got = run(c, backend, expected);
  std::vector<std::string> names;
  for (const auto& [n, t] : expected.tensors())
    if (!c.manifest.at("tensors").at(n).value("index", false)) names.push_back(n);
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return harness::order_key(a) < harness::order_key(b); });
  std::string first_fail, worst;
  double worst_rel = 0;
  for (const std::string& n : names) {
    ASSERT_TRUE(got.count(n)) << c.name << ": " << backend << " produced no tensor '" << n << "'";
    const TensorInfo& ti = *expected.find(n);
    const golden::Diff d = golden::compare(got.at(n), read_f64(ti), ti.shape);
    ASSERT_TRUE(d.shape_ok) << c.name << ": tensor '" << n << "' shape mismatch";
    const auto& tol = c.manifest.at("tensors").at(n).at(tol_key);
    const bool ok = d.rel_fro <= tol.at("rel_fro").get<double>() && d.max_abs <= tol.at("max_abs").get<double>();
    if (!ok && first_fail.empty()) first_fail = n;
    EXPECT_TRUE(ok) << c.name << " " << backend << ": '" << n << "' rel_fro " << d.rel_fro << " (tol "
                    << tol.at("rel_fro").get<double>() << "), max_abs " << d.max_abs << " (tol "
                    << tol.at("max_abs").get<double>() << ")";
    if (d.rel_fro > worst_rel) worst_rel = d.rel_fro, worst = n;
  }
  if (!first_fail.empty()) ADD_FAILURE() << c.name << " " << backend << ": first diverging tensor: " << first_fail;
  std::printf("[vl-golden] %-16s %s: %zu tensors, worst rel_fro %.3e (%s)\n", c.name.c_str(), backend.c_str(),
              names.size(), worst_rel, worst.c_str());
}

class VlModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(VlModelGolden, Fp64ReferenceMatches) { check(GetParam(), "ref-f64", "tol_fp64"); }
TEST_P(VlModelGolden, Fp32ReferenceMatches) { check(GetParam(), "ref-f32", "tol_fp32"); }

TEST_P(VlModelGolden, FilesMatchManifestHashes) {
  const VlCase c = load(GetParam());
  const auto& sums = c.manifest.at("sha256");
  for (auto it = sums.begin(); it != sums.end(); ++it)
    EXPECT_EQ(sha256_file(c.dir + "/" + it.key()), it.value().get<std::string>()) << c.name << "/" << it.key();
  for (const auto& e : fs::directory_iterator(c.dir)) {
    const std::string f = e.path().filename().string();
    if (f == "manifest.json") continue;
    EXPECT_TRUE(sums.contains(f)) << c.name << "/" << f << " has no manifest hash";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, VlModelGolden, ::testing::ValuesIn(vl_case_dirs()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return fs::path(i.param).filename().string(); });

TEST(VlModelGoldenSet, AtLeastFourCases) { EXPECT_GE(vl_case_dirs().size(), 4u); }

}  // namespace
}  // namespace mm
