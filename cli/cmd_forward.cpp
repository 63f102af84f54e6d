// minimax01 forward: prefill + decode, dumping the outside-check contract
// (F32 logits [S,V], hidden_states [L,S,H], decode_logits [N,V]); see docs/forward-dump.md.
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_loader.h"
#if defined(MM_HAVE_CUDA_MODEL)
#include "optimized/model/cuda_model_loader.h"
#endif

namespace mm::cli {

template <class P>
static int run_forward(const Args& a) {
  using T = typename P::T;
  const auto prompt = a.int_list("tokens");
  const auto decode = a.int_list("decode-tokens");
  if (prompt.empty()) throw Error("forward: --tokens is empty (the prompt needs at least one token)");
  const auto t0 = std::chrono::steady_clock::now();
  auto model = load_model<P>(a.required("model"));
  const auto& c = model.config();
  auto cache = model.new_cache();
  ref::ForwardTrace<T> trace;
  const auto t1 = std::chrono::steady_clock::now();
  const ref::Mat<T> logits = model.forward(prompt, cache, &trace);
  const auto t2 = std::chrono::steady_clock::now();
  ref::Mat<T> dec(static_cast<Eigen::Index>(decode.size()), c.vocab_size);
  for (std::size_t i = 0; i < decode.size(); ++i)
    dec.row(static_cast<Eigen::Index>(i)) = model.forward({decode[i]}, cache).row(0);
  const auto t3 = std::chrono::steady_clock::now();
  auto secs = [](auto x, auto y) { return std::chrono::duration<double>(y - x).count(); };

  const int64_t S = static_cast<int64_t>(prompt.size()), N = static_cast<int64_t>(decode.size());
  const int64_t L = c.num_hidden_layers, H = c.hidden_size, V = c.vocab_size;
  std::printf("backend %s, %lld prompt tokens, %lld decode tokens\n", P::kName, (long long)S, (long long)N);
  std::printf("load %.2f s, prefill %.3f s, decode %.3f s\n", secs(t0, t1), secs(t1, t2), secs(t2, t3));
  Eigen::Index am;
  logits.row(S - 1).maxCoeff(&am);
  std::printf("last prompt position: argmax token %lld, logit %.6g\n", (long long)am, static_cast<double>(logits(S - 1, am)));
  if (N) {
    dec.row(N - 1).maxCoeff(&am);
    std::printf("last decode step: argmax token %lld, logit %.6g\n", (long long)am, static_cast<double>(dec(N - 1, am)));
  }
  if (a.has("dump")) {
    const std::string path = a.str("dump", "");
    std::vector<TensorSpec> specs = {{"logits", DType::F32, {S, V}},
                                     {"hidden_states", DType::F32, {L, S, H}},
                                     {"decode_logits", DType::F32, {N, V}}};
    write_safetensors(path, specs, [&](std::size_t i, std::vector<double>& v) {
      if (i == 0) for (int64_t k = 0; k < S * V; ++k) v[k] = logits.data()[k];
      if (i == 1)
        for (int64_t l = 0; l < L; ++l)
          for (int64_t k = 0; k < S * H; ++k) v[l * S * H + k] = trace.layers[l].output.data()[k];
      if (i == 2) for (int64_t k = 0; k < N * V; ++k) v[k] = dec.data()[k];
    }, {{"backend", P::kName}, {"format", "minimax01-forward-v1"}});
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

#if defined(MM_HAVE_CUDA_MODEL)
// The optimized kernels (`cuda` on the GPU, `cuda-sim` on the CPU): same runs, same dump contract.
static int run_forward_cuda(const Args& a, const std::string& backend) {
  const auto prompt = a.int_list("tokens");
  const auto decode = a.int_list("decode-tokens");
  if (prompt.empty()) throw Error("forward: --tokens is empty (the prompt needs at least one token)");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string dir = a.required("model");
  const ModelConfig c = load_config(dir);
  auto model = cuda_model::open_model(backend, c, dir);
  const auto t1 = std::chrono::steady_clock::now();
  cuda_model::check_tokens(c, prompt, 0);
  const cuda_model::StepOutput pre = model->step(prompt, true);
  const auto t2 = std::chrono::steady_clock::now();
  const int64_t S = static_cast<int64_t>(prompt.size()), N = static_cast<int64_t>(decode.size());
  const int64_t L = c.num_hidden_layers, H = c.hidden_size, V = c.vocab_size;
  std::vector<float> dec(static_cast<std::size_t>(N * V));
  for (int64_t i = 0; i < N; ++i) {
    const std::vector<int64_t> tok = {decode[static_cast<std::size_t>(i)]};
    cuda_model::check_tokens(c, tok, model->position());
    const auto r = model->step(tok, false);
    std::copy(r.logits.begin(), r.logits.end(), dec.begin() + i * V);
  }
  const auto t3 = std::chrono::steady_clock::now();
  auto secs = [](auto x, auto y) { return std::chrono::duration<double>(y - x).count(); };
  auto argmax = [&](const float* row) {
    int64_t am = 0;
    for (int64_t j = 1; j < V; ++j) if (row[j] > row[am]) am = j;
    return am;
  };
  std::printf("backend %s, %lld prompt tokens, %lld decode tokens\n", backend.c_str(), (long long)S, (long long)N);
  std::printf("kernels: %s\n", model->kernels().c_str());
  std::printf("load %.2f s, prefill %.3f s, decode %.3f s\n", secs(t0, t1), secs(t1, t2), secs(t2, t3));
  int64_t am = argmax(pre.logits.data() + (S - 1) * V);
  std::printf("last prompt position: argmax token %lld, logit %.6g\n", (long long)am,
              static_cast<double>(pre.logits[static_cast<std::size_t>((S - 1) * V + am)]));
  if (N) {
    am = argmax(dec.data() + (N - 1) * V);
    std::printf("last decode step: argmax token %lld, logit %.6g\n", (long long)am,
                static_cast<double>(dec[static_cast<std::size_t>((N - 1) * V + am)]));
  }
  if (a.has("dump")) {
    const std::string path = a.str("dump", "");
    std::vector<TensorSpec> specs = {{"logits", DType::F32, {S, V}},
                                     {"hidden_states", DType::F32, {L, S, H}},
                                     {"decode_logits", DType::F32, {N, V}}};
    write_safetensors(path, specs, [&](std::size_t i, std::vector<double>& v) {
      if (i == 1) {
        for (int64_t l = 0; l < L; ++l)
          for (int64_t k = 0; k < S * H; ++k) v[static_cast<std::size_t>(l * S * H + k)] = pre.layers[static_cast<std::size_t>(l)].output[static_cast<std::size_t>(k)];
        return;
      }
      const std::vector<float>& src = i == 0 ? pre.logits : dec;
      for (std::size_t k = 0; k < src.size(); ++k) v[k] = src[k];
    }, {{"backend", backend}, {"format", "minimax01-forward-v1"}});
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}
#endif

int cmd_forward(const std::vector<std::string>& argv) {
  Args a("forward", argv, {"model", "tokens", "decode-tokens", "backend", "dump"});
  a.required("model");
  a.required("tokens");
#if defined(MM_HAVE_CUDA_MODEL)
  const std::string backend = a.str("backend", "ref-f32");
  if (backend == "cuda" || backend == "cuda-sim") return run_forward_cuda(a, backend);
#endif
  return with_reference_backend(a.str("backend", "ref-f32"), [&](auto p) { return run_forward<decltype(p)>(a); });
}

}  // namespace mm::cli
