// MiniMax-VL-01 in the reference: images -> vision tower -> projector -> packing -> spliced embeddings ->
// the text model (reference/vl_model.h; docs/semantics/vl-01-vision.md).
#include "reference/vl_model.h"

#include <span>

#include "core/error.h"
#include "core/vision_weights.h"
#include "reference/weight_block.h"

namespace mm::ref {
namespace {

template <class P> BiasedLinear<typename P::T> linear_of(const WeightBlock& w, const WeightBlock& b) {
  return {to_mat<P>(w), to_vec<P>(b)};
}
template <class P> LayerNormWeights<typename P::T> norm_of(const WeightBlock& w, const WeightBlock& b) {
  return {to_vec<P>(w), to_vec<P>(b)};
}

// The processor geometry the model packs with: the config's pinpoints, 336-pixel crops of 14-pixel patches.
vl::PreprocessConfig packing_geometry(const VlConfig& c) {
  vl::PreprocessConfig p = vl::released_preprocess_config();
  p.crop_size = static_cast<int>(c.vision.image_size);
  p.patch_size = static_cast<int>(c.vision.patch_size);
  p.pinpoints = c.image_grid_pinpoints;
  p.source = c.source;
  return p;
}

}  // namespace

template <class P>
VlWeights<typename P::T> load_vl_weights(const Checkpoint& ck, const VlConfig& cfg) {
  // Refuse a vision tower this machine cannot hold (on top of what is already loaded) before allocating
  // any of it: a clear error, not bad_alloc.
  constexpr uint64_t kBytes = sizeof(typename P::T);
  require_memory(static_cast<uint64_t>(count_vision_params(cfg).total) * kBytes,
                 cfg.source + ": the reference vision tower + projector (" + std::to_string(8 * kBytes) + "-bit weights)");
  const VisionWeightMap m = map_vision_weights(ck, cfg);
  VlWeights<typename P::T> w;
  w.vision.patch_embedding = to_mat<P>(m.patch_embedding);
  w.vision.class_embedding = to_vec<P>(m.class_embedding);
  w.vision.position_embedding = to_mat<P>(m.position_embedding);
  w.vision.pre_layrnorm = norm_of<P>(m.pre_norm_weight, m.pre_norm_bias);
  for (const VisionLayerWeightMap& L : m.layers) {
    VisionLayerWeights<typename P::T> l;
    l.layer_norm1 = norm_of<P>(L.ln1_weight, L.ln1_bias);
    l.q_proj = linear_of<P>(L.q_weight, L.q_bias);
    l.k_proj = linear_of<P>(L.k_weight, L.k_bias);
    l.v_proj = linear_of<P>(L.v_weight, L.v_bias);
    l.out_proj = linear_of<P>(L.out_weight, L.out_bias);
    l.layer_norm2 = norm_of<P>(L.ln2_weight, L.ln2_bias);
    l.fc1 = linear_of<P>(L.fc1_weight, L.fc1_bias);
    l.fc2 = linear_of<P>(L.fc2_weight, L.fc2_bias);
    w.vision.layers.push_back(std::move(l));
  }
  w.projector.linear_1 = linear_of<P>(m.linear1_weight, m.linear1_bias);
  w.projector.linear_2 = linear_of<P>(m.linear2_weight, m.linear2_bias);
  w.projector.image_newline = to_vec<P>(m.image_newline);
  check_vision_weights(w.vision, cfg.vision);
  return w;
}

template <class P>
VlModel<P>::VlModel(VlConfig cfg, ModelWeights<T> text, VlWeights<T> vl)
    : cfg_(std::move(cfg)), text_(cfg_.text, std::move(text)), vl_(std::move(vl)), pre_(packing_geometry(cfg_)) {
  check_vision_weights(vl_.vision, cfg_.vision);
}

template <class P>
Mat<typename P::T> VlModel<P>::image_features(const std::vector<ImageCrops>& images, VlTrace<T>* trace,
                                              const VisionOptions<T>& vopt) const {
  if (trace) *trace = {};
  VisionOptions<T> one = vopt;  // first_crop advances by each image's crops
  Mat<T> out(0, cfg_.text.hidden_size);
  for (std::size_t k = 0; k < images.size(); ++k) {
    const ImageCrops& im = images[k];
    const std::string which = "image " + std::to_string(k + 1) + " of " + std::to_string(images.size());
    require(im.width >= 1 && im.height >= 1 && im.width <= (1 << 30) && im.height <= (1 << 30),
            which + ": size " + std::to_string(im.width) + " x " + std::to_string(im.height) + " is not a valid image size");
    // The packing geometry comes from the image's size and the model's pinpoints; what the image carries
    // must agree (a caller that preprocessed with other settings is refused, not silently mis-packed).
    const vl::AnyresPlan plan = vl::plan_anyres(static_cast<int>(im.width), static_cast<int>(im.height), pre_);
    require(plan.num_crops == im.num_crops && plan.grid_rows == im.grid_rows && plan.grid_cols == im.grid_cols &&
                plan.num_image_tokens == im.num_tokens && im.crop_size == cfg_.vision.image_size,
            which + " (" + std::to_string(im.width) + " x " + std::to_string(im.height) + ") carries " +
                std::to_string(im.num_crops) + " crops of " + std::to_string(im.crop_size) + " px in a " +
                std::to_string(im.grid_rows) + " x " + std::to_string(im.grid_cols) + " grid for " +
                std::to_string(im.num_tokens) + " tokens; this model's pinpoints give " +
                std::to_string(plan.num_crops) + " crops in " + std::to_string(plan.grid_rows) + " x " +
                std::to_string(plan.grid_cols) + " for " + std::to_string(plan.num_image_tokens));
    VisionTrace<T> vt;
    const std::vector<Mat<T>> feats =
        vision_tower_crops<P>(std::span<const float>(im.pixel_values), vl_.vision, cfg_.vision, trace ? &vt : nullptr, one);
    one.first_crop += static_cast<int64_t>(feats.size());
    std::vector<Mat<T>> projected;
    for (const Mat<T>& f : feats) {
      projected.push_back(project<P>(f, vl_.projector));
      if (trace) {
        append_rows(trace->features, f);
        append_rows(trace->projector, projected.back());
      }
    }
    const Mat<T> packed = pack_image_features<P>(projected, plan, vl_.projector.image_newline);
    append_rows(out, packed);
    if (trace) append_trace(trace->vision, vt);
  }
  if (trace) trace->image_features = out;
  return out;
}

template <class P>
Mat<typename P::T> VlModel<P>::forward(const ModelInput& in, ModelCache<T>& cache, ForwardTrace<T>* trace,
                                       const ForwardOptions<T>& opt, VlTrace<T>* vl_trace,
                                       const VisionOptions<T>& vopt) const {
  if (in.images.empty()) return text_.forward(in, cache, trace, opt);
  // The whole input is checked before the vision tower runs (counts, sizes, position limit).
  check_model_input(cfg_.text, in, cache.position);
  require(in.image_token_id == cfg_.image_token_index,
          "forward: images are placed at token id " + std::to_string(in.image_token_id) +
              ", but this model's image_token_index is " + std::to_string(cfg_.image_token_index));
  const Mat<T> feats = image_features(in.images, vl_trace, vopt);
  ModelInput text_in(in.tokens);
  text_in.spliced.token_id = in.image_token_id;
  text_in.spliced.rows = feats.rows();
  text_in.spliced.cols = feats.cols();
  text_in.spliced.values.assign(feats.data(), feats.data() + feats.size());
  return text_.forward(text_in, cache, trace, opt);
}

template VlWeights<double> load_vl_weights<F64>(const Checkpoint&, const VlConfig&);
template VlWeights<float> load_vl_weights<F32>(const Checkpoint&, const VlConfig&);
template VlWeights<float> load_vl_weights<BF16>(const Checkpoint&, const VlConfig&);
template class VlModel<F64>;
template class VlModel<F32>;
template class VlModel<BF16>;

}  // namespace mm::ref
