// The whole MiniMax-VL-01 model of the reference (docs/semantics/vl-01-vision.md):
//
//   per image:  crops [n, 3, 336, 336] -> vision tower -> [n, 576, D] -> projector -> [n, 576, Ht]
//               -> packed with image_newline -> [N_k, Ht]
//   prompt:     the images' rows spliced at the image-token positions, in order (ModelInput::spliced)
//               -> the text model (ref::Model, its one layer loop) -> logits
//
// The text model is the Text-01 reference unchanged; this class only turns ModelInput::images into
// spliced embeddings and keeps the vision tensors for the harness.
#pragma once
#include <string>
#include <vector>

#include "core/model_input.h"
#include "core/safetensors.h"
#include "core/vl_config.h"
#include "reference/model.h"
#include "reference/vision_encoder.h"
#include "reference/vl_projector.h"

namespace mm::ref {

template <class T> struct VlWeights {
  VisionWeights<T> vision;
  ProjectorWeights<T> projector;
};

// The vision tower, projector and image_newline of a VL checkpoint, through the one vision name mapping
// (core/vision_weights.h: official or HF-port names, each tensor checked by shape, float dtype and
// finiteness), converted to the precision's scalar (BF16 rounds to bf16).
template <class P>
VlWeights<typename P::T> load_vl_weights(const Checkpoint& ck, const VlConfig& cfg);

// What the vision side of one step computed, every image's crops stacked in splice order.
template <class T> struct VlTrace {
  VisionTrace<T> vision;   // vision.embeddings, vision.pre_layrnorm, vision.layers.L.* [crops * 577, D]
  Mat<T> features;         // [crops * 576, D]   "vision.features" (last layer, CLS dropped)
  Mat<T> projector;        // [crops * 576, Ht]  "projector.output"
  Mat<T> image_features;   // [sum N_k, Ht]      "projector.image_features" (packed, spliced rows)
};

template <class P> class VlModel {
 public:
  using T = typename P::T;
  VlModel(VlConfig cfg, ModelWeights<T> text, VlWeights<T> vl);
  const VlConfig& config() const { return cfg_; }
  const Model<P>& text() const { return text_; }
  Model<P>& mutable_text() { return text_; }  // fault injection (harness soak) only

  // The packed features of `images` in splice order [sum of num_tokens, Ht]; each image's geometry is
  // re-planned from its size and checked against what it carries. With a trace, every vision tensor.
  // `vopt.after_layer` (optional) runs after every vision layer of every crop; its crop index counts the
  // crops of all `images` in order, starting at vopt.first_crop.
  Mat<T> image_features(const std::vector<ImageCrops>& images, VlTrace<T>* trace = nullptr,
                        const VisionOptions<T>& vopt = {}) const;

  // ModelInput with images: their features become the step's spliced embeddings at image_token_id (which
  // must be the config's image_token_index); then the text model runs as for any input.
  Mat<T> forward(const ModelInput& in, ModelCache<T>& cache, ForwardTrace<T>* trace = nullptr,
                 const ForwardOptions<T>& opt = {}, VlTrace<T>* vl_trace = nullptr,
                 const VisionOptions<T>& vopt = {}) const;

 private:
  VlConfig cfg_;
  Model<P> text_;
  VlWeights<T> vl_;
  vl::PreprocessConfig pre_;  // the geometry (crop size, patch, pinpoints) images are re-planned with
};

}  // namespace mm::ref
