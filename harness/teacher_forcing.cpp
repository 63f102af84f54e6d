#include "harness/teacher_forcing.h"

#include <algorithm>

#include "core/dtype.h"
#include "core/error.h"

namespace mm::harness {

LayerHook forcing_hook(const TensorMap& ref, Precision precision, LayerHook inner,
                       std::shared_ptr<ForcingRecord> rec, int first_layer) {
  // step: -1 before the first call; the run's first layer starts a new step (0 = prefill, j >= 1 = decode
  // step j - 1)
  auto step = std::make_shared<int64_t>(-1);
  const bool bf16 = precision == Precision::BF16;
  return [&ref, bf16, inner = std::move(inner), rec = std::move(rec), step, first_layer](int layer, int64_t rows,
                                                                                        int64_t cols, double* h) {
    if (layer == first_layer) ++*step;
    if (inner) inner(layer, rows, cols, h);
    const bool dec = *step > 0;
    const std::string name = std::string(dec ? "decode." : "") + "layers." + std::to_string(layer) + ".output";
    Tensor own;
    own.shape = {rows, cols};
    own.values.assign(h, h + rows * cols);
    append_rows(rec->own[name], own);

    const auto it = ref.find(name);
    if (it == ref.end()) throw Error("teacher forcing: the reference has no tensor '" + name + "'");
    const Tensor& r = it->second;
    const int64_t first = dec ? *step - 1 : 0;
    if (r.shape.size() != 2 || r.shape[1] != cols || r.shape[0] < first + rows)
      throw Error("teacher forcing: reference '" + name + "' has the wrong shape for " + std::to_string(rows) +
                  " rows of " + std::to_string(cols) + " starting at row " + std::to_string(first));
    const double* src = r.values.data() + first * cols;
    for (int64_t i = 0; i < rows * cols; ++i)
      h[i] = bf16 ? static_cast<double>(round_bf16(static_cast<float>(src[i]))) : src[i];
  };
}

VisionLayerHook vision_forcing_hook(const TensorMap& ref, Precision precision, VisionLayerHook inner,
                                    std::shared_ptr<ForcingRecord> rec) {
  const bool bf16 = precision == Precision::BF16;
  return [&ref, bf16, inner = std::move(inner), rec = std::move(rec)](int layer, int64_t crop, int64_t rows,
                                                                      int64_t cols, double* h) {
    if (inner) inner(layer, crop, rows, cols, h);
    const std::string name = "vision.layers." + std::to_string(layer) + ".output";
    Tensor own;
    own.shape = {rows, cols};
    own.values.assign(h, h + rows * cols);
    append_rows(rec->own[name], own);

    const auto it = ref.find(name);
    if (it == ref.end()) throw Error("teacher forcing: the reference has no tensor '" + name + "'");
    const Tensor& r = it->second;
    const int64_t first = crop * rows;
    if (r.shape.size() != 2 || r.shape[1] != cols || crop < 0 || r.shape[0] < first + rows)
      throw Error("teacher forcing: reference '" + name + "' has the wrong shape for crop " + std::to_string(crop) +
                  " (" + std::to_string(rows) + " rows of " + std::to_string(cols) + " starting at row " +
                  std::to_string(first) + ")");
    const double* src = r.values.data() + first * cols;
    for (int64_t i = 0; i < rows * cols; ++i)
      h[i] = bf16 ? static_cast<double>(round_bf16(static_cast<float>(src[i]))) : src[i];
  };
}

void restore_own_outputs(TensorMap& run, const ForcingRecord& rec) {
  for (const auto& [name, t] : rec.own) run[name] = t;
  // MiniMax-VL-01: vision.features is the last vision layer's output without each crop's CLS row, so it is
  // the backend's own too (not the forced values it was sliced from)
  int last = -1;
  while (rec.own.count("vision.layers." + std::to_string(last + 1) + ".output")) ++last;
  const auto f = run.find("vision.features");
  if (last < 0 || f == run.end()) return;
  const Tensor& out = rec.own.at("vision.layers." + std::to_string(last) + ".output");
  if (out.shape.size() != 2 || f->second.shape.size() != 2 || out.shape[1] != f->second.shape[1]) return;
  const int64_t cols = out.shape[1], crops = out.shape[0] - f->second.shape[0];  // one CLS row per crop
  if (crops <= 0 || out.shape[0] % crops != 0) return;
  const int64_t per = out.shape[0] / crops;
  Tensor feats;
  feats.shape = {out.shape[0] - crops, cols};
  for (int64_t r = 0; r < out.shape[0]; ++r)
    if (r % per != 0)
      feats.values.insert(feats.values.end(), out.values.begin() + r * cols, out.values.begin() + (r + 1) * cols);
  f->second = std::move(feats);
}

}  // namespace mm::harness
