// Backend selection and model loading shared by the subcommands.
#pragma once
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "reference/model.h"

namespace mm::cli {

// Calls f(P{}) with the reference precision named by `backend`.
template <class F> auto with_reference_backend(const std::string& backend, F&& f) {
  if (backend == "ref-f64") return f(ref::F64{});
  if (backend == "ref-f32") return f(ref::F32{});
  if (backend == "ref-bf16") return f(ref::BF16{});
  if (backend == "cuda" || backend == "cuda-sim")
    // forward and generate take them before calling this when the model path is built (MM_HAVE_CUDA_MODEL)
    throw Error("backend '" + backend + "' is not available: this build has no kernel model path (configured "
                "without the SIMT layer); available: ref-f64, ref-f32, ref-bf16");
  throw Error("unknown backend '" + backend + "' (expected ref-f64, ref-f32, ref-bf16, cuda or cuda-sim)");
}

template <class P> ref::Model<P> load_model(const std::string& dir) {
  ModelConfig cfg = load_config(dir);
  Checkpoint ck(dir);
  auto w = ref::load_weights<P>(ck, cfg);
  return ref::Model<P>(std::move(cfg), std::move(w));
}

}  // namespace mm::cli
